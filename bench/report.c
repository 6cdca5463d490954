/* gt-bench driver: the tables on stdout, one per workload, and the summary
 * rows of the JSON (medians and ratios; plot.sh reads ratio_plain). The
 * workload's family picks the table; the modes' columns of BENCH_MODES say
 * which rows it has, what "x raw" compares and whether a mode reports
 * objects at all.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "driver.h"

/* ---- descriptions (BENCH_WORKLOADS' describe column) ------------------- */

typedef void describe_fn(const bench_params *p, char *buf, size_t n);

static void describe_trees(const bench_params *p, char *buf, size_t n) {
  snprintf(buf, n, "D=%d", p->depth);
}
static void describe_churn(const bench_params *p, char *buf, size_t n) {
  snprintf(buf, n, "%llu x 32 B, half pointer-free",
           (unsigned long long)p->churn_n);
}
static void describe_graph(const bench_params *p, char *buf, size_t n) {
  snprintf(buf, n, "%llu nodes in graphs of %llu, 3 random edges",
           (unsigned long long)p->graph_n, (unsigned long long)p->graph_size);
}
static void describe_threads(const bench_params *p, char *buf, size_t n) {
  snprintf(buf, n, "%d threads x trees D=%d", p->nthreads, p->thread_depth);
}
static void describe_pipeline(const bench_params *p, char *buf, size_t n) {
  snprintf(buf, n, "ring of %llu events, %llu events",
           (unsigned long long)p->ring_cap, (unsigned long long)p->ring_events);
}
static void describe_e2e(const bench_params *p, char *buf, size_t n) {
  snprintf(buf, n,
           "gt: %llu objects -> batches -> sms at %d/min; seed: %llu "
           "objects, one HTTPS POST each; TLS mock on 127.0.0.1",
           (unsigned long long)p->e2e_n, BENCH_E2E_RATE,
           (unsigned long long)p->e2e_seed_n);
}

static describe_fn *const describers[BW_COUNT] = {
#define DESCRIBE_ROW(id, name, family, body, describe) [BW_##id] = describe,
    BENCH_WORKLOADS(DESCRIBE_ROW)
#undef DESCRIBE_ROW
};

/* Adds keys[k] = v[k] to a summary row (NaN: null). */
static void put_all(json_t *row, const char *const *keys, const double *v,
                    size_t n) {
  for (size_t k = 0; k < n; k++)
    json_object_set_new(row, keys[k], bench_real(v[k]));
}

static json_t *summary_row(const char *w, const char *m, size_t nok) {
  return json_pack("{s:s,s:s,s:I}", "workload", w, "mode", m, "runs_ok",
                   (json_int_t)nok);
}

