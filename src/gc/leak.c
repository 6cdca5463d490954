/* gt_expect_release and gt_release: the mark that turns an object's death
 * into a leak (docs/leaks.md), and gt.leak_sample_every's per-thread
 * countdown.
 *
 * On a gt object the mark is the header's H_EXPECT bit, flipped with one
 * atomic RMW: no lock, no allocation, and a concurrent mark, release or
 * in-place realloc in another thread never loses an update. The sweeper
 * reads the bit with the rest of the header (reclaim.c), and the report
 * carries it as GT_EVF_UNRELEASED. A watched bdwgc object has no header:
 * its mark lives with its finalizer (watch.c). Finding the header is the
 * cost: gt_expect_release inlines the block memo's check (memo.h), so a
 * program that marks each object it allocates pays a few instructions.
 *
 * Program context only: nothing here runs in the collector. */
#include <gc.h>

#include "gc/memo.h"
#include "gc/object.h"

/* Calls to skip before the next mark, per thread, as gt.alloc_sample_every
 * does for tracking: the first call of each thread marks. Only calls on
 * tracked objects count down: were untracked ones to count too, a program
 * that marks every object it allocates would mark exactly the objects
 * gt.alloc_sample_every tracked whenever the two periods share a factor
 * (128 and 1000: every 8th marked, estimates 8x too high). */
static __attribute__((
    tls_model("initial-exec"))) _Thread_local uint64_t until_marked;

static bool chosen(void) {
  uint64_t every = atomic_load_explicit(&gt__leak_every, memory_order_relaxed);
  if (every <= 1) return true;
  if (until_marked-- != 0) return false;
  until_marked = every - 1;
  return true;
}

/* Marks the gt object whose header is at hp (h: its value), if chosen. An
 * untracked object (gt.alloc_sample_every) is never reported, so it keeps
 * no mark and uses no sample. */
static inline void mark(uint64_t *hp, uint64_t h) {
  if ((h & H_LIVE) && chosen())
    __atomic_fetch_or(hp, H_EXPECT, __ATOMIC_RELAXED);
}

/* The header of the gt object at obj, or NULL when obj is not the start of
 * a gt object (it may still be a watched one). */
static uint64_t *gt_header_of(void *obj) {
  size_t slot = gt__gt_slot(obj);
  return slot ? gt__header(obj, slot) : NULL;
}

static int not_ours(void *obj, const char *fn) {
  if (!GC_base(obj))
    return gt__fail(GT_EINVAL, "%s(%p): not a bdwgc heap object", fn, obj);
  return gt__fail(GT_EINVAL,
                  "%s(%p): points inside an object, not at its start", fn, obj);
}

/* Everything but the common case: a block the memo does not know, a
 * watched object, a misuse. */
static __attribute__((noinline)) int expect_slow(void *obj) {
  if (!obj) return gt__fail(GT_EINVAL, "gt_expect_release: NULL object");
  uint64_t *hp = gt_header_of(obj);
  if (!hp) {
    if (GC_base(obj) != obj) return not_ours(obj, "gt_expect_release");
    return gt__watch_mark(obj, chosen() ? GT_MARK_SET : GT_MARK_CHECK,
                          "gt_expect_release");
  }
  uint64_t h = gt__header_load(hp);
  if (!(h & H_GT))
    return gt__fail(GT_EINVAL, "gt_expect_release(%p): freed", obj);
  mark(hp, h);
  return GT_OK;
}

/* Called once per object by programs that mark everything (Netty's
 * pattern), so the common case is inline here: a gt object in the block
 * this thread looked up last. */
int gt_expect_release(void *obj) {
  size_t slot = gt__memo_slot(obj, gt__gc_no());
  if (__builtin_expect(slot != 0, 1)) {
    uint64_t *hp = gt__header(obj, slot), h = gt__header_load(hp);
    if (__builtin_expect(h & H_GT, 1)) {
      mark(hp, h);
      return GT_OK;
    }
  }
  return expect_slow(obj);
}

/* Releasing what was never marked is not an error: with sampling, most
 * marked-by-the-program objects carry no mark, and gt cannot tell them
 * from objects released twice. */
int gt_release(void *obj) {
  if (!obj) return gt__fail(GT_EINVAL, "gt_release: NULL object");
  uint64_t *hp = gt_header_of(obj);
  if (!hp) {
    if (GC_base(obj) != obj) return not_ours(obj, "gt_release");
    return gt__watch_mark(obj, GT_MARK_CLEAR, "gt_release");
  }
  uint64_t h = gt__header_load(hp);
  if (!(h & H_GT)) return gt__fail(GT_EINVAL, "gt_release(%p): freed", obj);
  /* No store when there is nothing to clear: releasing an unmarked
   * object (the common case under sampling) writes no shared line. */
  if (h & H_EXPECT) __atomic_fetch_and(hp, ~H_EXPECT, __ATOMIC_RELAXED);
  return GT_OK;
}
