/* Bounded multi-producer single-consumer ring of fixed-size events.
 *
 * Producers run inside the collector (disclaim procedure, finalizers), so a
 * push may not block, lock or allocate: each cell carries a sequence number
 * (Vyukov's bounded queue); a producer claims a slot with one CAS and
 * publishes it with a release store. A full ring makes push return false and
 * the caller counts the event instead. */
#include <stdlib.h>

#include "gc/ring.h"

typedef struct cell {
  _Atomic size_t seq;
  gt_event ev;
} cell;

struct gt_ring {
  size_t mask;
  _Alignas(64) _Atomic size_t head; /* next slot producers claim */
  _Alignas(64) size_t tail;         /* next slot the consumer reads */
  _Alignas(64) cell cells[];
};

gt_ring *gt__ring_new(size_t capacity) {
  size_t n = 2;
  while (n < capacity)
    n <<= 1;
  gt_ring *r =
      aligned_alloc(64, (sizeof *r + n * sizeof(cell) + 63) & ~(size_t)63);
  if (!r) return NULL;
  r->mask = n - 1;
  atomic_init(&r->head, 0);
  r->tail = 0;
  for (size_t i = 0; i < n; i++)
    atomic_init(&r->cells[i].seq, i);
  return r;
}

void gt__ring_free(gt_ring *r) {
  free(r);
}

size_t gt__ring_capacity(const gt_ring *r) {
  return r->mask + 1;
}

bool gt__ring_push(gt_ring *r, const gt_event *ev) {
  size_t pos = atomic_load_explicit(&r->head, memory_order_relaxed);
  for (;;) {
    cell *c = &r->cells[pos & r->mask];
    size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
    intptr_t dif = (intptr_t)seq - (intptr_t)pos;
    if (dif == 0) {
      if (atomic_compare_exchange_weak_explicit(&r->head, &pos, pos + 1,
                                                memory_order_relaxed,
                                                memory_order_relaxed)) {
        c->ev = *ev;
        atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
        return true;
      }
    } else if (dif < 0) {
      return false; /* the consumer has not freed this cell yet: full */
    } else {
      pos = atomic_load_explicit(&r->head, memory_order_relaxed);
    }
  }
}

bool gt__ring_pop(gt_ring *r, gt_event *ev) {
  cell *c = &r->cells[r->tail & r->mask];
  size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
  if ((intptr_t)seq - (intptr_t)(r->tail + 1) < 0)
    return false; /* empty, or a producer has claimed but not published */
  *ev = c->ev;
  atomic_store_explicit(&c->seq, r->tail + r->mask + 1, memory_order_release);
  r->tail++;
  return true;
}