/* A list of (id, JSON key) as an enum of ids and an array of keys. */
#define KEY_ENUM(prefix, id, key) prefix##id,
#define KEY_NAME(prefix, id, key) [prefix##id] = key,
#define KEY_LIST(prefix, LIST)                                                 \
  enum { LIST(KEY_ENUM) prefix##COUNT };                                       \
  static const char *const prefix##keys[] = {LIST(KEY_NAME)}

/* ---- mutator workloads: every mode against plain and its raw mechanism -- */

/* Medians of a row; the summary has those before K_TRACKED, in order. */
#define ALLOC_KEYS(X)                                                          \
  X(K_, WALL, "wall_s")                                                        \
  X(K_, CPU, "cpu_s")                                                          \
  X(K_, HEAP, "heap_peak_bytes")                                               \
  X(K_, RSS, "maxrss_kb")                                                      \
  X(K_, GCS, "gc_count")                                                       \
  X(K_, ALLOC, "allocated")                                                    \
  X(K_, IN_RUN, "reported_in_run")                                             \
  X(K_, REPORTED, "reported")                                                  \
  X(K_, FINAL, "final_collections")                                            \
  X(K_, MSGS, "messages")                                                      \
  X(K_, TRACKED, "tracked")
KEY_LIST(K_, ALLOC_KEYS);

/* Ratios, computed; in the summary after the medians. */
#define RATIO_KEYS(X)                                                          \
  X(R_, PLAIN, "ratio_plain")                                                  \
  X(R_, CPU, "ratio_plain_cpu")                                                \
  X(R_, HEAP, "ratio_heap_plain")                                              \
  X(R_, OPS, "objects_per_s")
KEY_LIST(R_, RATIO_KEYS);

typedef struct alloc_row {
  size_t n;
  double v[K_COUNT];
  double r[R_COUNT];
  double r_raw; /* NaN: no raw mode, or not run */
} alloc_row;

static void measure_row(const bench_ctx *c, const char *w, int m,
                        alloc_row *row) {
  const char *name = bench_modes[m].name, *plain = bench_modes[BM_PLAIN].name;
  int reps = c->o->reps, raw = bench_modes[m].raw;
  for (int k = 0; k < K_COUNT; k++)
    row->v[k] = bench_med(c->runs, w, name, K_keys[k], k ? NULL : &row->n);
  double heap_plain = bench_med(c->runs, w, plain, "heap_peak_bytes", NULL);
  row->r[R_PLAIN] = bench_paired(c->runs, w, name, plain, "wall_s", reps);
  row->r[R_CPU] = bench_paired(c->runs, w, name, plain, "cpu_s", reps);
  row->r[R_HEAP] = row->v[K_HEAP] / heap_plain;
  row->r[R_OPS] = row->v[K_ALLOC] / row->v[K_WALL];
  row->r_raw = raw != BM_NONE && bench_mode_selected(c->o, raw)
                   ? bench_paired(c->runs, w, name, bench_modes[raw].name,
                                  "wall_s", reps)
                   : NAN;
}

static void print_row(const bench_ctx *c, int m, const alloc_row *row) {
  const double *v = row->v;
  bool notif = bench_modes[m].track != TRACK_NONE;
  double denom = v[K_TRACKED] > 0 ? v[K_TRACKED] : v[K_ALLOC];
  printf("%-19s %8.3f %8.2f %8.2f %7.3f %8.2f %8.1f %8.2f %5.0f %11.0f "
         "%7.2f %7.2f %8.0f %7.2f%s\n",
         bench_modes[m].name, v[K_WALL], row->r[R_PLAIN], row->r_raw, v[K_CPU],
         row->r[R_CPU], v[K_HEAP] / 1048576.0, row->r[R_HEAP], v[K_RSS] / 1024,
         v[K_ALLOC], notif ? 100.0 * v[K_IN_RUN] / denom : NAN,
         notif ? 100.0 * v[K_REPORTED] / denom : NAN, v[K_MSGS],
         row->r[R_OPS] / 1e6,
         row->n < (size_t)c->o->reps ? "  (some runs failed)" : "");
}

/* "x raw: gt vs disclaim; gt-finalizer, gt-watch vs ...": modes that wrap
 * the same mechanism one after the other share a clause. */
static void print_raw_note(bench_family f) {
  char note[512] = "x raw:";
  size_t len = strlen(note);
  for (int m = 0; m < BM_COUNT && len < sizeof note; m++) {
    int raw = bench_modes[m].raw;
    if (bench_modes[m].family != f || raw == BM_NONE) continue;
    bool last = m + 1 == BM_COUNT || bench_modes[m + 1].raw != raw;
    len += (size_t)snprintf(note + len, sizeof note - len, " %s%s%s%s",
                            bench_modes[m].name, last ? " vs " : ",",
                            last ? bench_modes[raw].name : "", last ? ";" : "");
  }
  if (len < sizeof note && note[len - 1] == ';') note[len - 1] = '.';
  printf("%s\n", note);
}

/* Leak modes: ns per gt_expect_release and gt_release on live objects
 * (modes.c times them after each run), into the mode's summary row and
 * printed under the table. */
#define LEAK_CALL_KEYS(X)                                                      \
  X(L_, EXPECT, "expect_release_ns")                                           \
  X(L_, RELEASE, "release_ns")
KEY_LIST(L_, LEAK_CALL_KEYS);

static void leak_calls(bench_ctx *c, const char *w, int m, json_t *s,
                       char *line, size_t cap) {
  if (m != BM_GT_LEAK && m != BM_GT_LEAK_128) return;
  double v[L_COUNT];
  for (int k = 0; k < L_COUNT; k++)
    v[k] = bench_med(c->runs, w, bench_modes[m].name, L_keys[k], NULL);
  put_all(s, L_keys, v, L_COUNT);
  size_t len = strlen(line);
  snprintf(line + len, cap - len,
           "%s: gt_expect_release %.1f ns, gt_release %.1f ns per call\n",
           bench_modes[m].name, v[L_EXPECT], v[L_RELEASE]);
}

static void report_alloc(bench_ctx *c, int wl) {
  const char *w = bench_workloads[wl].name;
  printf("%-19s %8s %8s %8s %7s %8s %8s %8s %5s %11s %7s %7s %8s %7s\n", "mode",
         "wall s", "x plain", "x raw", "cpu s", "x plain", "heap MB", "x plain",
         "RSS", "allocated", "run %", "final%", "messages", "Mobj/s");
  char calls[256] = "";
  for (int m = 0; m < BM_COUNT; m++) {
    if (bench_modes[m].family != BENCH_ALLOC || !bench_mode_selected(c->o, m))
      continue;
    alloc_row row;
    measure_row(c, w, m, &row);
    print_row(c, m, &row);
    json_t *s = summary_row(w, bench_modes[m].name, row.n);
    put_all(s, K_keys, row.v, K_TRACKED);
    put_all(s, R_keys, row.r, R_COUNT);
    if (bench_modes[m].raw != BM_NONE) {
      json_object_set_new(s, "raw",
                          json_string(bench_modes[bench_modes[m].raw].name));
      json_object_set_new(s, "ratio_raw", bench_real(row.r_raw));
    }
    leak_calls(c, w, m, s, calls, sizeof calls);
    json_array_append_new(c->summary, s);
  }
  print_raw_note(BENCH_ALLOC);
  fputs(calls, stdout);
  printf("run %%: objects reported by the end of the timed run; final%%: "
         "after forced collections; both of the objects tracked\n"
         "(gt-sample-alloc: 1 in 1000).\n");
}

/* ---- pipeline: the ring alone -------------------------------------------- */

/* The summary has those before RING_CONC_GROWTH. */
#define RING_KEYS(X)                                                           \
  X(RING_, PUSH, "push_ns")                                                    \
  X(RING_, POP, "pop_ns")                                                      \
  X(RING_, DRAIN, "drain_events_per_s")                                        \
  X(RING_, CONC, "concurrent_events_per_s")                                    \
  X(RING_, BYTES, "ring_bytes")                                                \
  X(RING_, GROWTH, "rss_growth_after_first_round_kb")                          \
  X(RING_, CONC_GROWTH, "rss_growth_concurrent_kb")
KEY_LIST(RING_, RING_KEYS);

static void report_ring(bench_ctx *c, int wl) {
  const char *w = bench_workloads[wl].name, *m = bench_modes[BM_RING].name;
  double v[RING_COUNT];
  size_t n;
  for (int k = 0; k < RING_COUNT; k++)
    v[k] = bench_med(c->runs, w, m, RING_keys[k], k ? NULL : &n);
  printf("push %.2f ns/event, pop %.2f ns/event, drain %.1f M events/s, "
         "producer+consumer threads %.1f M events/s\n"
         "ring %.0f KiB; RSS growth over the fill/drain rounds after the "
         "first %.0f KiB (memory fixed by the ring size: %s); "
         "during the 2-thread phase %.0f KiB (thread stack)\n",
         v[RING_PUSH], v[RING_POP], v[RING_DRAIN] / 1e6, v[RING_CONC] / 1e6,
         v[RING_BYTES] / 1024, v[RING_GROWTH],
         v[RING_GROWTH] <= 64 ? "yes" : "no", v[RING_CONC_GROWTH]);
  json_t *s = summary_row(w, m, n);
  put_all(s, RING_keys, v, RING_CONC_GROWTH);
  json_array_append_new(c->summary, s);
}

/* ---- e2e: objects to SMS texts --------------------------------------------
 */

/* Table columns and summary keys, in the summary's order. */
#define E2E_KEYS(X)                                                            \
  X(E_, WALL, "wall_s")                                                        \
  X(E_, COUNTED, "reported_s")                                                 \
  X(E_, ALLOC, "allocated")                                                    \
  X(E_, REPORTED, "reported")                                                  \
  X(E_, IN_SMS, "mock_objects")                                                \
  X(E_, POSTS, "mock_posts")                                                   \
  X(E_, MSGS, "messages")                                                      \
  X(E_, OPS, "objects_per_s")                                                  \
  X(E_, OPS_COUNTED, "objects_per_s_reported")                                 \
  X(E_, ALLOWANCE, "rate_allowance")
KEY_LIST(E_, E2E_KEYS);

static void report_e2e_mode(bench_ctx *c, const char *w, int m) {
  const char *name = bench_modes[m].name;
  size_t n, nexact = 0, nruns = 0, i;
  json_t *r;
  json_array_foreach(c->runs, i, r) {
    if (!bench_run_is(r, w, name)) continue;
    nruns++;
    nexact += json_is_true(json_object_get(r, "exact"));
  }
  double v[E_COUNT];
  for (int k = 0; k < E_COUNT; k++)
    v[k] = bench_med(c->runs, w, name, E_keys[k], k ? NULL : &n);
  bool rated = bench_modes[m].gt_opts != NULL; /* seed has no bucket */
  if (!rated) v[E_ALLOWANCE] = NAN;
  char allow[32] = "-";
  if (rated) snprintf(allow, sizeof allow, "%.1f", v[E_ALLOWANCE]);
  printf("%-6s %8.3f %9.3f %10.0f %10.0f %10.0f %7.0f %8.0f %7s "
         "%10.0f %10.0f %3zu/%zu%s\n",
         name, v[E_WALL], v[E_COUNTED], v[E_ALLOC], v[E_REPORTED], v[E_IN_SMS],
         v[E_POSTS], v[E_MSGS], allow, v[E_OPS], v[E_OPS_COUNTED], nexact,
         nruns, n < nruns ? "  (some runs failed)" : "");
  json_t *s = summary_row(w, name, n);
  json_object_set_new(s, "runs_exact", json_integer((json_int_t)nexact));
  put_all(s, E_keys, v, E_COUNT);
  json_array_append_new(c->summary, s);
}

static void report_e2e(bench_ctx *c, int wl) {
  if (c->e2e_skip || !bench_family_selected(c->o, BENCH_E2E)) {
    printf("SKIPPED: %s\n", c->e2e_skip ? c->e2e_skip : "no e2e mode selected");
    return;
  }
  printf("%-6s %8s %9s %10s %10s %10s %7s %8s %7s %10s %10s %6s\n", "mode",
         "wall s", "counted s", "objects", "collected", "in SMS", "POSTs",
         "messages", "allowed", "obj/s", "counted/s", "exact");
  for (int m = 0; m < BM_COUNT; m++)
    if (bench_modes[m].family == BENCH_E2E && bench_mode_selected(c->o, m))
      report_e2e_mode(c, bench_workloads[wl].name, m);
  printf("wall: first allocation to the mock having recorded SMS texts "
         "whose counts add up to every object (gt: the last, merged "
         "batch waits for a token of the %d/min bucket);\n"
         "counted s: to every object collected and counted (gt_collect + "
         "gt_flush; seed: its finalizers, i.e. its POSTs, done); "
         "obj/s = objects / wall, counted/s = objects / counted s;\n"
         "allowed: messages the bucket allows "
         "(%d + %d/min x time since gt_init).\n",
         BENCH_E2E_RATE, BENCH_E2E_RATE, BENCH_E2E_RATE);
}

void bench_report(bench_ctx *c) {
  char desc[160];
  for (int wl = 0; wl < BW_COUNT; wl++) {
    if (!bench_workload_selected(c->o, wl)) continue;
    describers[wl](&c->o->p, desc, sizeof desc);
    printf("\n== %s (%s), median of %d ==\n", bench_workloads[wl].name, desc,
           c->o->reps);
    switch (bench_workloads[wl].family) {
    case BENCH_ALLOC:
      report_alloc(c, wl);
      break;
    case BENCH_RING:
      report_ring(c, wl);
      break;
    case BENCH_E2E:
      report_e2e(c, wl);
      break;
    }
  }
}
