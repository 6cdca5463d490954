/* What a gt object is: gt's two bdwgc kinds, and whether they exist yet.
 * The lowest file of the GC context: the others ask it, it asks none. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <gc.h>
#include <gc/gc_mark.h>

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

size_t gt__gt_slot(const void *p) {
  if (!p || !gt__alloc_ready() || GC_base((void *)p) != p) return 0;
  size_t slot = 0;
  return gt__is_gt_kind(GC_get_kind_and_size(p, &slot)) ? slot : 0;
}

_Noreturn void gt__misuse(const char *fn, const void *p, const char *what) {
  fprintf(stderr, "gt: %s(%p): %s\n", fn, p, what);
  fflush(stderr);
  abort();
}
