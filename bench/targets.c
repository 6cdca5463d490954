/* gt-bench driver: the targets of issue 5 (PASS/MISS, never the exit
 * status: timing is not a test) and the exact-count check of the gt modes
 * (the exit status of --smoke). Targets are one table; a target is shown
 * when its workload ran and its modes were selected.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "driver.h"

typedef enum target_kind {
  T_PAIRED,    /* median paired ratio key(mode) / key(base) */
  T_MED_RATIO, /* median key(mode) / median key(base) */
  T_MED,       /* median key(mode) / scale */
  T_EXACT,     /* fraction of the mode's runs with "exact" true */
  T_WORST_RATE /* the highest messages / rate_allowance of the mode's runs */
} target_kind;

typedef struct target {
  int workload;
  const char *name;
  target_kind kind;
  int mode, base;
  const char *key;
  double scale, limit;
  bool upper; /* value must be <= limit (else >=) */
} target;

static const target targets[] = {
    {BW_TREES, "trees: gt <= 1.3x plain (time)", T_PAIRED, BM_GT, BM_PLAIN,
     "wall_s", 1, 1.3, true},
    {BW_TREES, "trees: gt-finalizer <= 1.10x finalizer-no-order", T_PAIRED,
     BM_GT_FINALIZER, BM_FINALIZER_NO_ORDER, "wall_s", 1, 1.10, true},
    {BW_TREES, "trees: gt-watch <= 1.10x finalizer-no-order", T_PAIRED,
     BM_GT_WATCH, BM_FINALIZER_NO_ORDER, "wall_s", 1, 1.10, true},
    {BW_TREES, "trees: gt-leak <= 1.05x gt (every node marked)", T_PAIRED,
     BM_GT_LEAK, BM_GT, "wall_s", 1, 1.05, true},
    {BW_TREES, "trees: gt peak heap <= 1.2x plain", T_MED_RATIO, BM_GT,
     BM_PLAIN, "heap_peak_bytes", 1, 1.2, true},
    {BW_PIPELINE, "pipeline: push <= 20 ns/event", T_MED, BM_RING, BM_NONE,
     "push_ns", 1, 20, true},
    {BW_PIPELINE, "pipeline: drain >= 20 M events/s", T_MED, BM_RING, BM_NONE,
     "drain_events_per_s", 1e6, 20, false},
    {BW_E2E, "e2e: gt runs with exact counts (fraction)", T_EXACT, BM_E2E_GT,
     BM_NONE, NULL, 1, 1, false},
    {BW_E2E, "e2e: gt >= 1 M objects/s, collected+delivered", T_MED, BM_E2E_GT,
     BM_NONE, "objects_per_s", 1e6, 1, false},
    {BW_E2E, "e2e: gt messages / rate allowance (worst run)", T_WORST_RATE,
     BM_E2E_GT, BM_NONE, NULL, 1, 1, true},
    {BW_E2E, "e2e: gt objects/s >= 1000x seed", T_PAIRED, BM_E2E_GT, BM_SEED,
     "objects_per_s", 1, 1000, false},
};

/* T_EXACT and T_WORST_RATE: over every run of (w, m), ok or not. */
static double over_runs(json_t *runs, const char *w, const char *m,
                        target_kind kind) {
  size_t n = 0, nexact = 0, i;
  double worst = NAN;
  json_t *r;
  json_array_foreach(runs, i, r) {
    if (!bench_run_is(r, w, m)) continue;
    n++;
    nexact += json_is_true(json_object_get(r, "exact"));
    double q = bench_num(r, "messages") / bench_num(r, "rate_allowance");
    if (!isnan(q) && (isnan(worst) || q > worst)) worst = q;
  }
  if (kind == T_WORST_RATE) return worst;
  return n ? (double)nexact / (double)n : NAN;
}

static double target_value(const bench_ctx *c, const target *t) {
  const char *w = bench_workloads[t->workload].name;
  const char *m = bench_modes[t->mode].name;
  const char *b = t->base == BM_NONE ? NULL : bench_modes[t->base].name;
  switch (t->kind) {
  case T_PAIRED:
    return bench_paired(c->runs, w, m, b, t->key, c->o->reps);
  case T_MED_RATIO:
    return bench_med(c->runs, w, m, t->key, NULL) /
           bench_med(c->runs, w, b, t->key, NULL);
  case T_MED:
    return bench_med(c->runs, w, m, t->key, NULL) / t->scale;
  case T_EXACT:
  case T_WORST_RATE:
    return over_runs(c->runs, w, m, t->kind);
  }
  return NAN;
}

static bool target_shown(const bench_ctx *c, const target *t) {
  if (!bench_workload_selected(c->o, t->workload)) return false;
  if (t->workload == BW_E2E && c->e2e_skip) return false;
  bool mode = bench_mode_selected(c->o, t->mode);
  return mode && (t->base == BM_NONE || bench_mode_selected(c->o, t->base));
}

void bench_targets(bench_ctx *c) {
  printf("\n== targets ==\n");
  json_t *jt = json_array();
  for (size_t k = 0; k < sizeof targets / sizeof targets[0]; k++) {
    const target *t = &targets[k];
    if (!target_shown(c, t)) continue;
    double v = target_value(c, t);
    const char *verdict = isnan(v)                                     ? "N/A"
                          : (t->upper ? v <= t->limit : v >= t->limit) ? "PASS"
                                                                       : "MISS";
    printf("%-4s %-50s %8.3f (limit %g)\n", verdict, t->name, v, t->limit);
    json_array_append_new(jt, json_pack("{s:s,s:o,s:f,s:s}", "target", t->name,
                                        "value", bench_real(v), "limit",
                                        t->limit, "verdict", verdict));
  }
  json_object_set_new(c->root, "targets", jt);
}

/* A gt mode that tracks every object must report every one after
 * gt_collect. */
static bool counted_exactly(json_t *r) {
  const char *w = json_string_value(json_object_get(r, "workload"));
  const char *m = json_string_value(json_object_get(r, "mode"));
  int wl = w ? bench_workload_find(w) : -1;
  int mode = wl < 0 || !m ? -1 : bench_mode_find(bench_workloads[wl].family, m);
  return mode >= 0 && bench_modes[mode].gt_opts &&
         bench_modes[mode].track == TRACK_ALL;
}

int bench_counts(bench_ctx *c) {
  int fail = 0;
  size_t i;
  json_t *r;
  printf("\n== counts (gt modes: reported after gt_collect vs allocated) ==\n");
  json_array_foreach(c->runs, i, r) {
    if (!counted_exactly(r)) continue;
    double a = bench_num(r, "allocated"), rep = bench_num(r, "reported");
    double first = bench_num(r, "reported_after_1_collect");
    bool ok = bench_run_ok(r);
    if (ok && a == rep) continue;
    printf("%-8s %-13s rep %lld: allocated %.0f, reported %.0f (%.0f after "
           "the first gt_collect)%s\n",
           json_string_value(json_object_get(r, "workload")),
           json_string_value(json_object_get(r, "mode")),
           (long long)json_integer_value(json_object_get(r, "rep")), a, rep,
           first, ok ? "" : " FAILED");
    /* a handful may stay reachable from stale stack words (conservative
     * scanning); more than 0.1% is a failure */
    if (!ok || isnan(rep) || rep < a * 0.999 || rep > a) fail++;
  }
  if (!fail) printf("all gt runs within 0.1%% of exact\n");
  return fail;
}
