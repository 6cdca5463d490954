/* The backend vtable. A backend is one file in src/backend/ defining one
 * const gt_backend_ops and one line in backend.c's table. Backends run only
 * on the pipeline's worker thread (and in the gt tool), never in GC context. */
#ifndef GT_BACKEND_H
#define GT_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gt_config;
struct gt_batch;

struct json_t;

/* A message is its text plus the batch behind it: a fresh message carries
 * the batch, one replayed from the spool its JSON. Backends that post
 * structured data get the JSON from gt__message_json, so nobody builds it
 * when no backend needs it. Everything is borrowed for send()'s duration. */
typedef struct gt_message {
  const char *text;             /* rendered with the templates */
  const struct gt_batch *batch; /* or NULL, with json set */
  struct json_t *json;          /* or NULL, with batch set */
} gt_message;

/* The batch as JSON (gt__batch_json's shape). *owned gets a reference the
 * caller must json_decref (NULL when the message already held the JSON). */
struct json_t *gt__message_json(const gt_message *m, struct json_t **owned);

typedef struct gt_send_result {
  bool retryable;      /* timeout, connection error, 5xx, 429 */
  bool auth_failed;    /* the server refused our credentials (HTTP 401/403,
                          SMTP 530/534/535): permanent, and a fault of the
                          configuration, not of the message */
  long retry_after_ms; /* from a Retry-After reply, else -1 */
  char detail[512];    /* server's verdict or error, scrubbed of every
                          secret of the backend (http.c) */
} gt_send_result;

enum {
  GT_BACKEND_RATE_LIMITED = 1u << 0, /* messages reach a person: limit them */
};

typedef struct gt_backend_ops {
  const char *name;
  unsigned flags;
  /* Validates this backend's keys and prepares state. On error returns
   * -GT_EINVAL/-GT_EBACKEND having called gt__fail() naming the key. */
  int (*open)(const struct gt_config *cfg, void **state);
  /* 0 on delivery; -GT_ESEND with res filled otherwise. */
  int (*send)(void *state, const gt_message *msg, gt_send_result *res);
  /* Optional: make what send() buffered durable; called once per pass of
   * the worker that sent something, and before a gt_collect returns. */
  void (*flush)(void *state);
  void (*close)(void *state);
} gt_backend_ops;

/* Makes every network transfer in progress, or started later, stop once
 * CLOCK_MONOTONIC (gt__now_ms) reaches mono_ms, within ~20 ms; the send
 * then fails as retryable. 0 removes the deadline. Any thread may call it
 * (gt_shutdown bounds delivery with it while the worker sends). */
GT_HIDDEN void gt__http_abort_at(int64_t mono_ms);

/* NULL if the name is unknown or the backend is not built. */
const gt_backend_ops *gt__backend_find(const char *name);
/* True if the name is a backend the design knows, built or not. */
bool gt__backend_known(const char *name);

#endif
