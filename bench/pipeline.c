/* gt-bench child: workload `pipeline`, gt's event ring alone (the internal
 * gt__ring_* API, hence the static library): phase 1 fills the ring and
 * drains it in one thread, round after round (push and pop cost, and the
 * RSS must not grow after the first round: memory fixed by the ring size);
 * phase 2 has one producer thread and this thread draining concurrently.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>

#include "child.h"
#include "gc/ring.h"

typedef struct ring_prod {
  gt_ring *r;
  uint64_t n;
  uint64_t full_spins;
} ring_prod;

static void *ring_producer(void *arg) {
  ring_prod *rp = arg;
  gt_event ev = {.kind = GT_EV_COLLECTED, .size = 24};
  for (uint64_t i = 0; i < rp->n; i++) {
    ev.site = (uint32_t)(i & 0xfffff);
    ev.birth_gc = i;
    while (!gt__ring_push(rp->r, &ev))
      rp->full_spins++;
  }
  return NULL;
}

typedef struct ring_run {
  gt_ring *r;
  size_t cap;
  uint64_t rounds, pushed, popped, bad, full_spins;
  double push_s, pop_s, conc_s;
  long rss0, rss_first, rss_after1, rss_after2;
} ring_run;

/* Phase 1, one thread: fill the ring, then drain it, `rounds` times. */
static void fill_drain(ring_run *x) {
  gt_event ev = {.kind = GT_EV_COLLECTED, .size = 24}, out;
  uint64_t sum = 0;
  for (uint64_t k = 0; k < x->rounds; k++) {
    double t0 = bench_now_s();
    for (size_t i = 0; i < x->cap; i++) {
      ev.birth_gc = i;
      ev.site = (uint32_t)i;
      x->pushed += gt__ring_push(x->r, &ev);
    }
    double t1 = bench_now_s();
    if (gt__ring_push(x->r, &ev)) x->bad++; /* must be full now */
    double t2 = bench_now_s();
    while (gt__ring_pop(x->r, &out)) {
      sum += out.birth_gc;
      x->popped++;
    }
    double t3 = bench_now_s();
    x->push_s += t1 - t0;
    x->pop_s += t3 - t2;
    if (k == 0) x->rss_first = bench_rss_kb();
  }
  x->rss_after1 = bench_rss_kb();
  uint64_t expect = x->rounds * ((uint64_t)x->cap * (x->cap - 1) / 2);
  if (x->pushed != x->rounds * x->cap || x->popped != x->pushed ||
      sum != expect)
    x->bad++;
}

/* Phase 2: one producer thread, this thread drains concurrently. */
static void concurrent(ring_run *x) {
  ring_prod rp = {.r = x->r, .n = x->rounds * x->cap};
  pthread_t th;
  gt_event out;
  double t0 = bench_now_s();
  if (pthread_create(&th, NULL, ring_producer, &rp) != 0) bench_die("pthread");
  uint64_t got = 0, csum = 0;
  while (got < rp.n) {
    if (gt__ring_pop(x->r, &out)) {
      csum += out.birth_gc;
      got++;
    }
  }
  pthread_join(th, NULL);
  x->conc_s = bench_now_s() - t0;
  if (csum != rp.n * (rp.n - 1) / 2) x->bad++;
  x->full_spins = rp.full_spins;
  x->rss_after2 = bench_rss_kb();
}

static void put_ring(json_t *j, const ring_run *x) {
  double drain_eps = (double)x->popped / x->pop_s;
  bench_put_u(j, "ring_capacity", x->cap);
  bench_put_u(j, "event_bytes", sizeof(gt_event));
  bench_put_u(j, "ring_bytes", x->cap * sizeof(gt_event));
  bench_put_u(j, "events", x->pushed);
  bench_put_d(j, "push_ns", x->push_s * 1e9 / (double)x->pushed);
  bench_put_d(j, "pop_ns", x->pop_s * 1e9 / (double)x->popped);
  bench_put_round(j, "drain_events_per_s", drain_eps);
  bench_put_round(j, "concurrent_events_per_s",
                  (double)(x->rounds * x->cap) / x->conc_s);
  bench_put_u(j, "concurrent_full_spins", x->full_spins);
  bench_put_i(j, "rss_before_kb", x->rss0);
  bench_put_i(j, "rss_after_first_round_kb", x->rss_first);
  bench_put_i(j, "rss_after_kb", x->rss_after2);
  bench_put_i(j, "rss_growth_after_first_round_kb",
              x->rss_after1 - x->rss_first);
  bench_put_i(j, "rss_growth_concurrent_kb", x->rss_after2 - x->rss_after1);
  bench_put_u(j, "allocated", x->pushed);
  bench_put_u(j, "reported", x->popped);
  bench_put_round(j, "events_per_s", drain_eps);
}

int bench_run_pipeline(int rep, const bench_params *p) {
  ring_run x = {.rss0 = bench_rss_kb()};
  x.r = gt__ring_new(p->ring_cap);
  if (!x.r) bench_die("gt__ring_new failed");
  x.cap = gt__ring_capacity(x.r);
  x.rounds = p->ring_events / x.cap ? p->ring_events / x.cap : 1;
  bench_cpu c0, c1;
  bench_cpu_now(&c0);
  double t0 = bench_now_s();
  fill_drain(&x);
  concurrent(&x);
  double wall = bench_now_s() - t0;
  bench_cpu_now(&c1);
  gt__ring_free(x.r);

  json_t *j = bench_result_new("pipeline", "ring", rep, x.bad == 0);
  bench_put_d(j, "wall_s", wall);
  bench_put_cpu(j, &c0, &c1);
  bench_put_i(j, "maxrss_kb", bench_maxrss_kb());
  put_ring(j, &x);
  bench_result_emit(j, NULL);
  return x.bad ? 1 : 0;
}
