/* Per-thread slot caches for gt's kinds (tlcache.c). GC context. */
#ifndef GT_TLCACHE_H
#define GT_TLCACHE_H

#include <stddef.h>

#include "gt_internal.h"

#define TL_CLASSES 16 /* slots of 1..16 granules (16..256 bytes) */

/* A free, cleared slot of kind k (0 pointer, 1 pointer-free) of `granules`
 * granules, or NULL; *slot gets its size (larger than asked when bdwgc had
 * to fall back to one object on a full heap). */
GT_HIDDEN void *gt__tl_alloc(size_t granules, int k, size_t *slot);
/* The push-other-roots part that keeps refill lists alive (collector
 * context, lock held). */
GT_HIDDEN void gt__tl_push_refills(void);

#endif
