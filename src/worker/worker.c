/* The worker: one thread, never registered with the collector and never
 * touching collected memory. It drains the ring, counts every object
 * exactly (ring events plus per-site overflow counters), samples every
 * Nth, closes batches by size, window or request, and hands each closed
 * batch to every sink (delivery.c). It never waits on I/O, so counting
 * keeps up however slow a server is.
 *
 * Flush tickets: gt_flush and gt_collect take a ticket; the worker, once
 * it has drained and closed the batch, passes the ticket to each sink
 * after that batch, and a sink marks it done once the batch before it is
 * delivered, held or spooled. A waiter waits for its ticket with a
 * deadline, never longer. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "gc/gcctx.h"
#include "intern.h"
#include "stats.h"
#include "worker/sample.h"
#include "worker/symbols.h"
#include "worker/worker.h"

#define POLL_MS 5 /* producers cannot signal, so an idle worker polls */
/* A site's overflow counters: collected (count, bytes), freed, unreleased
 * (count, bytes); intern.h. */
enum { OV_COUNT, OV_BYTES, OV_FREED, OV_UNREL, OV_UNREL_BYTES, NOV };

static struct {
  pthread_mutex_t mu;
  pthread_cond_t wake, done_cv;
  bool running, stop, exited; /* under mu */
  uint64_t req, done;         /* flush tickets, under mu; never reset */
  pthread_t thread;
  gt_config *cfg;
  gt_sink **sinks;
  int nsinks;
  /* the worker thread's */
  gt_batch batch;
  gt_sampler sampler;
  int64_t batch_deadline;
  int64_t wall_ms;   /* read once per pass: one clock call, not one per event */
  uint64_t *ov_seen; /* per site, overflow already counted: NOV counters */
  uint32_t ov_cap;
  uint64_t reserved_seen[GT_OTHER_SITE - GT_FIRST_RESERVED + 1][NOV];
} W = {.mu = PTHREAD_MUTEX_INITIALIZER};

static pthread_once_t conds_once = PTHREAD_ONCE_INIT;
static void init_conds(void) {
  gt__cond_init(&W.wake);
  gt__cond_init(&W.done_cv);
}

/* ---- counting ----------------------------------------------------------- */

/* Only the worker writes these, so a relaxed load and store is enough and
 * costs no locked instruction. */
static void add(_Atomic uint64_t *c, uint64_t n) {
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                        memory_order_relaxed);
}

static void count_site(const gt_event *ev, uint64_t n, uint64_t bytes) {
  gt_site *s = gt__site(ev->site);
  if (ev->kind == GT_EV_FREED) {
    add(&s->freed, n);
    return;
  }
  add(&s->collected, n);
  add(&s->bytes, bytes);
  if (ev->flags & GT_EVF_UNRELEASED) {
    add(&s->unreleased, n);
    add(&s->unreleased_bytes, bytes);
  }
}

static void close_batch(void) {
  if (gt__batch_empty(&W.batch)) return;
  W.batch.seq = gt__counter(GT_C_batches) + 1;
  W.batch.scale = W.cfg->alloc_sample_every;
  W.batch.leak_scale = W.cfg->leak_sample_every;
  W.batch.unreleased_only = W.cfg->report == GT_REPORT_UNRELEASED;
  gt__count(GT_C_batches, 1);
  for (int i = 0; i < W.nsinks; i++)
    gt__sink_offer(W.sinks[i], &W.batch, i == W.nsinks - 1);
  gt__batch_reset(&W.batch);
}

/* Whether ev's objects become notifications: with gt.report=unreleased
 * only leaks do; the others are counted all the same. */
static bool notified(const gt_event *ev) {
  return W.cfg->report == GT_REPORT_ALL ||
         (ev->kind == GT_EV_COLLECTED && (ev->flags & GT_EVF_UNRELEASED));
}

/* Objects counted in the statistics only (gt.report=unreleased). */
static void count_only(const gt_event *ev, uint64_t n, uint64_t bytes) {
  if (ev->kind == GT_EV_FREED) {
    gt__count(GT_C_freed, n);
  } else {
    gt__count(GT_C_collected, n);
    gt__count(GT_C_bytes, bytes);
  }
  count_site(ev, n, bytes);
}

