/* gt-bench child: one workload under one mode, in a fresh process (gt_init
 * runs once per process and bdwgc state persists, so every measurement gets
 * its own). Prints exactly one JSON object on stdout (result.c). This file
 * dispatches by the workload's family and runs the mutator workloads.
 *
 * Timed section: the workload only (gt_init / GC_INIT before it), in its
 * own registered thread. After it, an untimed "final" phase forces
 * collections until the number of reported objects stops growing, so
 * "reported" says how many objects the mechanism reported at all, and
 * "reported_in_run" how many it had reported by the end of the timed
 * section.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#ifndef GC_THREADS
#define GC_THREADS
#endif
#include <gc/gc.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "child.h"

/* Options every gt mode of the mutator workloads gets: the log backend
 * writing to /dev/null, and no rate limit to speak of, so every batch is
 * rendered and "sent". */
static const char *const g_gt_base_opts =
    "gt.backend=log;log.path=/dev/null;gt.rate_per_minute=100000000;"
    "gt.daily_cap=0";

/* How long the final phase lets gt finish counting after each gt_collect,
 * which waits at most gt.collect_wait_ms. */
#define FLUSH_MS 10000

typedef struct workload_arg {
  int wl;
  const bench_params *p;
  uint64_t allocated;
} workload_arg;

static void *workload_thread(void *arg) {
  workload_arg *wa = arg;
  wa->allocated = bench_workload_run(wa->wl, wa->p);
  return NULL;
}

static uint64_t reported_now(bool gt) {
  if (!gt) return atomic_load(&bench_reported);
  gt_stats st;
  gt_get_stats(&st);
  return st.collected;
}

typedef struct alloc_run {
  bool gt;
  uint64_t allocated, gcs, heap_end, reported_in_run;
  uint64_t reported_first, reported; /* after the final collections */
  int collections;
  double wall, final_s;
  long rss_run;
  bench_cpu c0, c1;
} alloc_run;

/* The timed section. The workload runs in its own (registered) thread:
 * once it has exited, no stale register or stack word of it can keep
 * objects alive, so the final collections can expect every object dead. */
static void timed(alloc_run *x, int wl, const bench_params *p) {
  uint64_t gc0 = GC_get_gc_no();
  bench_cpu_now(&x->c0);
  double t0 = bench_now_s();
  workload_arg wa = {.wl = wl, .p = p};
  pthread_t th;
  if (pthread_create(&th, NULL, workload_thread, &wa) != 0)
    bench_die("pthread");
  pthread_join(th, NULL);
  x->allocated = wa.allocated;
  x->wall = bench_now_s() - t0;
  bench_cpu_now(&x->c1);
  x->gcs = GC_get_gc_no() - gc0;
  x->reported_in_run = reported_now(x->gt);
  x->heap_end = GC_get_heap_size();
  bench_heap_sample();
  x->rss_run = bench_maxrss_kb();
}

/* Untimed: make the mechanism report what it can, until the count is the
 * same after two more collections. gt_collect waits for the counting at
 * most gt.collect_wait_ms; gt_flush waits for the rest. */
static void final_collections(alloc_run *x, const bench_params *p) {
  bench_scrub_stack();
  double f0 = bench_now_s();
  uint64_t last = reported_now(x->gt);
  int stable = 0;
  for (int i = 0; i < p->final_collections && stable < 2; i++) {
    if (x->gt) {
      gt_collect();
      gt_flush(FLUSH_MS);
    } else {
      GC_gcollect();
      GC_invoke_finalizers();
    }
    x->collections++;
    uint64_t now = reported_now(x->gt);
    if (i == 0) x->reported_first = now;
    stable = now == last ? stable + 1 : 0;
    last = now;
  }
  x->reported = last;
  x->final_s = bench_now_s() - f0;
}

static void put_alloc(json_t *j, const alloc_run *x, uint64_t tracked,
                      const gt_stats *st) {
  bench_put_d(j, "wall_s", x->wall);
  bench_put_cpu(j, &x->c0, &x->c1);
  bench_put_i(j, "maxrss_kb", x->rss_run);
  bench_put_u(j, "heap_bytes", x->heap_end);
  bench_put_u(j, "heap_peak_bytes", bench_heap_peak());
  bench_put_u(j, "gc_count", x->gcs);
  bench_put_u(j, "gc_warnings", bench_gc_warnings());
  bench_put_u(j, "allocated", x->allocated);
  bench_put_u(j, "tracked", tracked);
  bench_put_u(j, "reported_in_run", x->reported_in_run);
  bench_put_u(j, "reported_after_1_collect", x->reported_first);
  bench_put_u(j, "reported", x->reported);
  bench_put_i(j, "final_collections", x->collections);
  bench_put_d(j, "final_s", x->final_s);
  bench_put_round(j, "events_per_s", (double)x->reported_in_run / x->wall);
  bench_put_u(j, "messages", st->sent);
}

static void start_gt(int mode) {
  gt_options *o = bench_gt_options();
  bench_gt_set_list(o, g_gt_base_opts);
  bench_gt_set_list(o, bench_modes[mode].gt_opts);
  bench_gt_init(o);
}

/* NULL when the counts are possible; else why not. */
static const char *impossible(const alloc_run *x, int mode, uint64_t tracked,
                              const gt_stats *st, char *buf, size_t n) {
  if (x->reported > tracked) {
    snprintf(buf, n, "reported %llu of %llu tracked: some twice",
             (unsigned long long)x->reported, (unsigned long long)tracked);
    return buf;
  }
  if (x->gt && bench_modes[mode].track == TRACK_ALL &&
      st->allocated != x->allocated) {
    snprintf(buf, n, "gt counted %llu allocations of %llu",
             (unsigned long long)st->allocated,
             (unsigned long long)x->allocated);
    return buf;
  }
  return NULL;
}

static int run_alloc(int wl, int mode, int rep, const bench_params *p) {
  alloc_run x = {.gt = bench_modes[mode].gt_opts != NULL};
  bench_gc_start();
  bench_mode_begin(mode);
  if (x.gt) start_gt(mode);
  timed(&x, wl, p);
  final_collections(&x, p);

  gt_stats st;
  memset(&st, 0, sizeof st);
  if (x.gt) gt_get_stats(&st);
  /* objects the mechanism was asked to report (gt-sample-alloc: 1 in M) */
  uint64_t tracked = x.gt ? st.tracked : x.allocated;
  char why[160];
  const char *err = impossible(&x, mode, tracked, &st, why, sizeof why);
  json_t *j = bench_result_new(bench_workloads[wl].name, bench_modes[mode].name,
                               rep, err == NULL);
  if (err) json_object_set_new(j, "error", json_string(err));
  put_alloc(j, &x, tracked, &st);
  if (mode == BM_GT_LEAK || mode == BM_GT_LEAK_128) bench_leak_micro(j);
  bench_result_emit(j, x.gt ? &st : NULL);
  return err ? 1 : 0;
}

int bench_child(const char *workload, const char *mode, int rep,
                const bench_params *p) {
  int wl = bench_workload_find(workload);
  if (wl < 0) bench_die("unknown workload");
  bench_family f = bench_workloads[wl].family;
  int m = bench_mode_find(f, mode);
  if (m < 0) bench_die("unknown mode for this workload");
  switch (f) {
  case BENCH_ALLOC:
    return run_alloc(wl, m, rep, p);
  case BENCH_RING:
    return bench_run_pipeline(rep, p);
  case BENCH_E2E:
    return bench_run_e2e(m, rep, p);
  }
  return 2;
}
