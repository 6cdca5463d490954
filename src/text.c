/* UTF-8 repair and one-line escaping for text that backends did not make
 * themselves (object names inside rendered messages, server replies). */
#include "text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p, 0 if p starts an invalid one.
 * Stops at a NUL (it is no continuation byte), so never reads past it. */
static size_t seq_len(const unsigned char *p, uint32_t *cp) {
  unsigned char c = p[0];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the 2nd byte */
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0; /* overlong */
    if (c == 0xED) hi = 0x9F; /* surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90; /* overlong */
    if (c == 0xF4) hi = 0x8F; /* past U+10FFFF */
  } else {
    return 0;
  }
  if (p[1] < lo || p[1] > hi) return 0;
  uint32_t v = c & (0xFF >> (n + 1));
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    v = (v << 6) | (p[i] & 0x3F);
  }
  *cp = v;
  return n;
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
  uint32_t cp;
  while (*p) {
    size_t n = seq_len(p, &cp);
    if (!n) return false;
    p += n;
  }
  return true;
}

char *gt__text_utf8(const char *s) {
  if (!s) s = "";
  if (gt__text_is_utf8(s)) return strdup(s);
  size_t len = strlen(s);
  char *out = malloc(4 * len + 1), *d = out;
  if (!out) return NULL;
  const unsigned char *p = (const unsigned char *)s;
  uint32_t cp;
  while (*p) {
    size_t n = seq_len(p, &cp);
    if (!n) {
      d = put_hex(d, *p++);
    } else {
      memcpy(d, p, n);
      d += n;
      p += n;
    }
  }
  *d = '\0';
  return out;
}

/* Code points a line must not carry raw: they end lines, move the cursor,
 * start escape sequences or reorder what a reader sees. */
static bool unsafe(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 ||
         cp == 0x2029 || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

size_t gt__text_line_put(char *dst, const char *s) {
  char *d = dst;
  const unsigned char *p = (const unsigned char *)(s ? s : "");
  uint32_t cp;
  while (*p) {
    size_t n = seq_len(p, &cp);
    if (!n) {
      d = put_hex(d, *p++);
    } else if (unsafe(cp)) {
      for (size_t i = 0; i < n; i++)
        d = put_hex(d, p[i]);
      p += n;
    } else {
      memcpy(d, p, n);
      d += n;
      p += n;
    }
  }
  return (size_t)(d - dst);
}
