/* SMS rules every provider shares: segment counting (GSM 03.38 / UCS-2)
 * and fitting, what a sender may be, and the destinations in sms.to. */
#include "backends/sms_text.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* GSM 03.38 basic table, as Unicode, minus ASCII letters and digits that
 * are handled by range. */
static const uint16_t gsm_basic[] = {
    '@',   0xA3,  '$',   0xA5,  0xE8,  0xE9,  0xF9, 0xEC,  0xF2,  0xC7,  '\n',
    0xD8,  0xF8,  '\r',  0xC5,  0xE5,  0x394, '_',  0x3A6, 0x393, 0x39B, 0x3A9,
    0x3A0, 0x3A8, 0x3A3, 0x398, 0x39E, 0xC6,  0xE6, 0xDF,  0xC9,  ' ',   '!',
    '"',   '#',   0xA4,  '%',   '&',   '\'',  '(',  ')',   '*',   '+',   ',',
    '-',   '.',   '/',   ':',   ';',   '<',   '=',  '>',   '?',   0xA1,  0xC4,
    0xD6,  0xD1,  0xDC,  0xA7,  0xBF,  0xE4,  0xF6, 0xF1,  0xFC,  0xE0};
/* Extension table: each costs an escape septet too. */
static const uint16_t gsm_ext[] = {0x0C, '^', '{', '}', '\\',
                                   '[',  '~', ']', '|', 0x20AC};

/* The ASCII part of both tables, for a lookup instead of a scan: texts are
 * mostly ASCII and the fitter counts many candidates. */
static const unsigned char gsm_ascii[128] = {
    ['@'] = 1,  ['$'] = 1, ['\n'] = 1, ['\r'] = 1, ['_'] = 1, [' '] = 1,
    ['!'] = 1,  ['"'] = 1, ['#'] = 1,  ['%'] = 1,  ['&'] = 1, ['\''] = 1,
    ['('] = 1,  [')'] = 1, ['*'] = 1,  ['+'] = 1,  [','] = 1, ['-'] = 1,
    ['.'] = 1,  ['/'] = 1, [':'] = 1,  [';'] = 1,  ['<'] = 1, ['='] = 1,
    ['>'] = 1,  ['?'] = 1, [0x0C] = 2, ['^'] = 2,  ['{'] = 2, ['}'] = 2,
    ['\\'] = 2, ['['] = 2, ['~'] = 2,  [']'] = 2,  ['|'] = 2};

/* Septets for code point cp in GSM-7, or 0 if it has none. */
static int gsm_cost(uint32_t cp) {
  if ((cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z') ||
      (cp >= '0' && cp <= '9'))
    return 1;
  if (cp < 128) return gsm_ascii[cp];
  for (size_t i = 0; i < sizeof gsm_basic / sizeof *gsm_basic; i++)
    if (gsm_basic[i] == cp) return 1;
  for (size_t i = 0; i < sizeof gsm_ext / sizeof *gsm_ext; i++)
    if (gsm_ext[i] == cp) return 2;
  return 0;
}

/* Decodes one UTF-8 character at s (n > 0 bytes left); returns its length
 * and stores the code point, or 0xFFFD for an invalid sequence (length 1). */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp) {
  unsigned char c = s[0];
  size_t len;
  uint32_t v, min;
  if (c < 0x80) {
    *cp = c;
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    len = 2, v = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, v = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, v = c & 0x07, min = 0x10000;
  } else {
    *cp = 0xFFFD;
    return 1;
  }
  if (len > n) goto bad;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) goto bad;
    v = (v << 6) | (s[i] & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) goto bad;
  *cp = v;
  return len;
bad:
  *cp = 0xFFFD;
  return 1;
}

gt_sms_count gt__sms_count(const char *text, size_t len) {
  gt_sms_count r = {false, 0, 0};
  const unsigned char *s = (const unsigned char *)text;
  uint32_t cp;
  for (size_t i = 0; i < len && !r.ucs2;) {
    i += utf8_next(s + i, len - i, &cp);
    if (!gsm_cost(cp)) r.ucs2 = true;
  }
  size_t single = r.ucs2 ? 70 : 160, part = r.ucs2 ? 67 : 153;
  /* Pack greedily: an escape pair or a surrogate pair is never split across
   * two segments, so a part may hold one unit less than `part`. */
  size_t used = 0;
  for (size_t i = 0; i < len;) {
    i += utf8_next(s + i, len - i, &cp);
    size_t cost = r.ucs2 ? (cp > 0xFFFF ? 2 : 1) : (size_t)gsm_cost(cp);
    r.units += cost;
    if (r.segments == 0 || used + cost > part) {
      r.segments++;
      used = 0;
    }
    used += cost;
  }
  if (r.units <= single) r.segments = r.units ? 1 : 0;
  return r;
}

