/* gt-bench child: the one JSON line a child prints, built with jansson.
 * The driver reads the last line starting with '{'; the field names are
 * those of docs/benchmarks.md and the driver's tables (report.c). Counts
 * are integers, times and ratios reals; a rate printed as a whole number
 * before jansson stays an integer (bench_put_round). gt's counters go under
 * "gt", one per field of GT_STATS.
 */
#include <math.h>
#include <stdio.h>

#include "child.h"

json_t *bench_result_new(const char *workload, const char *mode, int rep,
                         bool ok) {
  json_t *r = json_pack("{s:s,s:s,s:i,s:b}", "workload", workload, "mode", mode,
                        "rep", rep, "ok", ok);
  if (!r) bench_die("out of memory");
  return r;
}

void bench_put_u(json_t *r, const char *key, uint64_t v) {
  json_object_set_new(r, key, json_integer((json_int_t)v));
}

void bench_put_i(json_t *r, const char *key, long long v) {
  json_object_set_new(r, key, json_integer((json_int_t)v));
}

/* NaN and infinities are not JSON: null */
void bench_put_d(json_t *r, const char *key, double v) {
  json_object_set_new(r, key, isfinite(v) ? json_real(v) : json_null());
}

void bench_put_round(json_t *r, const char *key, double v) {
  json_object_set_new(
      r, key, isfinite(v) ? json_integer((json_int_t)llround(v)) : json_null());
}

void bench_put_cpu(json_t *r, const bench_cpu *t0, const bench_cpu *t1) {
  double user = t1->user - t0->user, sys = t1->sys - t0->sys;
  bench_put_d(r, "cpu_s", user + sys);
  bench_put_d(r, "user_s", user);
  bench_put_d(r, "sys_s", sys);
}

static json_t *stats_json(const gt_stats *st) {
  json_t *g = json_object();
#define STATS_FIELD(field, who, meaning)                                       \
  json_object_set_new(g, #field, json_integer((json_int_t)st->field));
  GT_STATS(STATS_FIELD)
#undef STATS_FIELD
  return g;
}

void bench_result_emit(json_t *r, const gt_stats *st) {
  if (st) json_object_set_new(r, "gt", stats_json(st));
  if (json_dumpf(r, stdout, JSON_COMPACT) != 0)
    fprintf(stderr, "gt-bench child: cannot write the result\n");
  fputc('\n', stdout);
  json_decref(r);
  fclose(stdout);
  if (!st) return;
  int rc = gt_shutdown(10000);
  if (rc != 0)
    fprintf(stderr, "gt-bench child: gt_shutdown: %s (%s)\n", gt_strerror(rc),
            gt_last_error());
}
