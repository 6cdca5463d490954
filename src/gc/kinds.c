/* What a gt object is: gt's two bdwgc kinds, whether they exist yet, and
 * each thread's block memo (memo.h) that answers it fast. The lowest file of
 * the GC context: the others ask it, it asks none. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <gc.h>
#include <gc/gc_mark.h>

#include "gc/memo.h"
#include "gc/object.h"

int gt__kind_ptr = -1, gt__kind_atomic = -1;
size_t gt__extra;             /* 1 when bdwgc pads requests */
_Atomic bool gt__kinds_ready; /* the kinds exist */
_Atomic bool gt__kinds_used;  /* a gt object was handed out */

void gt__kinds_set(int ptr, int atomic, size_t extra) {
  gt__kind_ptr = ptr;
  gt__kind_atomic = atomic;
  gt__extra = extra;
  atomic_store_explicit(&gt__kinds_ready, true, memory_order_release);
}

bool gt__alloc_kinds_used(void) {
  return atomic_load_explicit(&gt__kinds_used, memory_order_relaxed);
}

__attribute__((tls_model("initial-exec"))) _Thread_local gt_blk_memo gt__memo;

/* A block not in the memo (memo.h): what bdwgc says, remembered if it is a
 * block of small gt objects. gc_no was read before the lookup: a
 * collection since then leaves a stale number, never a stale memo. */
static __attribute__((noinline)) size_t slot_lookup(const void *p,
                                                    uint64_t gc_no) {
  if (!p || !gt__alloc_ready() || GC_base((void *)p) != p) return 0;
  size_t slot = 0;
  if (!gt__is_gt_kind(GC_get_kind_and_size(p, &slot))) return 0;
  if (slot <= GT_HBLK / 2)
    gt__memo =
        (gt_blk_memo){.not_block = ~((uintptr_t)p & ~(uintptr_t)(GT_HBLK - 1)),
                      .gc_no = gc_no,
                      .inv = UINT64_MAX / slot + 1,
                      .slot = (uint32_t)slot};
  return slot;
}

size_t gt__gt_slot(const void *p) {
  uint64_t gc_no = gt__gc_no();
  size_t slot = gt__memo_slot(p, gc_no);
  return slot ? slot : slot_lookup(p, gc_no);
}

_Noreturn void gt__misuse(const char *fn, const void *p, const char *what) {
  fprintf(stderr, "gt: %s(%p): %s\n", fn, p, what);
  fflush(stderr);
  abort();
}