/* Counts n objects described by ev; `bytes` is their total size. */
static void process_run(const gt_event *ev, uint64_t n, uint64_t bytes,
                        int64_t now) {
  if (ev->kind == GT_EV_COLLECTED && (ev->flags & GT_EVF_UNRELEASED))
    gt__count(GT_C_unreleased, n); /* in either report mode */
  if (!notified(ev)) {
    count_only(ev, n, bytes);
    return;
  }
  if (gt__batch_empty(&W.batch)) {
    W.batch_deadline = now + (int64_t)W.cfg->batch_window_ms;
    W.batch.first_wall_ms = W.wall_ms;
  }
  W.batch.last_wall_ms = W.wall_ms;
  gt_event run = *ev;
  run.size = bytes;
  if (ev->kind == GT_EV_FREED) {
    gt__count(GT_C_freed, n);
    gt__batch_add(&W.batch, W.cfg->group_by, &run, n, false, now);
  } else {
    gt__count(GT_C_collected, n);
    gt__count(GT_C_bytes, bytes);
    uint64_t k = gt__sampler_take(&W.sampler, n);
    gt__count(GT_C_sampled, k);
    gt__batch_add(&W.batch, W.cfg->group_by, &run, n, k > 0, now);
    /* a run of counted objects may hold several sampled ones */
    W.batch.sampled += k > 1 ? k - 1 : 0;
  }
  count_site(ev, n, bytes);
  if (W.batch.sampled >= W.cfg->batch_max) close_batch();
}

/* Objects that can still join the open batch before it is full. */
static uint64_t room(void) {
  uint64_t every = W.cfg->sample_every ? W.cfg->sample_every : 1;
  uint64_t need = W.cfg->batch_max > W.batch.sampled
                      ? W.cfg->batch_max - W.batch.sampled
                      : 1;
  return (every - W.sampler.seen % every) + (need - 1) * every;
}

/* A stack site is named from its innermost frame the first time it is
 * seen, before anything is counted under it. */
static void resolve(uint32_t id) {
  gt_site *s = gt__site(id);
  const gt_frame *f = gt__symbolize(s->pcs[0], true);
  char name[256], label[512];
  gt__frame_name(f, name, sizeof name);
  if (f && f->file)
    gt__site_resolve(id, name, f->file, f->line);
  else
    gt__site_resolve(id, name, gt__frame_label(f, label, sizeof label), 0);
}

/* n objects like ev (bytes in all), split exactly where batches close, so
 * that a run gives the same batches as its objects one by one. */
static void process(const gt_event *ev, uint64_t n, uint64_t bytes,
                    int64_t now) {
  if (!gt__site_valid(ev->site))
    return; /* cannot happen with a valid header; never trust memory blindly */
  if (!gt__site_resolved(ev->site)) resolve(ev->site);
  while (n) {
    uint64_t take = ev->kind == GT_EV_FREED || !notified(ev) ? n : room();
    if (take > n) take = n;
    uint64_t b = take == n ? bytes : bytes / n * take;
    process_run(ev, take, b, now);
    bytes -= b;
    n -= take;
  }
}

static bool grow_ov(uint32_t sites) {
  if (sites + 1 <= W.ov_cap) return true;
  uint32_t cap = (sites + 1) * 2;
  uint64_t *p = realloc(W.ov_seen, (size_t)cap * NOV * sizeof *p);
  if (!p) return false;
  memset(p + (size_t)W.ov_cap * NOV, 0,
         (size_t)(cap - W.ov_cap) * NOV * sizeof *p);
  W.ov_seen = p;
  W.ov_cap = cap;
  return true;
}

/* A site's overflow counters now, in OV_* order. */
static void overflow_now(const gt_site *s, uint64_t v[NOV]) {
  v[OV_COUNT] = atomic_load_explicit(&s->overflow, memory_order_relaxed);
  v[OV_BYTES] = atomic_load_explicit(&s->overflow_bytes, memory_order_relaxed);
  v[OV_FREED] = atomic_load_explicit(&s->overflow_freed, memory_order_relaxed);
  v[OV_UNREL] =
      atomic_load_explicit(&s->overflow_unreleased, memory_order_relaxed);
  v[OV_UNREL_BYTES] =
      atomic_load_explicit(&s->overflow_unreleased_bytes, memory_order_relaxed);
}

/* n overflowed objects like ev (bytes in all), if any. */
static void overflowed(gt_event ev, uint64_t n, uint64_t bytes, int64_t now) {
  if (!n) return;
  gt__count(GT_C_overflowed, n);
  if (ev.kind == GT_EV_COLLECTED && notified(&ev)) W.batch.overflow += n;
  process(&ev, n, bytes, now);
}

