/* A message: what a sink hands a backend (backend.h), built from a batch
 * (batch.c) or read back from the spool. */
#ifndef GT_MESSAGE_H
#define GT_MESSAGE_H

#include "util.h"

struct json_t;
struct gt_batch;

/* A message is its text plus the batch behind it: a fresh message carries
 * the batch, one replayed from the spool its JSON. Backends that post
 * structured data get the JSON from gt__message_json, so nobody builds it
 * when no backend needs it. Everything is borrowed for send()'s duration. */
typedef struct gt_message {
  const char *text;             /* rendered with the templates */
  const struct gt_batch *batch; /* or NULL, with json set */
  struct json_t *json;          /* or NULL, with batch set */
} gt_message;

/* The batch as JSON (docs/backends.md). *owned gets a reference the caller
 * must json_decref (NULL when the message already held the JSON). */
GT_HIDDEN struct json_t *gt__message_json(const gt_message *m,
                                          struct json_t **owned);

#endif
