/* Shared by the two "email" transports (email_smtp.c, email_infobip.c). */
#ifndef GT_BACKEND_EMAIL_H
#define GT_BACKEND_EMAIL_H

#include <stddef.h>

#include "delivery/backend.h"

#define GT_EMAIL_DEFAULT_SUBJECT "garbage-texts: objects collected"

typedef struct gt_email_common {
  char *from;      /* as configured, may be "Name <addr>" */
  char *from_name; /* the display name (UTF-8), NULL when none */
  char *from_addr; /* the bare address, for MAIL FROM */
  char **to;       /* bare addresses */
  size_t nto;
  char *to_line; /* "a@x, b@y" for the To: header */
  char *subject;
} gt_email_common;

/* Reads and validates email.from, email.to and email.subject: addresses
 * must be well-formed, names and subject UTF-8, and no value may carry CR,
 * LF or another control character (they would let a value inject
 * headers). */
GT_HIDDEN int gt__email_common_open(const gt_config *cfg, gt_email_common *c);
GT_HIDDEN void gt__email_common_free(gt_email_common *c);

/* A header value for text that may not be ASCII: ASCII text is copied,
 * anything else becomes RFC 2047 encoded-words (UTF-8, "B" encoding, each
 * holding whole characters), folded onto continuation lines so that no
 * header line carries raw 8-bit bytes or grows past RFC 5322's limit.
 * NULL when out of memory. */
GT_HIDDEN char *gt__email_encode_words(const char *text);
/* The From header value: "addr", "Name <addr>", "\"N. Name\" <addr>" or
 * "=?UTF-8?B?...?= <addr>". NULL when out of memory. */
GT_HIDDEN char *gt__email_from_header(const gt_email_common *c);

/* The keys both transports read; email.transport picks one of them. */
#define GT_EMAIL_KEYS(transport)                                               \
  {"email.transport", GT_KEY_ENUM, "smtp", "smtp|infobip", 0, 0},              \
      {"email.from", GT_KEY_STR, NULL, NULL, 0, 0},                            \
      {"email.to", GT_KEY_STR, NULL, NULL, 0, 0},                              \
      {"email.subject", GT_KEY_STR, GT_EMAIL_DEFAULT_SUBJECT, NULL, 0, 0}, {   \
    "email.ca_file", GT_KEY_STR, NULL, NULL, 0, 0                              \
  }

#endif
