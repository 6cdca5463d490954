/* Delivery's interface (delivery.c): one sink per configured backend,
 * each with its thread, queue, rate limiter, retries, spool and replay. */
#ifndef GT_DELIVERY_DELIVERY_H
#define GT_DELIVERY_DELIVERY_H

#include "batch.h"
#include "config.h"
#include "delivery/backend.h"

typedef struct gt_sink gt_sink;
/* Opens the backend and starts its thread. cfg is referenced. */
GT_HIDDEN int gt__sink_open(const gt_backend_ops *ops, gt_config *cfg,
                            bool spool_ok, gt_sink **out);
/* Queues a closed batch: a copy, or (take) the batch itself, which is
 * left empty. */
GT_HIDDEN void gt__sink_offer(gt_sink *s, gt_batch *b, bool take);
GT_HIDDEN void gt__sink_mark(gt_sink *s, uint64_t ticket);
/* 0 once the sink handled ticket (or exited), GT_ETIMEDOUT at deadline. */
GT_HIDDEN int gt__sink_wait(gt_sink *s, uint64_t ticket, int64_t deadline);
/* The run's end (exit.h): does the backend take it (at_exit)? Then
 * gt__sink_exit queues a copy of it after everything queued. */
GT_HIDDEN bool gt__sink_wants_exit(const gt_sink *s);
GT_HIDDEN void gt__sink_exit(gt_sink *s, const struct json_t *summary);
GT_HIDDEN void gt__sink_stop(gt_sink *s); /* no more items; finish them */
/* Waits for the thread until the deadline, else leaves it to finish
 * alone; drops the caller's reference. True if it finished. */
GT_HIDDEN bool gt__sink_close(gt_sink *s, int64_t deadline);
GT_HIDDEN void gt__sink_ref(gt_sink *s);
GT_HIDDEN void gt__sink_unref(gt_sink *s);
/* gt_shutdown's deadline for a sink (CLOCK_MONOTONIC ms): no attempt
 * starts after it; what is left is spooled. */
GT_HIDDEN void gt__sink_deadline(gt_sink *s, int64_t mono_ms);

#endif
