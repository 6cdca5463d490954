/* Address and header checks for both email transports, and the header
 * encoding (RFC 2047) of names and subjects that are not ASCII. */
#include <ctype.h>
#include <mbedtls/base64.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/email.h"
#include "text.h"

static int has_control(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f) return 1;
  return 0;
}

/* A deliberately plain check: local@domain with no characters that would
 * need quoting, and a dotted domain name or a bracketed address. */
static int valid_addr(const char *a, size_t n) {
  const char *at = memchr(a, '@', n);
  if (!at || at == a || n > 254) return 0;
  size_t local = (size_t)(at - a), dn = n - local - 1;
  if (local > 64 || dn == 0) return 0;
  for (size_t i = 0; i < local; i++) {
    unsigned char c = (unsigned char)a[i];
    if (c <= 0x20 || c >= 0x7f || strchr("<>()[]\\,;:\"@", c)) return 0;
  }
  const char *d = at + 1;
  if (d[0] == '[') return d[dn - 1] == ']' && dn > 2;
  if (d[0] == '.' || d[dn - 1] == '.' || d[0] == '-') return 0;
  for (size_t i = 0; i < dn; i++) {
    unsigned char c = (unsigned char)d[i];
    if (!isalnum(c) && c != '-' && c != '.') return 0;
    if (c == '.' && d[i + 1] == '.') return 0;
  }
  return 1;
}

/* Accepts "addr" or "Display Name <addr>"; returns the bare address and,
 * when name is not NULL, the display name (NULL if none). NULL on a
 * malformed mailbox or when out of memory (*name is then NULL too). */
static char *parse_mailbox(const char *s, size_t n, char **name) {
  if (name) *name = NULL;
  while (n && *s == ' ')
    s++, n--;
  while (n && s[n - 1] == ' ')
    n--;
  const char *lt = memchr(s, '<', n);
  if (!lt) return valid_addr(s, n) ? strndup(s, n) : NULL;
  if (n < 3 || s[n - 1] != '>') return NULL;
  const char *a = lt + 1;
  size_t an = (size_t)(s + n - 1 - a);
  for (const char *q = s; q < lt; q++)
    if (*q == '"' || *q == '>' || *q == '\\') return NULL;
  if (!valid_addr(a, an)) return NULL;
  size_t nn = (size_t)(lt - s);
  while (nn && s[nn - 1] == ' ')
    nn--;
  if (name && nn && !(*name = strndup(s, nn))) return NULL;
  char *addr = strndup(a, an);
  if (!addr && name) {
    free(*name);
    *name = NULL;
  }
  return addr;
}

/* Bytes of UTF-8 text per encoded-word: 39 bytes are 52 base64 characters,
 * 64 with "=?UTF-8?B?" and "?=", so that even "Subject: " and a word stay
 * within the 76 characters RFC 2047 allows a line with encoded-words. */
#define WORD_BYTES 39
#define WORD_LINE 76

char *gt__email_encode_words(const char *text) {
  size_t n = strlen(text);
  bool ascii = true;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)text[i] >= 0x80) ascii = false;
  if (ascii) return strdup(text);
  size_t words = n / 30 + 1; /* a word holds at least 36 bytes */
  size_t cap = (n / 3 + words) * 4 + words * 16 + 1, used = 0;
  char *out = malloc(cap);
  if (!out) return NULL;
  for (size_t i = 0; i < n;) {
    size_t chunk = n - i > WORD_BYTES ? WORD_BYTES : n - i;
    /* Never split a character, but step back at most 3 bytes (the most a
     * UTF-8 character has after its lead byte): invalid input with a long
     * run of continuation bytes must still make progress. */
    for (int back = 0; back < 3 && i + chunk < n &&
                       ((unsigned char)text[i + chunk] & 0xC0) == 0x80;
         back++)
      chunk--;
    size_t olen = 0;
    /* Folded: adjacent encoded-words are joined again by the reader. */
    used += (size_t)snprintf(out + used, cap - used, "%s=?UTF-8?B?",
                             used ? "\r\n " : "");
    if (mbedtls_base64_encode((unsigned char *)out + used, cap - used, &olen,
                              (const unsigned char *)text + i, chunk) != 0) {
      free(out);
      return NULL;
    }
    used += olen;
    used += (size_t)snprintf(out + used, cap - used, "?=");
    i += chunk;
  }
  return out;
}

