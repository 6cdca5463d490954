/* The worker's interface (worker.c): the thread that drains the ring,
 * counts, samples and closes batches for the sinks. */
#ifndef GT_WORKER_WORKER_H
#define GT_WORKER_WORKER_H

#include "config.h"
#include "delivery/delivery.h"

GT_HIDDEN int gt__worker_start(gt_config *cfg, gt_sink **sinks, int nsinks);
/* Counted, closed and delivered (or held/spooled) by the deadline? */
GT_HIDDEN int gt__worker_sync(int64_t deadline);
GT_HIDDEN void gt__worker_stop(void);
/* Names the stack sites holding live objects that nothing counted yet
 * named; only once gt__worker_stop returned (the symbol cache is then the
 * caller's). */
GT_HIDDEN void gt__worker_name_live(void);

GT_HIDDEN void gt__worker_fork(enum gt_fork_phase phase);

#endif
