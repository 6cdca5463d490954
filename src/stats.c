/* The process's counters: one atomic per entry of GT_COUNTERS, counted
 * from the first event to exit (gt_init and gt_shutdown keep them). */
#include <string.h>

#include "gt_internal.h"

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
  }
}

void gt_get_stats(gt_stats *out) {
  if (!out) return;
  memset(out, 0, sizeof *out);
#define FILL(E, field) out->field = gt__counter(GT_C_##E);
  GT_COUNTERS(FILL)
#undef FILL
  gt__alloc_counts(&out->allocated, &out->tracked);
  uint64_t s = atomic_load(&scale);
  out->estimated = out->collected * s;
  out->estimated_bytes = out->bytes * s;
}

size_t gt_get_name_stats(gt_name_stats *out, size_t cap) {
  gt__intern_setup();
  uint32_t n = gt__name_count(), sites = gt__site_count();
  if (!out) cap = 0;
  for (uint32_t id = 1; id <= n && id - 1 < cap; id++)
    out[id - 1] = (gt_name_stats){.name = gt__name(id)};
  for (uint32_t id = 1; id <= sites; id++) {
    gt_site *s = gt__site(id);
    if (s->name_id - 1 >= cap) continue;
    gt_name_stats *o = &out[s->name_id - 1];
    o->collected += atomic_load_explicit(&s->collected, memory_order_relaxed);
    o->freed += atomic_load_explicit(&s->freed, memory_order_relaxed);
    o->bytes += atomic_load_explicit(&s->bytes, memory_order_relaxed);
  }
  /* The reserved sites, once something was counted there. */
  size_t total = n;
  for (uint32_t id = GT_FIRST_RESERVED; id <= GT_OTHER_SITE; id++) {
    gt_site *r = gt__site(id);
    gt_name_stats e = {
        .name = r->name,
        .collected = atomic_load_explicit(&r->collected, memory_order_relaxed),
        .freed = atomic_load_explicit(&r->freed, memory_order_relaxed),
        .bytes = atomic_load_explicit(&r->bytes, memory_order_relaxed)};
    if (!e.collected && !e.freed) continue;
    if (total < cap) out[total] = e;
    total++;
  }
  return total;
}
