/* The block memo: each thread's last block of small gt objects, so that
 * telling a gt object from any other pointer (gt__gt_slot: GC_size,
 * GC_free, GC_realloc, gt_expect_release, gt_release) costs a few
 * instructions instead of GC_base, GC_get_kind_and_size (two calls, two
 * block-header lookups) and a division. kinds.c fills it; leak.c inlines
 * the check on gt_expect_release's path.
 *
 * Why it holds: a block of objects of at most half a block keeps its kind
 * and slot size until bdwgc frees it, and bdwgc frees such a block only in
 * GC_start_reclaim, when a collection found none of its objects marked —
 * after that collection incremented GC_gc_no (with the world stopped).
 * Lazy sweeping never frees a block, and GC_free frees only large
 * objects' blocks (never memoised). The memo is filled from a live object
 * (the caller holds it, so its block cannot be freed in the current
 * collection cycle) and is used only while GC_gc_no is the number read
 * before that lookup. Per thread: no sharing, no lock. */
#ifndef GT_MEMO_H
#define GT_MEMO_H

#include <stdint.h>

#include <gc.h>

#include "gc/gcassume.h"
#include "gc/object.h"

typedef struct gt_blk_memo {
  /* ~ the block's address: the block's own address is its first object's,
   * and a thread's TLS may be scanned as a root (a pointer there would pin
   * that object); the complement has its top bit set, no heap address. */
  uintptr_t not_block;
  uint64_t gc_no;
  uint64_t inv;  /* UINT64_MAX / slot + 1: divisibility by multiplication */
  uint32_t slot; /* 0: no memo */
} gt_blk_memo;
GT_HIDDEN extern __attribute__((
    tls_model("initial-exec"))) _Thread_local gt_blk_memo gt__memo;

/* GC_get_gc_no() without its call: bdwgc still exports the variable it
 * returns (deprecated as API, not as ABI). Collections change it with the
 * world stopped, so a relaxed load sees the number of the cycle the
 * thread runs in. */
static inline uint64_t gt__gc_no(void) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  return __atomic_load_n(&GC_gc_no, __ATOMIC_RELAXED);
#pragma GCC diagnostic pop
}

/* gt__gt_slot when the memo answers (gc_no: gt__gc_no()), else 0. p is an
 * object start iff the slot size divides its offset in the block (Lemire's
 * test: exact for offsets and sizes below 2^32) and the whole slot lies in
 * the block. */
static inline size_t gt__memo_slot(const void *p, uint64_t gc_no) {
  uintptr_t a = (uintptr_t)p, blk = a & ~(uintptr_t)(GT_HBLK - 1);
  uint64_t off = a - blk, inv = gt__memo.inv;
  if (~blk == gt__memo.not_block && gc_no == gt__memo.gc_no && gt__memo.slot &&
      off * inv <= inv - 1 && off + gt__memo.slot <= GT_HBLK)
    return gt__memo.slot;
  return 0;
}

#endif
