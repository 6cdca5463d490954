/* Setting the collector up for gt: the checks gt_init makes first, gt's
 * kinds with their disclaim procedure, and gt's hooks. Runs once, from
 * gt_init or the first gt_malloc, never in the collector's context. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include <gc.h>
#include <gc/gc_disclaim.h>
#include <gc/gc_mark.h>

#include "gc/gcassume.h"
#include "gc/object.h"

/* bdwgc facts gt depends on (gcassume.h), checked on the running
 * collector: a wrong block size would make the heap walk skip slots. An
 * object of more than half a block is large (its size is only rounded to
 * granules), anything smaller shares a block. */
static size_t probe(size_t n) {
  void *p = GC_MALLOC_ATOMIC(n);
  size_t sz = 0;
  if (p) GC_get_kind_and_size(p, &sz);
  GC_reachable_here(p);
  return sz;
}

static const char *check_assumptions(void) {
  /* Just over half a block: large, so rounded to granules only. Just
   * under: small, in a size class that fills the block. A quarter block
   * plus a bit: small, never large (it would be in a smaller block). */
  size_t big = GT_HBLK / 2 + GT_GRANULE, small = GT_HBLK / 2 - 2 * GT_GRANULE,
         quarter = GT_HBLK / 4 + 5 * GT_GRANULE;
  size_t bs = probe(big), ss = probe(small), qs = probe(quarter);
  if (!bs || !ss || !qs) return "out of memory";
  if (bs % GT_GRANULE || ss % GT_GRANULE) return "granule is not 16 bytes";
  if (bs >= big + 2 * GT_GRANULE || ss > GT_HBLK / 2 || ss < small ||
      qs < quarter + 2 * GT_GRANULE)
    return "heap block is not 4096 bytes";
  return NULL;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *setup_error;

static void setup(void) {
  if (!GC_is_init_called()) GC_INIT();
  if ((setup_error = check_assumptions())) return;
  /* Scanned like GC_MALLOC memory: the whole object is a length. */
  int kp = (int)GC_new_kind(GC_new_free_list(), GC_DS_LENGTH, 1, 1);
  /* Length 0, not adjusted: never scanned, like GC_MALLOC_ATOMIC; cleared
   * so that a reused block cannot show a stale header. */
  int ka = (int)GC_new_kind(GC_new_free_list(), GC_DS_LENGTH, 0, 1);
  GC_register_disclaim_proc(kp, gt__on_disclaim, 0);
  GC_register_disclaim_proc(ka, gt__on_disclaim, 0);
  /* bdwgc creates a kind's reclaim list only in GC_generic_malloc, not in
   * GC_generic_malloc_many, and a collection leaves the free lists of a
   * kind without one in place, pointing into blocks it then frees. One
   * ordinary allocation per kind creates the lists. */
  GC_reachable_here(GC_generic_malloc(1, kp));
  GC_reachable_here(GC_generic_malloc(1, ka));
  gt__reclaim_setup();
  gt__install_hooks();
  gt__kinds_set(kp, ka, GC_get_all_interior_pointers() ? 1 : 0);
}

int gt__gc_setup(void) {
  pthread_once(&once, setup);
  if (setup_error)
    return gt__fail(GT_ESTATE,
                    "gt_init: this bdwgc differs from what gt was built "
                    "for: %s",
                    setup_error);
  return GT_OK;
}

/* What gt_init needs from the collector before anything else: bdwgc up,
 * in a mode gt can work in, and a heap that small programs never grow. */
#define GT_INITIAL_HEAP (4u << 20)

int gt__gc_prepare(void) {
  if (!GC_is_init_called()) GC_INIT();
  /* Find-leak mode never reclaims anything: it reports the objects as
   * leaks instead, so gt could not tell a single death. */
  if (GC_get_find_leak())
    return gt__fail(GT_ESTATE, "gt_init: bdwgc is in find-leak mode "
                               "(GC_set_find_leak): it reclaims nothing, so "
                               "gt would report nothing; turn one of them off");
  /* bdwgc keeps the end of its last heap mapping in a static that is
   * scanned as a root; it points at the first block of the previous heap
   * section and pins whatever object sits there. A heap sized up front
   * means small programs never grow it, so gt_collect's counts are exact
   * there (docs/design.md, "Conservative retention"). */
  if (GC_get_heap_size() < GT_INITIAL_HEAP)
    GC_expand_hp(GT_INITIAL_HEAP - GC_get_heap_size());
  gt__thread_keep_signals(GC_get_suspend_signal(), GC_get_thr_restart_signal());
  return 0;
}

bool gt__gc_thread_registered(void) {
  return GC_thread_is_registered();
}
