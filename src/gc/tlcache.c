/* Per-thread caches of free slots of gt's kinds.
 *
 * bdwgc keeps thread-local free lists only for its own kinds, and taking
 * the allocation lock for every object cost more than the rest of
 * gt_malloc together, so each thread refills a cache a block at a time with
 * GC_generic_malloc_many.
 *
 * Two things keep every cached slot the thread's alone:
 *  - the cache is an uncollectable bdwgc object: always scanned, whatever
 *    the program's roots are (GC_set_no_dls(1) included), so each cached
 *    slot is marked and never swept while it waits;
 *  - the list GC_generic_malloc_many returns is linked through the slots'
 *    first words, which bdwgc does not trace for a pointer-free kind: a
 *    collection while the list is half unlinked would sweep the rest and
 *    hand it to another thread. While a thread unlinks, its cache's
 *    `refill` field holds the rest of the list, and a push-other-roots
 *    hook (called by every collection, lock held) marks the whole list,
 *    as bdwgc itself does for its thread-local free lists.
 * The unlinking order keeps every slot either in the cache's array or on
 * the list the hook follows, at every instruction a collection can stop
 * the thread at. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <gc.h>
#include <gc/gc_inline.h>
#include <gc/gc_mark.h>

#include "gc/gcassume.h"
#include "gc/object.h"
#include "gc/tlcache.h"

/* Slots of 1..TL_CLASSES granules; a class holds one block's worth, the
 * most one refill returns. */
#define CAP(g) (GT_HBLK / (GT_GRANULE * (g)))
#define CLASSES(X)                                                             \
  X(1)                                                                         \
  X(2)                                                                         \
  X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16)
#define PLUS_CAP(g) +CAP(g)
#define TOTAL_SLOTS (0 CLASSES(PLUS_CAP))
#define MAX_LIST (GT_HBLK / GT_GRANULE + 1)

typedef struct tl_cache {
  gt_tl_cache head;             /* first: gt__tl points at it */
  struct tl_cache *prev, *next; /* all caches, changed under the GC lock */
  void *volatile refill; /* the list being unlinked; bdwgc writes its head */
  void *slots[2][TOTAL_SLOTS];
} tl_cache;

static tl_cache *all;
static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;
__attribute__((tls_model("initial-exec"))) _Thread_local gt_tl_cache *gt__tl;

/* Collector context, lock held: mark what refill lists still link. Reads
 * only; in incremental mode it may run while the owner unlinks, so every
 * step is checked to be an object start (a wrong guess only retains one
 * object for one cycle), and the stopped-world pass that follows is exact. */
void gt__tl_push_refills(void) {
  for (tl_cache *c = all; c; c = c->next) {
    void *p = c->refill;
    for (int i = 0; p && i < MAX_LIST && GC_base(p) == p; i++) {
      GC_push_all(p, (char *)p + sizeof(void *)); /* marks the next one */
      p = *(void *volatile *)p;
    }
  }
}

static void *link_cache(void *cache) {
  tl_cache *c = cache;
  c->next = all;
  if (all) all->prev = c;
  all = c;
  return NULL;
}

static void *unlink_cache(void *cache) {
  tl_cache *c = cache;
  if (c->prev)
    c->prev->next = c->next;
  else
    all = c->next;
  if (c->next) c->next->prev = c->prev;
  return NULL;
}

/* At thread exit the cache and its slots go back to bdwgc. bdwgc may have
 * unregistered the thread already; locking and GC_free do not mind. */
static void release(void *cache) {
  gt__tl = NULL;
  GC_call_with_alloc_lock(unlink_cache, cache);
  gt__real_free(cache);
}

static void setup(void) {
  pthread_key_create(&key, release);
}

static tl_cache *get(void) {
  if (__builtin_expect(gt__tl != NULL, 1)) return (tl_cache *)gt__tl;
  pthread_once(&once, setup);
  tl_cache *c = GC_MALLOC_UNCOLLECTABLE(sizeof *c);
  if (!c) return NULL;
  for (int k = 0; k < 2; k++)
    for (size_t g = 1, at = 0; g <= TL_CLASSES; at += CAP(g), g++)
      c->head.cls[k][g].slots = &c->slots[k][at];
  GC_call_with_alloc_lock(link_cache, c);
  pthread_setspecific(key, c);
  gt__tl = &c->head;
  return c;
}

static void set_refill(tl_cache *c, void *p) {
  atomic_signal_fence(memory_order_seq_cst);
  c->refill = p;
  atomic_signal_fence(memory_order_seq_cst);
}

/* Moves the refill list into the class's slots; any excess goes back. */
static void unlink_refill(tl_cache *c, int k, size_t g) {
  gt_tl_class *cl = &c->head.cls[k][g];
  void *p;
  while ((p = c->refill) != NULL) {
    void *next = *(void **)p;
    bool keep = cl->n < CAP(g);
    if (keep) cl->slots[cl->n++] = p; /* scanned before leaving the list */
    set_refill(c, next);
    *(void **)p = NULL;
    if (!keep) gt__real_free(p);
  }
}

void *gt__tl_alloc(size_t granules, int k, size_t *slot) {
  tl_cache *c = get();
  if (!c) return NULL;
  gt_tl_class *cl = &c->head.cls[k][granules];
  *slot = granules * GT_GRANULE;
  if (cl->n == 0) {
    /* It takes the slot size itself (extra byte included), as
     * GC_malloc_many passes it, not a request size. */
    GC_generic_malloc_many(*slot, k ? gt__kind_atomic : gt__kind_ptr,
                           (void **)&c->refill);
    void *head = c->refill;
    if (!head) return NULL;
    size_t got;
    GC_get_kind_and_size(head, &got);
    if (!*(void **)head && got != *slot) {
      /* On a full heap it falls back to one object allocated as a request
       * of that size, which gets a larger slot: use it as such. */
      set_refill(c, NULL);
      *slot = got;
      return head;
    }
    unlink_refill(c, k, granules);
  }
  void *p = cl->slots[--cl->n];
  cl->slots[cl->n] = NULL;
  return p;
}
