/* Text gt did not make itself — object names, file names, server replies,
 * spooled messages — made safe for where it goes: JSON and MIME bodies
 * need valid UTF-8, a line of a log or of the gt tool needs one line and
 * no terminal control. Whatever is refused is written as the four
 * characters \xhh, the same everywhere. */
#include "text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (n > 0 bytes left), 0 if p
 * starts an invalid one: the rules jansson applies (no overlong forms, no
 * surrogates, nothing past U+10FFFF). */
static size_t seq_len(const unsigned char *p, size_t n, uint32_t *cp) {
  unsigned char c = p[0];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the 2nd byte */
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0; /* overlong */
    if (c == 0xED) hi = 0x9F; /* surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90; /* overlong */
    if (c == 0xF4) hi = 0x8F; /* past U+10FFFF */
  } else {
    return 0;
  }
  if (len > n || p[1] < lo || p[1] > hi) return 0;
  uint32_t v = c & (0xFF >> (len + 1));
  for (size_t i = 1; i < len; i++) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    v = (v << 6) | (p[i] & 0x3F);
  }
  *cp = v;
  return len;
}

static char *put_hex(char *d, unsigned char c) {
  static const char hex[] = "0123456789abcdef";
  d[0] = '\\';
  d[1] = 'x';
  d[2] = hex[c >> 4];
  d[3] = hex[c & 15];
  return d + 4;
}

bool gt__text_is_utf8(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  size_t n = strlen(s);
  uint32_t cp;
  for (size_t i = 0, l; i < n; i += l)
    if (!(l = seq_len(p + i, n - i, &cp))) return false;
  return true;
}

char *gt__text_utf8n(const char *s, size_t n, size_t *out_len) {
  char *out = malloc(4 * n + 1), *d = out;
  if (!out) return NULL;
  const unsigned char *p = (const unsigned char *)s;
  uint32_t cp;
  for (size_t i = 0; i < n;) {
    size_t l = seq_len(p + i, n - i, &cp);
    if (!l) {
      d = put_hex(d, p[i++]);
    } else {
      memcpy(d, p + i, l);
      d += l;
      i += l;
    }
  }
  *d = '\0';
  if (out_len) *out_len = (size_t)(d - out);
  return out;
}

char *gt__text_utf8(const char *s) {
  if (!s) s = "";
  return gt__text_is_utf8(s) ? strdup(s) : gt__text_utf8n(s, strlen(s), NULL);
}

/* Code points a line must not carry raw: they end lines, move the cursor,
 * start escape sequences or reorder what a reader sees. */
static bool unsafe(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 ||
         cp == 0x2029 || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

/* Bytes of printable ASCII from p: copied as they are, in one go (most
 * text is only that). */
static size_t plain_run(const unsigned char *p, size_t n) {
  size_t i = 0;
  while (i < n && p[i] >= 0x20 && p[i] < 0x7F)
    i++;
  return i;
}

size_t gt__text_line_putn(char *dst, const char *s, size_t n) {
  char *d = dst;
  const unsigned char *p = (const unsigned char *)(s ? s : "");
  uint32_t cp;
  for (size_t i = 0; i < n;) {
    size_t run = plain_run(p + i, n - i);
    if (run) {
      memcpy(d, p + i, run);
      d += run;
      i += run;
      continue;
    }
    size_t l = seq_len(p + i, n - i, &cp);
    if (!l) {
      d = put_hex(d, p[i++]);
    } else if (unsafe(cp)) {
      for (size_t k = 0; k < l; k++)
        d = put_hex(d, p[i + k]);
      i += l;
    } else {
      memcpy(d, p + i, l);
      d += l;
      i += l;
    }
  }
  return (size_t)(d - dst);
}

size_t gt__text_line_put(char *dst, const char *s) {
  return gt__text_line_putn(dst, s ? s : "", s ? strlen(s) : 0);
}
