/* Allocation sites from call stacks (gt.stack_depth > 0, and every
 * allocation `gt run` attaches to): the return addresses of the
 * allocation, captured in the allocating thread with libunwind's
 * unw_backtrace (which reads the unwind tables: Debian builds carry no
 * frame pointers) and interned as a stack site, named later by the
 * worker. Capturing costs tens of nanoseconds a frame, so it can be
 * sampled: with gt.stack_sample_every = N one allocation in N takes a
 * stack, and the others from the same call instruction reuse the site it
 * found (an estimate, marked as such in reports). */
#include <libunwind.h>
#include <stdatomic.h>
#include <string.h>

#include "gc/object.h"
#include "gc/stack.h"

static _Atomic int depth; /* 0: no stacks */
static _Atomic uint64_t sample_every = 1;

#define BY_CALLER 256 /* per-thread: call instruction -> its last site */
typedef struct caller {
  const void *ra;
  const char *name;
  uint32_t site;
} caller;
typedef struct stack_tls {
  uint64_t until; /* allocations until the next captured stack */
  caller by_caller[BY_CALLER];
} stack_tls;
static GT_TLS stack_tls *st; /* util.h: gt__tls_block */

void gt__stack_config(int frames, uint64_t every) {
  atomic_store(&sample_every, every ? every : 1);
  atomic_store(&depth, frames < 0              ? 0
                       : frames > GT_MAX_STACK ? GT_MAX_STACK
                                               : frames);
}

int gt__stack_depth(void) {
  return atomic_load_explicit(&depth, memory_order_relaxed);
}

/* The frames from the caller's call instruction outwards: unw_backtrace
 * starts inside gt, so drop everything before `ra`, wherever inlining put
 * it. Unwinding costs per frame, so ask for gt's own frames (the most
 * seen, a handful) plus `want`, and for more only if ra is not among
 * them. */
static _Atomic int gt_frames = 4;

static int find_ra(void *const *buf, int n, const void *ra) {
  for (int i = 0; i < n; i++)
    if (buf[i] == ra) return i;
  return -1;
}

static int capture(const void *ra, uintptr_t *pcs, int want) {
  void *buf[GT_MAX_STACK + 24];
  int ask = atomic_load_explicit(&gt_frames, memory_order_relaxed) + 1 + want;
  int n = unw_backtrace(buf, ask), from = find_ra(buf, n, ra);
  if (n == ask && (from < 0 || from + want > n)) { /* cut short: all of it */
    ask = GT_MAX_STACK + 24;
    n = unw_backtrace(buf, ask);
    from = find_ra(buf, n, ra);
  }
  if (from < 0) { /* not found (unusual unwind info): the caller alone */
    pcs[0] = (uintptr_t)ra;
    return 1;
  }
  if (from > atomic_load_explicit(&gt_frames, memory_order_relaxed))
    atomic_store_explicit(&gt_frames, from, memory_order_relaxed);
  int k = 0;
  for (int i = from; i < n && k < want; i++)
    pcs[k++] = (uintptr_t)buf[i];
  return k;
}

uint32_t gt__stack_site(const char *name, const void *ra) {
  int d = gt__stack_depth();
  uintptr_t one = (uintptr_t)ra;
  if (d <= 1) return gt__intern_stack(name, &one, 1);
  stack_tls *t = st ? st : gt__tls_block((void **)&st, sizeof *t);
  uintptr_t pcs[GT_MAX_STACK];
  if (!t) return gt__intern_stack(name, pcs, capture(ra, pcs, d));
  caller *c = &t->by_caller[((uintptr_t)ra >> 2 ^ (uintptr_t)ra >> 11) &
                            (BY_CALLER - 1)];
  bool hit = c->site && c->ra == ra && c->name == name;
  uint64_t every = atomic_load_explicit(&sample_every, memory_order_relaxed);
  if (hit && every > 1 && t->until-- != 0) return c->site;
  t->until = every - 1;
  int n = capture(ra, pcs, d);
  *c = (caller){ra, name, gt__intern_stack(name, pcs, n)};
  return c->site;
}