static bool fits(const char *s, size_t len, size_t max_segments) {
  return gt__sms_count(s, len).segments <= max_segments;
}

/* Writes prefix (n bytes) + suffix into a fresh buffer. */
static char *join(const char *text, size_t n, const char *suffix) {
  size_t sl = strlen(suffix);
  char *out = malloc(n + sl + 1);
  if (out) {
    memcpy(out, text, n);
    memcpy(out + n, suffix, sl + 1);
  }
  return out;
}

/* No text longer than this fits in `segments`: a segment holds at most 160
 * units, and a unit takes at most 2 bytes in GSM-7 (an accented letter is
 * 2 bytes, 1 septet) and 3 in UCS-2. Lets the fitter skip candidates that
 * cannot fit without counting them, which kept it quadratic (found by
 * fuzz_sms: 0.1 s for a 2 KB list under the sanitizers). */
static size_t max_fit_bytes(size_t segments) {
  return segments > SIZE_MAX / 320 ? SIZE_MAX : segments * 320;
}

char *gt__sms_fit(const char *text, size_t max_segments) {
  size_t len = strlen(text);
  if (max_segments == 0) max_segments = 1;
  if (fits(text, len, max_segments)) return strdup(text);
  /* Item boundaries: every ", ", found once. Try the longest prefix first. */
  size_t items = 1;
  const char *last = text;
  for (const char *p = text; (p = strstr(p, ", ")); p += 2, last = p)
    items++;
  size_t nb = items - 1, k = 0;
  size_t *at = malloc((nb ? nb : 1) * sizeof *at);
  if (!at) return NULL;
  for (const char *p = text; (p = strstr(p, ", ")); p += 2)
    at[k++] = (size_t)(p - text);
  /* The renderer may already end with ", +K more": that item stands for K. */
  unsigned long already = 0;
  size_t extra = 0;
  int used = 0;
  if (sscanf(last, "+%lu more%n", &already, &used) == 1 && used > 0 &&
      last[used] == '\0' && already > 0)
    extra = already - 1;
  size_t limit = max_fit_bytes(max_segments);
  for (size_t j = nb; j-- > 0;) {
    size_t kept = j + 1; /* items before boundary j */
    char suffix[40];
    snprintf(suffix, sizeof suffix, " +%zu more", items - kept + extra);
    if (at[j] > limit || at[j] + strlen(suffix) > limit) continue;
    char *cand = join(text, at[j], suffix);
    if (!cand) {
      free(at);
      return NULL;
    }
    if (fits(cand, strlen(cand), max_segments)) {
      free(at);
      return cand;
    }
    free(cand);
  }
  free(at);
  /* No item boundary fits: cut at a character boundary. Binary search on
   * byte length, then step back to the start of a UTF-8 character. */
  size_t lo = 0, hi = len;
  while (lo < hi) {
    size_t mid = (lo + hi + 1) / 2;
    while (mid > 0 && ((unsigned char)text[mid] & 0xC0) == 0x80)
      mid--;
    if (mid <= lo) {
      hi = lo;
      break;
    }
    bool ok = false;
    if (mid + 3 <= limit) {
      char *cand = join(text, mid, "...");
      if (!cand) return NULL;
      ok = fits(cand, strlen(cand), max_segments);
      free(cand);
    }
    if (ok)
      lo = mid;
    else
      hi = mid - 1;
  }
  while (lo > 0 && ((unsigned char)text[lo] & 0xC0) == 0x80)
    lo--;
  return join(text, lo, "...");
}

/* ---- the sender ---------------------------------------------------------- */

/* Sender IDs travel in an 11-octet (alphanumeric) or 15-digit (number)
 * field of the SMS header. Beyond letters, digits and space, operators
 * filter or phones mangle most characters; '.', '-' and '_' are widely
 * taken (docs/configuration.md, sms.from). Infobip's limits: 3 to 11
 * characters alphanumeric; a number is digits. */