/* RFC 5322 "specials": a display name holding one must be quoted. */
static bool needs_quotes(const char *name) {
  return strpbrk(name, "()<>[]:;@,.") != NULL;
}

char *gt__email_from_header(const gt_email_common *c) {
  if (!c->from_name) return strdup(c->from_addr);
  char *name = gt__email_encode_words(c->from_name);
  if (!name) return NULL;
  bool ascii = strcmp(name, c->from_name) == 0;
  bool quote = ascii && needs_quotes(name);
  /* The address goes on a line of its own when the last encoded-word and
   * it would not fit in one ("From: " counts on the first line). */
  const char *last = strrchr(name, '\n');
  size_t col = last ? strlen(last + 1) : strlen("From: ") + strlen(name);
  bool fold = !ascii && col + strlen(c->from_addr) + 3 > WORD_LINE;
  size_t n = strlen(name) + strlen(c->from_addr) + 10;
  char *out = malloc(n);
  if (out)
    snprintf(out, n, "%s%s%s%s<%s>", quote ? "\"" : "", name, quote ? "\"" : "",
             fold ? "\r\n " : " ", c->from_addr);
  free(name);
  return out;
}

int gt__email_common_open(const gt_config *cfg, gt_email_common *c) {
  memset(c, 0, sizeof *c);
  const char *from = gt__config_get(cfg, "email.from");
  const char *to = gt__config_get(cfg, "email.to");
  const char *subject = gt__config_get(cfg, "email.subject");
  if (!subject) subject = GT_EMAIL_DEFAULT_SUBJECT;
  if (!from) return gt__fail(GT_EINVAL, "email.from: required");
  if (!to) return gt__fail(GT_EINVAL, "email.to: required");
  if (has_control(from))
    return gt__fail(GT_EINVAL, "email.from: must not contain CR, LF or "
                               "other control characters");
  if (has_control(to))
    return gt__fail(GT_EINVAL, "email.to: must not contain CR, LF or other "
                               "control characters");
  if (has_control(subject))
    return gt__fail(GT_EINVAL, "email.subject: must not contain CR, LF or "
                               "other control characters");
  if (!gt__text_is_utf8(from))
    return gt__fail(GT_EINVAL, "email.from: must be UTF-8");
  if (!gt__text_is_utf8(subject))
    return gt__fail(GT_EINVAL, "email.subject: must be UTF-8");
  if (strlen(subject) > 900)
    return gt__fail(GT_EINVAL, "email.subject: longer than 900 bytes");
  if (!(c->from_addr = parse_mailbox(from, strlen(from), &c->from_name)))
    return gt__fail(GT_EINVAL, "email.from: not an email address (use "
                               "user@example.org or Name <user@example.org>)");
  size_t cap = 1;
  for (const char *p = to; *p; p++)
    cap += *p == ',';
  c->to = calloc(cap, sizeof *c->to);
  c->to_line = calloc(1, strlen(to) + 2 * cap + 1);
  if (!c->to || !c->to_line || !(c->from = strdup(from)) ||
      !(c->subject = strdup(subject)))
    return gt__fail(GT_ENOMEM, "email: out of memory");
  for (const char *p = to;;) {
    const char *e = strchr(p, ',');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    char *a = parse_mailbox(p, n, NULL);
    if (!a || memchr(p, '<', n))
      return free(a), gt__fail(GT_EINVAL,
                               "email.to: address %zu is not a "
                               "plain email address",
                               c->nto + 1);
    if (c->nto) strcat(c->to_line, ", ");
    strcat(c->to_line, a);
    c->to[c->nto++] = a;
    if (!e) break;
    p = e + 1;
  }
  return 0;
}

void gt__email_common_free(gt_email_common *c) {
  free(c->from);
  free(c->from_name);
  free(c->from_addr);
  for (size_t i = 0; i < c->nto; i++)
    free(c->to[i]);
  free(c->to);
  free(c->to_line);
  free(c->subject);
  memset(c, 0, sizeof *c);
}
