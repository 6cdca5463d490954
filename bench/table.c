/* gt-bench: the tables of bench.h as data both sides read (names, families,
 * what a mode reports), their look-ups, and the parameter defaults. The
 * child's and the driver's own columns (functions) are expanded where
 * those functions live: modes.c, workloads.c, report.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "bench.h"

const bench_workload bench_workloads[BW_COUNT] = {
#define WORKLOAD_ROW(id, name, family, body, describe)                         \
  [BW_##id] = {name, family},
    BENCH_WORKLOADS(WORKLOAD_ROW)
#undef WORKLOAD_ROW
};

const bench_mode bench_modes[BM_COUNT] = {
#define MODE_ROW(id, family, name, raw, track, alloc, setup, gt_opts, what)    \
  [BM_##id] = {name, family, BM_##raw, track, gt_opts, what},
    BENCH_MODES(MODE_ROW)
#undef MODE_ROW
};

enum { TYPE_int = 1, TYPE_u64 = 0 };
const bench_param_info bench_param_list[BP_COUNT] = {
#define PARAM_ROW(field, type, option, json)                                   \
  [BP_##field] = {option, json, offsetof(bench_params, field), TYPE_##type},
    BENCH_PARAMS(PARAM_ROW)
#undef PARAM_ROW
};

u64 bench_param_get(const bench_params *p, int i) {
  const char *f = (const char *)p + bench_param_list[i].offset;
  if (bench_param_list[i].is_int) return (u64)(long long)*(const int *)f;
  return *(const u64 *)f;
}

void bench_param_set(bench_params *p, int i, u64 v) {
  char *f = (char *)p + bench_param_list[i].offset;
  if (bench_param_list[i].is_int)
    *(int *)f = (int)v;
  else
    *(u64 *)f = v;
}

int bench_workload_find(const char *name) {
  for (int i = 0; i < BW_COUNT; i++)
    if (strcmp(bench_workloads[i].name, name) == 0) return i;
  return -1;
}

int bench_mode_find(bench_family f, const char *name) {
  for (int i = 0; i < BM_COUNT; i++)
    if (bench_modes[i].family == f && strcmp(bench_modes[i].name, name) == 0)
      return i;
  return -1;
}

void bench_params_default(bench_params *p) {
  p->depth = 16;
  p->thread_depth = 14;
  p->nthreads = 2;
  p->churn_n = 5000000;
  p->graph_n = 2000000;
  p->graph_size = 65536;
  p->ring_cap = 65536;
  p->ring_events = 50000000;
  p->final_collections = 24;
  /* gt: ~1.2 s of allocation and counting, delivered at the 2 s token;
   * seed: ~0.25 s of POSTs on loopback. */
  p->e2e_n = 40000000;
  p->e2e_seed_n = 1000;
}

void bench_params_quick(bench_params *p) {
  bench_params_default(p);
  p->depth = 12;
  p->thread_depth = 10;
  p->churn_n = 200000;
  p->graph_n = 200000;
  p->graph_size = 16384;
  p->ring_events = 4000000;
  /* the same ~1 s wall as 2 M (the last message waits for the 1 s token) */
  p->e2e_n = 10000000;
  p->e2e_seed_n = 200;
}

double bench_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
