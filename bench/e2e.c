/* gt-bench child: workload e2e, objects -> batches -> SMS backend ->
 * loopback TLS mock of Infobip (started by the driver, mock.c), timed from
 * the first allocation to the moment the mock has recorded SMS texts whose
 * counts add up to every object, collections and deliveries included.
 *
 * Mode `gt`: gt_malloc objects, gt.backend=sms against the mock, at
 * BENCH_E2E_RATE messages a minute, default batching. Mode `seed`: seed.c.
 * A run is exact when every count agrees: collected, the objects in the
 * recorded texts, and the messages gt counts as sent (for seed, the POSTs
 * answered 200) against the POSTs the mock recorded.
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
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "child.h"

/* gt_collect waits at most gt.collect_wait_ms for the counting; the flush
 * after it waits for the rest, bounded too. */
#define FLUSH_MS 10000
/* After the mock has every object: how long st.sent may lag behind. */
#define SENT_WAIT_S 10.0

typedef struct e2e_run {
  bool gt;
  uint64_t n;
  const char *record;
  long rec0;
  double t_init, t0, t_alloc, t_reported, t_delivered, window;
  uint64_t reported, reported_first, gcs, heap_end, messages, failed;
  int collections, flush_rc;
  bench_cpu c0, c1;
  sms_tally tl;
  gt_stats st;
} e2e_run;

static const char *need_env(const char *name) {
  const char *v = getenv(name);
  if (!v || !*v) {
    fprintf(stderr,
            "gt-bench child: e2e needs $%s; run it through the driver "
            "(gt-bench --workloads e2e), which starts the mock server\n",
            name);
    exit(2);
  }
  return v;
}

static void sleep_1ms(void) {
  struct timespec ts = {0, 1000000};
  nanosleep(&ts, NULL);
}

static void start_gt(const char *hostport, const char *ca) {
  char rate[32];
  snprintf(rate, sizeof rate, "%d", BENCH_E2E_RATE);
  const char *spool = getenv(BENCH_E2E_SPOOL_ENV);
  gt_options *o = bench_gt_options();
  bench_gt_set(o, "gt.backend", "sms");
  bench_gt_set(o, "sms.base_url", hostport);
  bench_gt_set(o, "sms.api_key", BENCH_E2E_KEY);
  bench_gt_set(o, "sms.to", BENCH_E2E_TO);
  bench_gt_set(o, "sms.ca_file", ca);
  bench_gt_set(o, "gt.rate_per_minute", rate);
  if (spool) bench_gt_set(o, "gt.spool_dir", spool);
  bench_gt_init(o);
}

/* Allocates n 24-byte objects (scanned, holding no pointer), each replacing
 * a slot of a 1024-entry keep set, so all die young; the thread exits
 * after, so no stale stack word of it keeps one alive. */
static void *alloc_thread(void *arg) {
  enum { K = 1024 };
  uint64_t n = *(const uint64_t *)arg;
  node **keep = bench_checked(GC_MALLOC(K * sizeof(node *)));
  for (uint64_t i = 0; i < n; i++) {
    node *p = bench_alloc(sizeof(node), 0);
    p->value = 2 * i + 1; /* isolated: no finalization order to respect */
    keep[i & (K - 1)] = p;
  }
  memset(keep, 0, K * sizeof(node *));
  return NULL;
}

static uint64_t reported_now(bool gt) {
  if (!gt) return atomic_load(&bench_reported);
  gt_stats st;
  gt_get_stats(&st);
  return st.collected;
}

/* Collects until every object is reported (bounded). */
static void collect_all(e2e_run *x, const bench_params *p) {
  bench_scrub_stack();
  for (int i = 0; i < p->final_collections && x->reported < x->n; i++) {
    if (x->gt) {
      gt_collect();
      x->flush_rc = gt_flush(FLUSH_MS);
    } else {
      GC_gcollect();
      while (GC_invoke_finalizers() > 0) {
      }
    }
    x->collections++;
    x->reported = reported_now(x->gt);
    if (i == 0) x->reported_first = x->reported;
  }
}

/* Delivered: the mock has recorded texts counting every reported object.
 * gt: the rate limiter may hold the last (merged) batch until its next
 * token, at most 60/rate s. */
static void wait_delivered(e2e_run *x) {
  double deadline = x->t_reported + 60.0 / BENCH_E2E_RATE + 10;
  for (;;) {
    bench_tally_record(x->record, x->rec0, &x->tl);
    if (x->tl.objects >= x->reported || bench_now_s() > deadline) break;
    sleep_1ms();
  }
}

static void read_messages(e2e_run *x) {
  memset(&x->st, 0, sizeof x->st);
  if (x->gt) gt_get_stats(&x->st);
  x->messages = x->gt ? x->st.sent : bench_seed_ok();
  x->failed = x->gt ? x->st.failed : bench_seed_failed();
}

/* The mock records a request before it replies, so the last POST can be in
 * the record while its sender still waits for the reply: the sent count
 * catches up a moment later. Wait for it (bounded) before judging. */
static void wait_sent(e2e_run *x) {
  double deadline = bench_now_s() + SENT_WAIT_S;
  for (;;) {
    read_messages(x);
    if (x->messages + x->failed >= x->tl.posts || bench_now_s() > deadline)
      break;
    sleep_1ms();
  }
}

