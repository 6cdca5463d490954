/* Address and header checks for both email transports. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/email.h"

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

/* Accepts "addr" or "Display Name <addr>"; returns the bare address. */
static char *parse_mailbox(const char *s, size_t n) {
  while (n && *s == ' ')
    s++, n--;
  while (n && s[n - 1] == ' ')
    n--;
  const char *lt = memchr(s, '<', n);
  if (lt) {
    if (n < 3 || s[n - 1] != '>') return NULL;
    const char *a = lt + 1;
    size_t an = (size_t)(s + n - 1 - a);
    for (const char *q = s; q < lt; q++)
      if (*q == '"' || *q == '>' || *q == '\\') return NULL;
    return valid_addr(a, an) ? strndup(a, an) : NULL;
  }
  return valid_addr(s, n) ? strndup(s, n) : NULL;
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
  if (strlen(subject) > 900)
    return gt__fail(GT_EINVAL, "email.subject: longer than 900 bytes");
  if (!(c->from_addr = parse_mailbox(from, strlen(from))))
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
    char *a = parse_mailbox(p, n);
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
  free(c->from_addr);
  for (size_t i = 0; i < c->nto; i++)
    free(c->to[i]);
  free(c->to);
  free(c->to_line);
  free(c->subject);
  memset(c, 0, sizeof *c);
}
