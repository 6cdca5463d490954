/* Everything a backend may use, and all the rest of libgt knows of one.
 *
 * A backend is one file in src/backends/ defining one gt_backend_ops and
 * one line in GT_BACKENDS below. Its vtable carries its configuration
 * keys. Backends run only on their sink's thread (and in the gt tool),
 * never in the collector's context; they see messages, never batches,
 * rings or sites. */
#ifndef GT_DELIVERY_BACKEND_H
#define GT_DELIVERY_BACKEND_H

#include "config.h"
#include "message.h"
#include "text.h"
#include "util.h"

/* Every backend the design knows: (symbol, the gt.backend value). Those
 * not compiled in (CMake: GT_BACKENDS) fail gt_init with GT_EBACKEND. */
#define GT_BACKENDS(X)                                                         \
  X(log, "log")                                                                \
  X(sms_infobip, "sms")                                                        \
  X(sms_twilio, "sms")                                                         \
  X(email_smtp, "email")                                                       \
  X(email_infobip, "email")                                                    \
  X(webhook, "webhook")                                                        \
  X(alertmanager, "alertmanager")

typedef struct gt_send_result {
  bool retryable;      /* timeout, connection error, 5xx, 429 */
  bool auth_failed;    /* the server refused our credentials (HTTP 401/403,
                          SMTP 530/534/535): permanent, and a fault of the
                          configuration, not of the message */
  long retry_after_ms; /* from a Retry-After reply, else -1 */
  char detail[512];    /* server's verdict or error, scrubbed of every
                          secret of the backend (backends/http.c) */
} gt_send_result;

enum {
  GT_BACKEND_RATE_LIMITED = 1u << 0, /* messages reach a person: limit them */
};

typedef struct gt_backend_ops {
  const char *name; /* the gt.backend value */
  /* Several backends of one name are told apart by a key: sms.provider,
   * email.transport. NULL for a name with one backend. */
  const char *select_key, *select_value;
  unsigned flags;
  const gt_key_def *keys; /* its configuration; shared keys agree */
  size_t nkeys;
  /* Validates this backend's keys and prepares state. On error returns a
   * GT_E* having called gt__fail() naming the key. */
  int (*open)(const gt_config *cfg, void **state);
  /* 0 on delivery; GT_ESEND with res filled otherwise. */
  int (*send)(void *state, const gt_message *msg, gt_send_result *res);
  /* Optional: make what send() buffered durable. */
  void (*flush)(void *state);
  /* Optional: the run's end at gt_shutdown (exit.h's JSON), after the
   * last message. Best effort: not retried, not spooled. */
  void (*at_exit)(void *state, struct json_t *summary);
  void (*close)(void *state);
} gt_backend_ops;

#define GT_MAX_SINKS 8 /* backends in one gt.backend list */

#define GT_KEYS(array) array, sizeof array / sizeof array[0]

/* Makes every network transfer in progress, or started later, stop once
 * CLOCK_MONOTONIC (gt__now_ms) reaches mono_ms, within ~20 ms; the send
 * then fails as retryable. 0 removes the deadline. Any thread may call it
 * (gt_shutdown bounds delivery with it). */
GT_HIDDEN void gt__http_abort_at(int64_t mono_ms);

/* ---- the table (backend.c) ---------------------------------------------- */
/* The backend a name (and its select key) stands for under cfg; fails with
 * GT_EINVAL for an unknown name or value, GT_EBACKEND for one not built. */
GT_HIDDEN int gt__backend_find(const gt_config *cfg, const char *name,
                               const gt_backend_ops **out);
/* Checks gt.backend: known, built, no name twice. */
GT_HIDDEN int gt__backend_check_list(const gt_config *cfg);
/* Every backend built in. */
typedef void (*gt_backend_fn)(const gt_backend_ops *ops, void *ud);
GT_HIDDEN void gt__backend_each(gt_backend_fn fn, void *ud);

#endif