#define FROM_ALNUM_MIN 3
#define FROM_ALNUM_MAX 11
#define FROM_DIGITS_MIN 3
#define FROM_DIGITS_MAX 15
#define FROM_RULE                                                              \
  "an alphanumeric sender is 3 to 11 ASCII letters, digits, spaces, '.', "     \
  "'-' or '_', with at least one letter; a numeric one is 3 to 15 digits "     \
  "with an optional leading '+'"

static bool from_alnum_char(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == ' ' || c == '.' || c == '-' || c == '_';
}

/* A sender that looks like a number (no letter, nothing but what people
 * write in phone numbers) is checked as one. */
static bool from_looks_numeric(const char *from) {
  for (const char *p = from; *p; p++)
    if (!strchr("0123456789+ -().", *p)) return false;
  return true;
}

static int from_numeric(const char *from) {
  const char *d = from + (from[0] == '+');
  size_t n = strlen(d);
  if (n == 0 || strspn(d, "0123456789") != n)
    return gt__fail(GT_EINVAL,
                    "sms.from: '%s' is not a number networks take (digits "
                    "only, no spaces or separators); " FROM_RULE,
                    from);
  if (n < FROM_DIGITS_MIN || n > FROM_DIGITS_MAX)
    return gt__fail(GT_EINVAL, "sms.from: '%s' has %zu digits; " FROM_RULE,
                    from, n);
  return 0;
}

int gt__sms_check_from(const char *from) {
  if (!from || !*from)
    return gt__fail(GT_EINVAL, "sms.from: empty; " FROM_RULE);
  if (from_looks_numeric(from)) return from_numeric(from);
  for (const unsigned char *p = (const unsigned char *)from; *p; p++)
    if (!from_alnum_char(*p)) /* not echoed: it may be any byte */
      return gt__fail(GT_EINVAL,
                      "sms.from: character %zu is one networks refuse or "
                      "phones mangle; " FROM_RULE,
                      (size_t)(p - (const unsigned char *)from) + 1);
  size_t n = strlen(from), letters = 0;
  for (const char *p = from; *p; p++)
    letters += (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z');
  if (!letters)
    return gt__fail(GT_EINVAL, "sms.from: '%s' has no letter; " FROM_RULE,
                    from);
  if (n < FROM_ALNUM_MIN || n > FROM_ALNUM_MAX)
    return gt__fail(GT_EINVAL, "sms.from: '%s' is %zu characters; " FROM_RULE,
                    from, n);
  if (from[0] == ' ' || from[n - 1] == ' ')
    return gt__fail(GT_EINVAL,
                    "sms.from: '%s' starts or ends with a space, which "
                    "phones drop; " FROM_RULE,
                    from);
  return 0;
}

/* ---- destinations -------------------------------------------------------- */

/* One number of the list: -1 if it is none, -2 when out of memory. */
static int parse_number(const char *in, size_t n, const char *prefix,
                        char **out) {
  char digits[32];
  size_t d = 0;
  for (size_t i = 0; i < n; i++) {
    char c = in[i];
    if (isdigit((unsigned char)c)) {
      if (d + 1 >= sizeof digits) return -1;
      digits[d++] = c;
    } else if (c == '+' && d == 0) {
      for (size_t j = 0; j < i; j++)
        if (in[j] != ' ') return -1;
    } else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')') {
      return -1;
    }
  }
  digits[d] = '\0';
  if (d < 8 || d > 15 || digits[0] == '0') return -1;
  size_t len = strlen(prefix) + d + 1;
  if (!(*out = malloc(len))) return -2;
  snprintf(*out, len, "%s%s", prefix, digits);
  return 0;
}

int gt__sms_parse_to(const char *list, const char *prefix, const char *example,
                     char ***to, size_t *n) {
  *to = NULL, *n = 0;
  if (!list)
    return gt__fail(GT_EINVAL, "sms.to: required (comma-separated phone "
                               "numbers in international format)");
  size_t cap = 1;
  for (const char *p = list; *p; p++)
    cap += *p == ',';
  if (!(*to = calloc(cap, sizeof **to)))
    return gt__fail(GT_ENOMEM, "sms.to: out of memory");
  for (const char *p = list;;) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    int rc = parse_number(p, len, prefix, &(*to)[*n]);
    if (rc == -2) return gt__fail(GT_ENOMEM, "sms.to: out of memory");
    if (rc < 0)
      return gt__fail(GT_EINVAL,
                      "sms.to: number %zu is not a phone number in "
                      "international format (8 to 15 digits with country "
                      "code, e.g. %s)",
                      *n + 1, example);
    (*n)++;
    if (!e) return 0;
    p = e + 1;
  }
}