static void timed(e2e_run *x, const bench_params *p) {
  uint64_t gc0 = GC_get_gc_no();
  bench_cpu_now(&x->c0);
  x->t0 = bench_now_s();
  pthread_t th;
  if (pthread_create(&th, NULL, alloc_thread, &x->n) != 0) bench_die("pthread");
  pthread_join(th, NULL);
  x->t_alloc = bench_now_s();
  collect_all(x, p);
  x->t_reported = bench_now_s();
  wait_delivered(x);
  x->t_delivered = bench_now_s();
  bench_cpu_now(&x->c1);
  x->gcs = GC_get_gc_no() - gc0;
  x->heap_end = GC_get_heap_size();
  bench_heap_sample();
  wait_sent(x);
  x->window = bench_now_s() - x->t_init;
}

/* NULL when every count agrees; else the first that does not, for the
 * driver's log ("FAILED: ..."). */
static const char *inexact(const e2e_run *x, char *buf, size_t n) {
  uint64_t allocated = x->gt ? x->st.allocated : x->n;
  const uint64_t got[] = {
      x->reported, x->tl.objects,  allocated, x->gt ? x->st.collected : x->n,
      x->messages, x->tl.unparsed, x->failed};
  const uint64_t want[] = {x->n, x->n, x->n, x->n, x->tl.posts, 0, 0};
  static const char *const what[] = {"reported",
                                     "objects in the recorded texts",
                                     "allocated",
                                     "collected",
                                     "messages sent (vs the POSTs recorded)",
                                     "texts not understood",
                                     "messages failed"};
  for (size_t k = 0; k < sizeof got / sizeof got[0]; k++) {
    if (got[k] != want[k]) {
      snprintf(buf, n, "not exact: %s %llu, expected %llu", what[k],
               (unsigned long long)got[k], (unsigned long long)want[k]);
      return buf;
    }
  }
  if (x->flush_rc != 0) {
    snprintf(buf, n, "not exact: gt_flush: %s", gt_strerror(x->flush_rc));
    return buf;
  }
  return NULL;
}

static void put_times(json_t *j, const e2e_run *x) {
  double wall = x->t_delivered - x->t0;
  bench_put_d(j, "wall_s", wall);
  bench_put_d(j, "alloc_s", x->t_alloc - x->t0);
  bench_put_d(j, "reported_s", x->t_reported - x->t0);
  bench_put_d(j, "delivered_s", wall);
  bench_put_cpu(j, &x->c0, &x->c1);
  bench_put_i(j, "maxrss_kb", bench_maxrss_kb());
  bench_put_u(j, "heap_bytes", x->heap_end);
  bench_put_u(j, "heap_peak_bytes", bench_heap_peak());
  bench_put_u(j, "gc_count", x->gcs);
  bench_put_u(j, "gc_warnings", bench_gc_warnings());
}

static void put_counts(json_t *j, const e2e_run *x) {
  double wall = x->t_delivered - x->t0, n = (double)x->n;
  bench_put_u(j, "allocated", x->gt ? x->st.allocated : x->n);
  bench_put_u(j, "tracked", x->n);
  bench_put_u(j, "reported_in_run", x->reported);
  bench_put_u(j, "reported_after_1_collect", x->reported_first);
  bench_put_u(j, "reported", x->reported);
  bench_put_i(j, "final_collections", x->collections);
  bench_put_u(j, "messages", x->messages);
  bench_put_u(j, "messages_failed", x->failed);
  bench_put_u(j, "mock_posts", x->tl.posts);
  bench_put_u(j, "mock_objects", x->tl.objects);
  bench_put_u(j, "mock_unparsed", x->tl.unparsed);
  bench_put_i(j, "rate_per_minute", x->gt ? BENCH_E2E_RATE : 0);
  bench_put_d(j, "rate_window_s", x->window);
  bench_put_d(j, "rate_allowance",
              x->gt ? BENCH_E2E_RATE + BENCH_E2E_RATE * x->window / 60.0 : 0);
  bench_put_round(j, "objects_per_s", n / wall);
  bench_put_round(j, "objects_per_s_reported", n / (x->t_reported - x->t0));
  bench_put_round(j, "events_per_s", n / wall);
}

int bench_run_e2e(int mode, int rep, const bench_params *p) {
  e2e_run x = {.gt = bench_modes[mode].gt_opts != NULL};
  const char *hostport = need_env(BENCH_E2E_URL_ENV);
  const char *ca = need_env(BENCH_E2E_CA_ENV);
  x.record = need_env(BENCH_E2E_RECORD_ENV);
  x.rec0 = bench_file_size(x.record); /* the children run one at a time */
  x.n = x.gt ? p->e2e_n : p->e2e_seed_n;

  bench_gc_start();
  x.t_init = bench_now_s(); /* the token bucket starts full at gt_init */
  bench_mode_begin(mode);
  if (x.gt)
    start_gt(hostport, ca);
  else
    bench_seed_open(hostport, ca);
  timed(&x, p);

  char why[160];
  const char *err = inexact(&x, why, sizeof why);
  bool ok = err == NULL;
  json_t *j = bench_result_new("e2e", bench_modes[mode].name, rep, ok);
  json_object_set_new(j, "exact", json_boolean(ok));
  if (err) json_object_set_new(j, "error", json_string(err));
  put_times(j, &x);
  put_counts(j, &x);
  bench_result_emit(j, x.gt ? &x.st : NULL);
  if (!x.gt) bench_seed_close();
  return ok ? 0 : 1;
}