/* Overflowed objects came as counts only: no size each, no age. */
static void overflow_of(uint32_t id, uint64_t seen[NOV], int64_t now) {
  uint64_t v[NOV], d[NOV];
  overflow_now(gt__site(id), v);
  for (int i = 0; i < NOV; i++) {
    d[i] = v[i] - seen[i];
    seen[i] = v[i];
  }
  gt_event ev = {.site = id, .kind = GT_EV_COLLECTED};
  overflowed(ev, d[OV_COUNT], d[OV_BYTES], now);
  ev.flags = GT_EVF_UNRELEASED;
  overflowed(ev, d[OV_UNREL], d[OV_UNREL_BYTES], now);
  ev = (gt_event){.site = id, .kind = GT_EV_FREED};
  overflowed(ev, d[OV_FREED], 0, now);
}

static void take_overflow(int64_t now) {
  if (!gt__emit_take_overflow()) return;
  uint32_t n = gt__site_count();
  if (!grow_ov(n)) {
    gt__emit_note_overflow(); /* try again next pass */
    return;
  }
  for (uint32_t id = 1; id <= n; id++)
    overflow_of(id, &W.ov_seen[(size_t)id * NOV], now);
  for (uint32_t id = GT_FIRST_RESERVED; id <= GT_OTHER_SITE; id++)
    overflow_of(id, W.reserved_seen[id - GT_FIRST_RESERVED], now);
}

/* Runs of identical events (same site, kind and size, no age) are counted
 * in one step: the worker's cost follows the runs, not the objects. With
 * `yield`, stops early when a collection stops the world (the rest waits
 * for the next round). */
static size_t drain(int64_t now, bool yield) {
  gt_event ev, run;
  size_t n = 0;
  uint64_t len = 0;
  while ((!yield || (n & 255) != 255 || !gt__world_stopped()) &&
         gt__emit_pop(&ev)) {
    n++;
    uint64_t c = ev.count ? ev.count : 1;
    if (len && ev.site == run.site && ev.kind == run.kind &&
        ev.size == run.size && ev.flags == run.flags &&
        !(ev.flags & GT_EVF_AGE)) {
      len += c;
      continue;
    }
    if (len) process(&run, len, run.size * len, now);
    run = ev;
    len = c;
    if (ev.flags & GT_EVF_AGE) { /* ages are per object */
      process(&run, 1, run.size, now);
      len = 0;
    }
  }
  if (len) process(&run, len, run.size * len, now);
  take_overflow(now);
  return n;
}

/* While a collection has the world stopped, bdwgc's parallel markers want
 * every core, and on a small machine the worker would take one from them
 * (w3m under gt run: about 9% of its time). Waits in naps, at most
 * YIELD_MS in all: a request (gt_collect, gt_flush) is served at once. */
#define YIELD_MS 50
static void yield_to_collector(void) {
  for (int i = 0; i < YIELD_MS * 4 && gt__world_stopped(); i++) {
    pthread_mutex_lock(&W.mu);
    bool asked = W.req != W.done || W.stop;
    pthread_mutex_unlock(&W.mu);
    if (asked) return;
    struct timespec nap = {0, 250000};
    nanosleep(&nap, NULL);
  }
}

static void *worker(void *arg) {
  (void)arg;
  bool idle = false;
  for (;;) {
    yield_to_collector();
    pthread_mutex_lock(&W.mu);
    if (idle && W.req == W.done && !W.stop)
      gt__cond_wait_ms(&W.wake, &W.mu, POLL_MS);
    uint64_t req = W.req;
    bool stop = W.stop;
    pthread_mutex_unlock(&W.mu);

    int64_t now = gt__now_ms();
    W.wall_ms = gt__wall_ms();
    idle = drain(now, true) == 0;
    if (!gt__batch_empty(&W.batch) && now >= W.batch_deadline) close_batch();
    if (req != W.done || stop) {
      drain(now, false); /* all of it: events pushed before the request */
      close_batch();
      for (int i = 0; i < W.nsinks; i++)
        gt__sink_mark(W.sinks[i], req);
      pthread_mutex_lock(&W.mu);
      W.done = req;
      pthread_cond_broadcast(&W.done_cv);
      pthread_mutex_unlock(&W.mu);
    }
    if (stop) return NULL;
  }
}

/* ---- control ------------------------------------------------------------ */

