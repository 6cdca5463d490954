/* Making untrusted text safe for where backends put it: JSON and MIME
 * bodies need valid UTF-8, a text log line needs one line and no terminal
 * control sequences. Both escape what they refuse as \xhh (lower-case hex),
 * the form the library uses for object names. */
#ifndef GT_TEXT_H
#define GT_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* True if s is valid UTF-8 as JSON parsers define it (no overlong forms,
 * no surrogates, nothing past U+10FFFF). */
GT_HIDDEN bool gt__text_is_utf8(const char *s);

/* A malloc'd copy of s in which every byte that does not belong to a valid
 * UTF-8 sequence is replaced by the 4 characters \xhh. NULL only when out
 * of memory (s NULL is taken as ""). */
GT_HIDDEN char *gt__text_utf8(const char *s);
/* The same for n bytes (NULs included); *out_len (if not NULL) gets the
 * result's length. */
GT_HIDDEN char *gt__text_utf8n(const char *s, size_t n, size_t *out_len);

/* The most bytes gt__text_line_put writes for n input bytes. */
#define GT_TEXT_LINE_MAX(n) (4 * (n))

/* Writes s as one printable line into dst (room for GT_TEXT_LINE_MAX of
 * strlen(s), no NUL added): C0 controls (tab, CR and LF too), DEL, C1
 * controls, the Unicode line and paragraph separators, bidirectional
 * overrides and invalid UTF-8 bytes become \xhh per byte, so a name cannot
 * start a forged line or drive a terminal. Returns the bytes written. */
GT_HIDDEN size_t gt__text_line_put(char *dst, const char *s);
GT_HIDDEN size_t gt__text_line_putn(char *dst, const char *s, size_t n);

#endif
