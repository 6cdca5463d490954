/* Per-thread slot caches for gt's kinds (tlcache.c). GC context. */
#ifndef GT_TLCACHE_H
#define GT_TLCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "gc/gcassume.h"
#include "util.h"

#define TL_CLASSES 16 /* slots of 1..16 granules (16..256 bytes) */

/* One size class of one kind: n free slots at slots[0..n-1]. */
typedef struct gt_tl_class {
  void **slots; /* into the cache's own array */
  uint32_t n;
} gt_tl_class;

/* The head of a thread's cache (the rest is tlcache.c's). */
typedef struct gt_tl_cache {
  gt_tl_class cls[2][TL_CLASSES + 1];
} gt_tl_cache;
GT_HIDDEN extern __attribute__((
    tls_model("initial-exec"))) _Thread_local gt_tl_cache *gt__tl;

/* Refills the class, or falls back (tlcache.c); as gt__tl_take. */
GT_HIDDEN void *gt__tl_alloc(size_t granules, int k, size_t *slot);

/* A free, cleared slot of kind k (0 pointer, 1 pointer-free) of `granules`
 * granules, or NULL; *slot gets its size (larger than asked when bdwgc had
 * to fall back to one object on a full heap). Inline: it is most of what
 * gt_malloc does. */
static inline void *gt__tl_take(size_t granules, int k, size_t *slot) {
  gt_tl_cache *c = gt__tl;
  if (__builtin_expect(c != NULL, 1)) {
    gt_tl_class *cl = &c->cls[k][granules];
    if (__builtin_expect(cl->n != 0, 1)) {
      void *p = cl->slots[--cl->n];
      cl->slots[cl->n] = NULL;
      *slot = granules * GT_GRANULE;
      return p;
    }
  }
  return gt__tl_alloc(granules, k, slot);
}
/* The push-other-roots part that keeps refill lists alive (collector
 * context, lock held). */
GT_HIDDEN void gt__tl_push_refills(void);

#endif