int gt__worker_start(gt_config *cfg, gt_sink **sinks, int nsinks) {
  pthread_once(&conds_once, init_conds);
  gt__batch_init(&W.batch);
  W.sampler = (gt_sampler){.every = cfg->sample_every};
  pthread_mutex_lock(&W.mu);
  W.cfg = cfg;
  W.sinks = sinks;
  W.nsinks = nsinks;
  W.stop = W.exited = false;
  int rc = gt__thread_start(&W.thread, worker, NULL);
  W.running = rc == 0;
  pthread_mutex_unlock(&W.mu);
  if (rc) return gt__fail(GT_ENOMEM, "cannot start the pipeline thread");
  /* Counts that arrived while no worker ran are picked up. */
  gt__emit_note_overflow();
  return 0;
}

/* Waits until every object reported before the call is counted and its
 * batch handed to each sink, then until the sinks have delivered, held or
 * spooled it; never past the deadline (CLOCK_MONOTONIC ms). */
int gt__worker_sync(int64_t deadline) {
  pthread_mutex_lock(&W.mu);
  if (!W.running) {
    pthread_mutex_unlock(&W.mu);
    return gt__fail(GT_ESTATE, "gt is not initialised");
  }
  uint64_t my = ++W.req;
  pthread_cond_signal(&W.wake);
  int rc = 0;
  while (W.done < my && !W.exited && rc == 0) {
    int64_t left = deadline - gt__now_ms();
    if (left <= 0)
      rc = GT_ETIMEDOUT;
    else
      gt__cond_wait_ms(&W.done_cv, &W.mu, left);
  }
  if (rc == 0 && W.done < my)
    rc = gt__fail(GT_ESTATE, "gt_shutdown stopped the pipeline meanwhile");
  /* The sinks are the pipeline's until gt_shutdown; take a reference on
   * each while waiting, so a shutdown meanwhile cannot free them. */
  int n = rc == 0 && W.done >= my ? W.nsinks : 0;
  gt_sink *mine[GT_MAX_SINKS];
  for (int i = 0; i < n; i++)
    gt__sink_ref(mine[i] = W.sinks[i]);
  pthread_mutex_unlock(&W.mu);
  for (int i = 0; i < n; i++) {
    if (rc == 0) rc = gt__sink_wait(mine[i], my, deadline);
    gt__sink_unref(mine[i]);
  }
  if (rc == GT_ETIMEDOUT)
    gt__fail(GT_ETIMEDOUT, "delivery did not finish in time; it goes on");
  return rc;
}

/* Drains, closes the last batch, hands it on, and stops; the sinks are
 * the caller's to stop. Bounded: the worker never waits on I/O. */
void gt__worker_stop(void) {
  pthread_mutex_lock(&W.mu);
  if (!W.running) {
    pthread_mutex_unlock(&W.mu);
    return;
  }
  W.stop = true;
  pthread_cond_signal(&W.wake);
  pthread_mutex_unlock(&W.mu);
  pthread_join(W.thread, NULL);
  pthread_mutex_lock(&W.mu);
  W.running = false;
  W.exited = true;
  W.nsinks = 0;
  pthread_cond_broadcast(&W.done_cv);
  pthread_mutex_unlock(&W.mu);
  gt__batch_free(&W.batch);
}

void gt__worker_name_live(void) {
  uint32_t n = gt__site_count();
  for (uint32_t id = 1; id <= n; id++) {
    gt_site *s = gt__site(id);
    if (s->npcs && atomic_load(&s->live) && !gt__site_resolved(id)) resolve(id);
  }
}

static void seen_now(uint32_t id, uint64_t seen[NOV]) {
  overflow_now(gt__site(id), seen);
}

/* fork(): the worker does not exist in the child. Overflow the parent had
 * not counted yet is the parent's to count. */
void gt__worker_fork(enum gt_fork_phase phase) {
  if (phase == GT_FORK_PREPARE) {
    pthread_mutex_lock(&W.mu);
    return;
  }
  pthread_mutex_unlock(&W.mu);
  if (phase != GT_FORK_CHILD) return;
  /* Waiters of the parent's condition variables do not exist here, but
   * the variables still count them: a signal would wait for them. */
  init_conds();
  W.running = false;
  W.exited = true;
  W.nsinks = 0;
  gt__batch_init(&W.batch);
  uint32_t n = gt__site_count();
  if (grow_ov(n))
    for (uint32_t id = 1; id <= n; id++)
      seen_now(id, &W.ov_seen[(size_t)id * NOV]);
  for (uint32_t id = GT_FIRST_RESERVED; id <= GT_OTHER_SITE; id++)
    seen_now(id, W.reserved_seen[id - GT_FIRST_RESERVED]);
}
