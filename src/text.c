/* Text as gt shows it: names and files come from the program and may hold
 * any bytes. Shown text is valid UTF-8 in which every invalid byte and
 * every control character is written as the four characters \xHH, so the
 * same name reads the same in a log line, JSON, an SMS and an email, and
 * no name can break a line or send a terminal escape. */
#include <stdlib.h>
#include <string.h>

#include "gt_internal.h"

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  unsigned char c = s[0];
  size_t len;
  uint32_t v, min;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0)
    len = 2, v = c & 0x1F, min = 0x80;
  else if ((c & 0xF0) == 0xE0)
    len = 3, v = c & 0x0F, min = 0x800;
  else if ((c & 0xF8) == 0xF0)
    len = 4, v = c & 0x07, min = 0x10000;
  else
    return 0;
  if (len > n) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    v = (v << 6) | (s[i] & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  return len;
}

bool gt__utf8_valid(const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  for (size_t i = 0, l; i < n; i += l)
    if (!(l = utf8_len(u + i, n - i))) return false;
  return true;
}

static bool is_control(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

char *gt__text_escape(const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  char *out = malloc(n * 4 + 1), *o = out;
  if (!out) return NULL;
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < n;) {
    size_t l = utf8_len(u + i, n - i);
    if (l == 1 && !is_control(u[i])) {
      *o++ = (char)u[i++];
    } else if (l > 1) {
      memcpy(o, u + i, l);
      o += l;
      i += l;
    } else {
      *o++ = '\\', *o++ = 'x', *o++ = hex[u[i] >> 4], *o++ = hex[u[i] & 15];
      i++;
    }
  }
  *o = 0;
  return out;
}
