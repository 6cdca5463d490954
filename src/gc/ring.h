/* A bounded multi-producer single-consumer ring of events (ring.c). */
#ifndef GT_GC_RING_H
#define GT_GC_RING_H

#include "event.h"
#include "util.h"

typedef struct gt_ring gt_ring;
GT_HIDDEN gt_ring *gt__ring_new(size_t capacity); /* rounded up to 2^k */
GT_HIDDEN void gt__ring_free(gt_ring *r);
/* Never blocks, allocates or locks; false when full. */
GT_HIDDEN bool gt__ring_push(gt_ring *r, const gt_event *ev);
/* Single consumer. */
GT_HIDDEN bool gt__ring_pop(gt_ring *r, gt_event *ev);
GT_HIDDEN size_t gt__ring_capacity(const gt_ring *r);

#endif
