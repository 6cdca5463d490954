/* Shared by the two "email" transports (email_smtp.c, email_infobip.c). */
#ifndef GT_BACKEND_EMAIL_H
#define GT_BACKEND_EMAIL_H

#include <stddef.h>

#include "gt_internal.h"

#define GT_EMAIL_DEFAULT_SUBJECT "garbage-texts: objects collected"

typedef struct gt_email_common {
  char *from;      /* as configured, may be "Name <addr>" */
  char *from_addr; /* the bare address, for MAIL FROM */
  char **to;       /* bare addresses */
  size_t nto;
  char *to_line; /* "a@x, b@y" for the To: header */
  char *subject;
} gt_email_common;

/* Reads and validates email.from, email.to and email.subject: addresses
 * must be well-formed, and no value may carry CR, LF or another control
 * character (they would let a value inject headers). */
GT_HIDDEN int gt__email_common_open(const struct gt_config *cfg,
                                    gt_email_common *c);
GT_HIDDEN void gt__email_common_free(gt_email_common *c);

/* The other transport, chosen by email.transport = infobip. */
extern GT_HIDDEN const gt_backend_ops gt__email_infobip_ops;

#endif
