/* Statistics: the process's counters, one atomic per GT_STATS field the
 * pipeline counts (the rest are the allocation paths' own, or derived),
 * from the first event to exit (gt_init and gt_shutdown keep them). */
#include <string.h>

#include "intern.h"
#include "stats.h"

static _Atomic uint64_t counters[GT_C_COUNT];
static _Atomic uint64_t scale = 1; /* gt.alloc_sample_every in force */

void gt__count(enum gt_counter c, uint64_t n) {
  if (n) atomic_fetch_add_explicit(&counters[c], n, memory_order_relaxed);
}

uint64_t gt__counter(enum gt_counter c) {
  return atomic_load_explicit(&counters[c], memory_order_relaxed);
}

void gt__stats_scale(uint64_t alloc_sample_every) {
  atomic_store(&scale, alloc_sample_every ? alloc_sample_every : 1);
}

/* A forked child is a process of its own: it counts its own objects. */
void gt__stats_fork_child(void) {
  for (int i = 0; i < GT_C_COUNT; i++)
    atomic_store(&counters[i], 0);
  uint32_t n = gt__site_count();
  for (uint32_t id = 1; id <= GT_OTHER_SITE; id++) {
    if (id > n && id < GT_FIRST_RESERVED) id = GT_FIRST_RESERVED;
    gt_site *s = gt__site(id);
    atomic_store(&s->collected, 0);
    atomic_store(&s->freed, 0);
    atomic_store(&s->bytes, 0);
    atomic_store(&s->unreleased, 0);
    atomic_store(&s->unreleased_bytes, 0);
  }
}

uint64_t gt__stats_scale_get(void) {
  return atomic_load(&scale);
}
