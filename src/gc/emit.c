/* The producer side of the event ring: what the collector's context calls
 * to record a reclaimed or freed object. Never blocks, locks or allocates:
 * a full ring (or none yet) adds to the site's overflow counters instead,
 * which the worker reads as deltas, so counts stay exact.
 *
 * The ring outlives every pipeline: events pushed while no worker runs
 * (before gt_init, during and after gt_shutdown) wait there for the next
 * one. A gt_init that asks for another capacity makes a new ring; the old
 * one is retired, never freed (a producer may still be inside a push), and
 * drained by every worker; a later gt_init asking for its size again takes
 * it back. */
#include <stdatomic.h>

#include <gc.h>

#include "gc/gcassume.h"
#include "gc/gcctx.h"
#include "gc/ring.h"
#include "intern.h"

#define MAX_RINGS 8

static gt_ring *_Atomic ring;
static gt_ring *rings[MAX_RINGS]; /* every ring made, oldest first */
static int nrings;                /* changed by gt_init only */
static _Atomic int overflow_pending;
static _Atomic uint64_t reported; /* objects reported collected, ever */

static void push(const gt_event *ev) {
  if (ev->kind == GT_EV_COLLECTED)
    atomic_fetch_add_explicit(&reported, ev->count, memory_order_relaxed);
  gt_ring *r = atomic_load_explicit(&ring, memory_order_acquire);
  if (r && gt__ring_push(r, ev)) return;
  gt_site *s = gt__site(ev->site);
  uint64_t bytes = ev->size * ev->count;
  if (ev->kind == GT_EV_FREED) {
    atomic_fetch_add_explicit(&s->overflow_freed, ev->count,
                              memory_order_relaxed);
  } else if (ev->flags & GT_EVF_UNRELEASED) {
    atomic_fetch_add_explicit(&s->overflow_unreleased, ev->count,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&s->overflow_unreleased_bytes, bytes,
                              memory_order_relaxed);
  } else {
    atomic_fetch_add_explicit(&s->overflow, ev->count, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->overflow_bytes, bytes, memory_order_relaxed);
  }
  atomic_store_explicit(&overflow_pending, 1, memory_order_release);
}

void gt__emit_run(uint32_t site, uint64_t size, uint16_t count, uint8_t flags) {
  gt_event ev = {.site = site,
                 .kind = GT_EV_COLLECTED,
                 .flags = flags,
                 .count = count,
                 .size = size};
  push(&ev);
}

void gt__emit(uint32_t site, int kind, uint64_t size, const uint64_t *birth,
              uint8_t flags) {
  gt_event ev = {.site = site,
                 .kind = (uint8_t)kind,
                 .flags = flags,
                 .count = 1,
                 .size = size};
  if (birth) {
    ev.flags |= GT_EVF_AGE;
    ev.birth_gc = (uint32_t)(*birth >> GT_BIRTH_MS_BITS);
    ev.death_gc = (uint32_t)(GC_get_gc_no() & GT_GCNO_MASK);
    ev.birth_ms = (int64_t)(*birth & GT_BIRTH_MS_MASK);
  }
  push(&ev);
}

uint64_t gt__reported(void) {
  return atomic_load_explicit(&reported, memory_order_relaxed);
}

int gt__emit_open(size_t capacity) {
  gt_ring *r = atomic_load(&ring);
  size_t want = 2;
  while (want < capacity)
    want <<= 1;
  if (r && gt__ring_capacity(r) == want) return 0;
  for (int i = 0; i < nrings; i++) /* an earlier ring of that size */
    if (gt__ring_capacity(rings[i]) == want) {
      atomic_store_explicit(&ring, rings[i], memory_order_release);
      return 0;
    }
  if (nrings == MAX_RINGS) {
    gt__warn("gt.queue_capacity: changed too often; keeping %zu",
             gt__ring_capacity(r));
    return 0;
  }
  gt_ring *n = gt__ring_new(want);
  if (!n)
    return gt__fail(GT_ENOMEM, "gt.queue_capacity: cannot allocate the ring");
  rings[nrings++] = n;
  atomic_store_explicit(&ring, n, memory_order_release);
  return 0;
}

bool gt__emit_pop(gt_event *ev) {
  for (int i = 0; i < nrings; i++)
    if (gt__ring_pop(rings[i], ev)) return true;
  return false;
}

bool gt__emit_take_overflow(void) {
  return atomic_exchange_explicit(&overflow_pending, 0, memory_order_acq_rel);
}

void gt__emit_note_overflow(void) {
  atomic_store_explicit(&overflow_pending, 1, memory_order_release);
}

void gt__emit_fork_child(void) {
  /* A producer interrupted by fork() in the parent cannot finish in the
   * child: events it claimed and never published would stall the ring's
   * consumer forever. The child starts with a fresh ring. */
  atomic_store(&ring, NULL);
  nrings = 0;
}
