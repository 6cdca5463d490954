/* gt-bench driver: statistics over the children's results. The table
 * gives medians over the ok runs; ratios are the median of per-repetition
 * paired ratios (a mode against its base in the same round of the
 * interleaving), which is what survives a noisy shared machine.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

#define MAX_REPS 256

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, size_t n) {
  if (n == 0) return NAN;
  qsort(v, n, sizeof *v, cmp_d);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double bench_num(json_t *run, const char *key) {
  json_t *v = json_object_get(run, key);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

bool bench_run_ok(json_t *run) {
  return json_is_true(json_object_get(run, "ok"));
}

bool bench_run_is(json_t *run, const char *w, const char *m) {
  const char *rw = json_string_value(json_object_get(run, "workload"));
  const char *rm = json_string_value(json_object_get(run, "mode"));
  return rw && rm && !strcmp(rw, w) && !strcmp(rm, m);
}

/* Median of `key` over the ok runs of (w, m); *nok: how many. */
double bench_med(json_t *runs, const char *w, const char *m, const char *key,
                 size_t *nok) {
  double v[MAX_REPS];
  size_t n = 0, i;
  json_t *r;
  json_array_foreach(runs, i, r) {
    if (!bench_run_is(r, w, m) || !bench_run_ok(r) || n == MAX_REPS) continue;
    double x = bench_num(r, key);
    if (!isnan(x)) v[n++] = x;
  }
  if (nok) *nok = n;
  return median(v, n);
}

static json_t *find_run(json_t *runs, const char *w, const char *m, int rep) {
  size_t i;
  json_t *r;
  json_array_foreach(runs, i, r) {
    if (bench_run_is(r, w, m) &&
        json_integer_value(json_object_get(r, "rep")) == rep)
      return r;
  }
  return NULL;
}

/* A run of the measured mode counts if ok, or if it timed out: the timeout
 * is then a lower bound of its time. */
static bool usable(json_t *a) {
  if (bench_run_ok(a)) return true;
  const char *e = json_string_value(json_object_get(a, "error"));
  return e && !strcmp(e, "timeout");
}

/* Median over repetitions of the paired ratio key(m)/key(base) within the
 * same round of the interleaving. */
double bench_paired(json_t *runs, const char *w, const char *m,
                    const char *base, const char *key, int reps) {
  double v[MAX_REPS];
  size_t n = 0;
  for (int rep = 0; rep < reps && n < MAX_REPS; rep++) {
    json_t *a = find_run(runs, w, m, rep), *b = find_run(runs, w, base, rep);
    if (!a || !b || !bench_run_ok(b) || !usable(a)) continue;
    double x = bench_num(a, key), y = bench_num(b, key);
    if (!isnan(x) && !isnan(y) && y > 0) v[n++] = x / y;
  }
  return median(v, n);
}
