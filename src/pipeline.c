/* The pipeline worker: one thread, never registered with the collector and
 * never touching collected memory. It drains the ring, counts every object
 * exactly (ring events plus per-site overflow counters), samples every Nth,
 * closes batches by size, window or request, and hands them to each sink
 * (a backend with its own rate limiter and held batch). */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The worker must stay invisible to the collector (it never touches
 * collected memory), so pthread_create must not become GC_pthread_create. */
#define GC_NO_THREAD_REDIRECTS
#include <gc.h>

#include "gt_internal.h"

#define POLL_MS 5 /* producers cannot signal, so an idle worker polls */
#define MAX_SINKS 8

typedef struct sink {
  const gt_backend_ops *ops;
  void *state;
  bool limited;
  gt_ratelimit rl;
  gt_batch held;         /* batches that found no token, merged */
  char last_detail[512]; /* the last failure reported, to report it once */
  bool dirty;            /* sent since the last flush */
} sink;

static struct {
  gt_config cfg;
  gt_ring *_Atomic ring;
  pthread_t thread;
  bool running;
  pthread_mutex_t mu;
  pthread_cond_t wake, done_cv;
  uint64_t req, done; /* flush requests, under mu */
  bool stop;
  /* worker-owned */
  gt_batch batch;
  gt_sampler sampler;
  int64_t batch_deadline;
  int64_t wall_ms; /* read once per pass: one clock call, not one per event */
  sink sinks[MAX_SINKS];
  int nsinks;
  uint64_t *ov_seen; /* per site: overflow already counted */
  uint32_t ov_cap;
  _Atomic int64_t deadline_ms; /* during shutdown: stop trying after this */
  bool spool_ok, spool_pending;
  int64_t next_replay_ms;
  _Atomic uint64_t collected, freed, sampled, batches, sent, failed, retried,
      held, overflowed, bytes, spooled, replayed, lost;
} P = {.mu = PTHREAD_MUTEX_INITIALIZER};

static _Atomic int overflow_pending;

#define BUMP(f, n) atomic_fetch_add_explicit(&P.f, (n), memory_order_relaxed)
#define LOAD(f) atomic_load_explicit(&P.f, memory_order_relaxed)

static void push(const gt_event *ev) {
  gt_ring *r = atomic_load_explicit(&P.ring, memory_order_acquire);
  if (r && gt__ring_push(r, ev)) return;
  gt_site *s = gt__site(ev->site);
  if (ev->kind == GT_EV_FREED)
    atomic_fetch_add_explicit(&s->overflow_freed, ev->count,
                              memory_order_relaxed);
  else
    atomic_fetch_add_explicit(&s->overflow, ev->count, memory_order_relaxed);
  atomic_store_explicit(&overflow_pending, 1, memory_order_release);
}

void gt__emit_run(uint32_t site, uint64_t size, uint16_t count) {
  gt_event ev = {
      .site = site, .kind = GT_EV_COLLECTED, .count = count, .size = size};
  push(&ev);
}

void gt__emit(uint32_t site, int kind, uint64_t size, const uint64_t *birth) {
  gt_event ev = {.site = site, .kind = (uint8_t)kind, .count = 1, .size = size};
  if (birth) {
    ev.flags = GT_EVF_AGE;
    ev.birth_gc = (uint32_t)(*birth >> GT_BIRTH_MS_BITS);
    ev.death_gc = (uint32_t)(GC_get_gc_no() & 0xFFFFFF);
    ev.birth_ms = (int64_t)(*birth & GT_BIRTH_MS_MASK);
  }
  push(&ev);
}

/* ---- delivery ----------------------------------------------------------- */

static bool past_deadline(void) {
  return P.deadline_ms && gt__now_ms() >= P.deadline_ms;
}

static void sleep_ms(long ms) {
  if (P.deadline_ms) {
    long left = (long)(P.deadline_ms - gt__now_ms());
    if (ms > left) ms = left > 0 ? left : 0;
  }
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Sends with retries for retryable failures: exponential backoff with
 * jitter, honouring Retry-After, bounded by gt.retry_max and, during
 * shutdown, by its deadline. */
static int send_with_retry(sink *s, const gt_message *m, gt_send_result *res) {
  long backoff = 200;
  for (uint64_t attempt = 0;; attempt++) {
    if (past_deadline()) {
      snprintf(res->detail, sizeof res->detail, "%s: shutdown deadline passed",
               s->ops->name);
      res->retryable = true;
      return -GT_ETIMEDOUT;
    }
    memset(res, 0, sizeof *res);
    res->retry_after_ms = -1;
    if (s->ops->send(s->state, m, res) == 0) {
      BUMP(sent, 1);
      s->dirty = true;
      s->last_detail[0] = 0;
      return 0;
    }
    if (!res->retryable || attempt >= P.cfg.retry_max) break;
    BUMP(retried, 1);
    long wait = res->retry_after_ms >= 0 ? res->retry_after_ms
                                         : backoff + rand() % (backoff / 2 + 1);
    sleep_ms(wait > 60000 ? 60000 : wait);
    backoff = backoff < 30000 ? backoff * 2 : backoff;
  }
  /* One line per distinct failure: a dead sink must not flood the log. */
  if (strcmp(s->last_detail, res->detail) != 0) {
    snprintf(s->last_detail, sizeof s->last_detail, "%s", res->detail);
    gt__warn("delivery failed%s: %s", res->retryable ? "" : " (permanent)",
             res->detail[0] ? res->detail : s->ops->name);
  }
  return -GT_ESEND;
}

/* The spool keeps what could not be delivered; without one the count is
 * reported as lost, loudly. */
static void spool(sink *s, const char *text, json_t *json, const char *why) {
  if (P.spool_ok &&
      gt__spool_write(P.cfg.spool_dir, s->ops->name, text, json, why) == 0) {
    BUMP(spooled, 1);
    P.spool_pending = true;
    return;
  }
  BUMP(lost, gt__batch_json_collected(json));
  gt__warn("%s: a message for %llu objects is lost: %s", s->ops->name,
           (unsigned long long)gt__batch_json_collected(json),
           P.spool_ok ? gt_last_error() : "no usable gt.spool_dir");
}

static void deliver(sink *s, gt_batch *b, const char *suffix, bool to_spool) {
  gt__batch_sort(b);
  char *text = gt__render(&P.cfg, b);
  if (text && suffix) {
    size_t n = strlen(text) + strlen(suffix) + 1;
    char *t = realloc(text, n);
    if (t) strcat(text = t, suffix);
  }
  gt_message m = {.text = text ? text : "", .batch = b};
  gt_send_result res = {0};
  const char *why = to_spool ? "daily cap reached" : NULL;
  if (!to_spool && send_with_retry(s, &m, &res) != 0) {
    BUMP(failed, 1);
    why = res.detail;
  }
  if (why) {
    json_t *json = gt__batch_json(b);
    spool(s, m.text, json, why);
    json_decref(json);
  }
  free(text);
}

#define CAP_NOTE " (daily cap reached: later objects are counted and spooled)"

static void offer(sink *s, gt_batch *b, int64_t now) {
  if (!s->limited) {
    deliver(s, b, NULL, false);
    return;
  }
  bool was_empty = gt__batch_empty(&s->held);
  if (gt__batch_merge(&s->held, b) < 0) {
    gt__warn("out of memory merging a held batch");
    return;
  }
  if (was_empty)
    s->held.merged--; /* merging into an empty holder is not a merge */
  s->held.seq = b->seq;
  s->held.scale = b->scale;
  switch (gt__ratelimit_take(&s->rl, now, gt__wall_ms())) {
  case GT_RL_SEND:
    deliver(s, &s->held, NULL, false);
    gt__batch_reset(&s->held);
    break;
  case GT_RL_CAP_LAST:
    deliver(s, &s->held, CAP_NOTE, false);
    gt__batch_reset(&s->held);
    break;
  case GT_RL_CAPPED: /* counted, kept for tomorrow's replay */
    deliver(s, &s->held, NULL, true);
    gt__batch_reset(&s->held);
    break;
  case GT_RL_HOLD:
    BUMP(held, 1);
    break;
  }
}

/* Held batches go out as soon as a token is free. */
static void retry_held(int64_t now) {
  for (int i = 0; i < P.nsinks; i++) {
    sink *s = &P.sinks[i];
    if (!s->limited || gt__batch_empty(&s->held) ||
        gt__ratelimit_wait_ms(&s->rl, now) > 0)
      continue;
    enum gt_rl_verdict v = gt__ratelimit_take(&s->rl, now, gt__wall_ms());
    deliver(s, &s->held, v == GT_RL_CAP_LAST ? CAP_NOTE : NULL,
            v == GT_RL_CAPPED);
    gt__batch_reset(&s->held);
  }
}

static void flush_sinks(void) {
  for (int i = 0; i < P.nsinks; i++) {
    sink *s = &P.sinks[i];
    if (s->dirty && s->ops->flush) s->ops->flush(s->state);
    s->dirty = false;
  }
}

static void close_batch(int64_t now) {
  if (gt__batch_empty(&P.batch)) return;
  P.batch.seq = LOAD(batches) + 1;
  P.batch.scale = P.cfg.alloc_sample_every;
  BUMP(batches, 1);
  for (int i = 0; i < P.nsinks; i++)
    offer(&P.sinks[i], &P.batch, now);
  gt__batch_reset(&P.batch);
}

/* ---- replay of the spool ------------------------------------------------ */

static enum gt_spool_verdict replay_one(const char *backend, const char *text,
                                        json_t *batch, void *ud) {
  (void)ud;
  sink *s = NULL;
  for (int i = 0; i < P.nsinks; i++)
    if (strcmp(P.sinks[i].ops->name, backend) == 0) s = &P.sinks[i];
  if (!s) return GT_SPOOL_KEEP; /* for a backend this process does not use */
  int64_t now = gt__now_ms();
  if (s->limited) {
    enum gt_rl_verdict v = gt__ratelimit_take(&s->rl, now, gt__wall_ms());
    if (v == GT_RL_HOLD || v == GT_RL_CAPPED) return GT_SPOOL_STOP;
  }
  gt_message m = {.text = text, .json = batch};
  gt_send_result res = {0};
  if (send_with_retry(s, &m, &res) == 0) {
    BUMP(replayed, 1);
    return GT_SPOOL_DELIVERED;
  }
  return res.retryable ? GT_SPOOL_STOP : GT_SPOOL_REJECTED;
}

#define REPLAY_EVERY_MS 30000

static void maybe_replay(int64_t now) {
  if (!P.spool_ok || !P.spool_pending || now < P.next_replay_ms) return;
  P.next_replay_ms = now + REPLAY_EVERY_MS;
  gt__spool_replay(P.cfg.spool_dir, replay_one, NULL);
  P.spool_pending = gt__spool_count(P.cfg.spool_dir) > 0;
}

/* ---- counting ----------------------------------------------------------- */

/* Only the worker writes these, so a relaxed load and store is enough and
 * costs no locked instruction. */
static void add(_Atomic uint64_t *c, uint64_t n) {
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                        memory_order_relaxed);
}

static void count_site(uint32_t site, int kind, uint64_t n, uint64_t bytes) {
  gt_site *s = gt__site(site);
  if (kind == GT_EV_FREED) {
    add(&s->freed, n);
  } else {
    add(&s->collected, n);
    add(&s->bytes, bytes);
  }
}

/* Counts n objects described by ev (ev->size is per object). */
static void process_run(const gt_event *ev, uint64_t n, int64_t now) {
  if (gt__batch_empty(&P.batch)) {
    P.batch_deadline = now + (int64_t)P.cfg.batch_window_ms;
    P.batch.first_wall_ms = P.wall_ms;
  }
  P.batch.last_wall_ms = P.wall_ms;
  gt_event run = *ev;
  run.size = ev->size * n;
  if (ev->kind == GT_EV_FREED) {
    BUMP(freed, n);
    gt__batch_add(&P.batch, P.cfg.group_by, &run, n, false, now);
  } else {
    BUMP(collected, n);
    BUMP(bytes, run.size);
    uint64_t k = gt__sampler_take(&P.sampler, n);
    BUMP(sampled, k);
    gt__batch_add(&P.batch, P.cfg.group_by, &run, n, k > 0, now);
    /* a run of counted objects may hold several sampled ones */
    P.batch.sampled += k > 1 ? k - 1 : 0;
  }
  count_site(ev->site, ev->kind, n, run.size);
  if (P.batch.sampled >= P.cfg.batch_max) close_batch(now);
}

/* Objects that can still join the open batch before it is full. */
static uint64_t room(void) {
  uint64_t every = P.cfg.sample_every ? P.cfg.sample_every : 1;
  uint64_t need =
      P.cfg.batch_max > P.batch.sampled ? P.cfg.batch_max - P.batch.sampled : 1;
  return (every - P.sampler.seen % every) + (need - 1) * every;
}

/* n objects like ev, split exactly where batches close, so that a run
 * gives the same batches as its objects one by one. */
static void process(const gt_event *ev, uint64_t n, int64_t now) {
  if (ev->site == 0 || ev->site > gt__site_count())
    return; /* cannot happen with a valid header; never trust memory blindly */
  while (n) {
    uint64_t take = ev->kind == GT_EV_FREED ? n : room();
    if (take > n) take = n;
    process_run(ev, take, now);
    n -= take;
  }
}

static void take_overflow(int64_t now) {
  if (!atomic_exchange_explicit(&overflow_pending, 0, memory_order_acq_rel))
    return;
  uint32_t n = gt__site_count();
  if (n + 1 > P.ov_cap) {
    uint32_t cap = (n + 1) * 2;
    uint64_t *p = realloc(P.ov_seen, cap * 2 * sizeof *p);
    if (!p) {
      atomic_store(&overflow_pending, 1);
      return;
    }
    memset(p + P.ov_cap * 2, 0, (cap - P.ov_cap) * 2 * sizeof *p);
    P.ov_seen = p;
    P.ov_cap = cap;
  }
  for (uint32_t id = 1; id <= n; id++) {
    gt_site *s = gt__site(id);
    uint64_t c = atomic_load_explicit(&s->overflow, memory_order_relaxed);
    uint64_t f = atomic_load_explicit(&s->overflow_freed, memory_order_relaxed);
    uint64_t dc = c - P.ov_seen[2 * id], df = f - P.ov_seen[2 * id + 1];
    P.ov_seen[2 * id] = c;
    P.ov_seen[2 * id + 1] = f;
    if (dc) {
      gt_event ev = {.site = id, .kind = GT_EV_COLLECTED};
      BUMP(overflowed, dc);
      P.batch.overflow += dc;
      process(&ev, dc, now);
    }
    if (df) {
      gt_event ev = {.site = id, .kind = GT_EV_FREED};
      BUMP(overflowed, df);
      process(&ev, df, now);
    }
  }
}

/* Runs of identical events (same site, kind and size, no age) are counted
 * in one step: the worker's cost follows the runs, not the objects. */
static size_t drain(int64_t now) {
  gt_ring *r = atomic_load_explicit(&P.ring, memory_order_relaxed);
  gt_event ev, run;
  size_t n = 0;
  uint64_t len = 0;
  while (gt__ring_pop(r, &ev)) {
    n++;
    uint64_t c = ev.count ? ev.count : 1;
    if (len && ev.site == run.site && ev.kind == run.kind &&
        ev.size == run.size && !(ev.flags & GT_EVF_AGE)) {
      len += c;
      continue;
    }
    if (len) process(&run, len, now);
    run = ev;
    len = c;
    if (ev.flags & GT_EVF_AGE) { /* ages are per object */
      process(&run, 1, now);
      len = 0;
    }
  }
  if (len) process(&run, len, now);
  take_overflow(now);
  return n;
}

static void timed_wait(int64_t ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  pthread_cond_timedwait(&P.wake, &P.mu, &ts);
}

static void *worker(void *arg) {
  (void)arg;
  bool idle = false;
  for (;;) {
    pthread_mutex_lock(&P.mu);
    if (idle && P.req == P.done && !P.stop) timed_wait(POLL_MS);
    uint64_t req = P.req;
    bool stop = P.stop;
    pthread_mutex_unlock(&P.mu);

    int64_t now = gt__now_ms();
    P.wall_ms = gt__wall_ms();
    idle = drain(now) == 0;
    if (!gt__batch_empty(&P.batch) && now >= P.batch_deadline) close_batch(now);
    retry_held(now);
    maybe_replay(now);
    if (req != P.done || stop) {
      drain(now); /* events pushed just before the request */
      close_batch(now);
      flush_sinks();
      pthread_mutex_lock(&P.mu);
      P.done = req;
      pthread_cond_broadcast(&P.done_cv);
      pthread_mutex_unlock(&P.mu);
    }
    flush_sinks();
    if (stop) {
      /* What the rate limiter still holds goes to the spool, counted. */
      for (int i = 0; i < P.nsinks; i++)
        if (!gt__batch_empty(&P.sinks[i].held)) {
          deliver(&P.sinks[i], &P.sinks[i].held, NULL, true);
          gt__batch_reset(&P.sinks[i].held);
        }
      return NULL;
    }
  }
}

/* ---- control (called from gt.c) ----------------------------------------- */

/* Both condition variables time out on CLOCK_MONOTONIC, like every
 * deadline here; a default (realtime) one would see each deadline as long
 * past and turn the idle worker into a busy loop. */
static void init_conds(void) {
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  pthread_cond_init(&P.wake, &a);
  pthread_cond_init(&P.done_cv, &a);
  pthread_condattr_destroy(&a);
}

int gt__pipeline_start(const gt_config *cfg) {
  P.cfg = *cfg;
  init_conds();
  _Atomic uint64_t *counters[] = {
      &P.collected, &P.freed,    &P.sampled, &P.batches,    &P.sent,
      &P.failed,    &P.retried,  &P.held,    &P.overflowed, &P.bytes,
      &P.spooled,   &P.replayed, &P.lost};
  for (size_t i = 0; i < sizeof counters / sizeof *counters; i++)
    atomic_store(counters[i], 0); /* stats count from gt_init */
  gt__batch_init(&P.batch);
  P.sampler = (gt_sampler){.every = cfg->sample_every};
  P.nsinks = 0;
  char list[256];
  snprintf(list, sizeof list, "%s", cfg->backend);
  int rc = 0;
  for (char *save, *t = strtok_r(list, ", ", &save); t;
       t = strtok_r(NULL, ", ", &save)) {
    if (P.nsinks == MAX_SINKS) {
      rc = gt__fail(GT_EINVAL, "gt.backend: at most %d backends", MAX_SINKS);
      break;
    }
    sink *s = &P.sinks[P.nsinks];
    memset(s, 0, sizeof *s);
    s->ops = gt__backend_find(t);
    if ((rc = s->ops->open(&P.cfg, &s->state))) break;
    s->limited = s->ops->flags & GT_BACKEND_RATE_LIMITED;
    gt__ratelimit_init(&s->rl, cfg->rate_per_minute, cfg->daily_cap,
                       gt__now_ms());
    gt__batch_init(&s->held);
    P.nsinks++;
  }
  gt_ring *r = rc ? NULL : gt__ring_new(cfg->queue_capacity);
  if (!rc && !r)
    rc = gt__fail(GT_ENOMEM, "gt.queue_capacity: cannot allocate the ring");
  if (!rc) {
    P.spool_ok = gt__spool_prepare(cfg->spool_dir) == 0;
    if (!P.spool_ok)
      gt__warn("%s; undelivered messages will be lost", gt_last_error());
    P.spool_pending = P.spool_ok; /* replay what earlier runs left */
    P.next_replay_ms = 0;
    P.deadline_ms = 0;
    P.stop = false;
    P.req = P.done = 0;
    atomic_store_explicit(&P.ring, r, memory_order_release);
    if (pthread_create(&P.thread, NULL, worker, NULL) != 0) {
      atomic_store(&P.ring, NULL);
      rc = gt__fail(GT_ENOMEM, "cannot start the pipeline thread");
    }
  }
  if (rc) {
    gt__ring_free(r);
    for (int i = 0; i < P.nsinks; i++)
      P.sinks[i].ops->close(P.sinks[i].state);
    P.nsinks = 0;
    return rc;
  }
  P.running = true;
  /* Counts that arrived while no pipeline ran (before init) are picked up. */
  atomic_store(&overflow_pending, 1);
  return 0;
}

/* Asks the worker to drain, close the batch and deliver; waits until done
 * or the deadline (ms < 0: no deadline). */
int gt__pipeline_sync(int timeout_ms) {
  if (!P.running) return -GT_ESTATE;
  pthread_mutex_lock(&P.mu);
  uint64_t my = ++P.req;
  pthread_cond_signal(&P.wake);
  int rc = 0;
  int64_t deadline = gt__now_ms() + timeout_ms;
  while (P.done < my && rc == 0) {
    if (timeout_ms < 0) {
      pthread_cond_wait(&P.done_cv, &P.mu);
      continue;
    }
    int64_t left = deadline - gt__now_ms();
    if (left <= 0) {
      rc = -GT_ETIMEDOUT;
      break;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += left / 1000;
    ts.tv_nsec += (left % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_cond_timedwait(&P.done_cv, &P.mu, &ts);
  }
  pthread_mutex_unlock(&P.mu);
  return rc;
}

/* From now on no delivery attempt starts after the deadline; what is left
 * goes to the spool. Set before gt_shutdown's final collection, so that
 * the batch it closes is bounded too. */
void gt__pipeline_deadline(int timeout_ms) {
  P.deadline_ms = gt__now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
}

int gt__pipeline_stop(int timeout_ms) {
  if (!P.running) return -GT_ESTATE;
  if (!P.deadline_ms) gt__pipeline_deadline(timeout_ms);
  timeout_ms = (int)(P.deadline_ms - gt__now_ms());
  int rc = gt__pipeline_sync(timeout_ms > 0 ? timeout_ms : 0);
  pthread_mutex_lock(&P.mu);
  P.stop = true;
  pthread_cond_signal(&P.wake);
  pthread_mutex_unlock(&P.mu);
  pthread_join(P.thread, NULL);
  P.running = false;
  /* A producer may be inside push right now (a finalizer in another
   * thread), so the ring is retired rather than freed; the one retired by
   * the previous shutdown has had a whole init/shutdown cycle to drain.
   * Later events count as overflow and reach the next pipeline. */
  static gt_ring *retired;
  gt__ring_free(retired);
  retired = atomic_exchange(&P.ring, NULL);
  for (int i = 0; i < P.nsinks; i++) {
    sink *s = &P.sinks[i];
    gt__batch_free(&s->held);
    s->ops->close(s->state);
  }
  P.nsinks = 0;
  gt__batch_free(&P.batch);
  return rc;
}

void gt__pipeline_stats(gt_stats *out) {
  out->collected = LOAD(collected);
  out->freed = LOAD(freed);
  out->sampled = LOAD(sampled);
  out->batches = LOAD(batches);
  out->sent = LOAD(sent);
  out->failed = LOAD(failed);
  out->retried = LOAD(retried);
  out->held = LOAD(held);
  out->overflowed = LOAD(overflowed);
  out->bytes = LOAD(bytes);
  out->spooled = LOAD(spooled);
  out->replayed = LOAD(replayed);
  out->lost = LOAD(lost);
}

size_t gt__pipeline_name_stats(gt_name_stats *out, size_t cap) {
  uint32_t n = gt__name_count(), sites = gt__site_count();
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
  return n;
}

/* fork(): the worker does not exist in the child, and the sinks' sockets
 * and TLS sessions belong to the parent: the child gets no pipeline (its
 * events are counted as overflow) until it calls gt_init itself. The
 * sinks are dropped without close(), which would talk on the parent's
 * connections. */
void gt__pipeline_fork(enum gt_fork_phase phase) {
  if (phase == GT_FORK_PREPARE) {
    pthread_mutex_lock(&P.mu);
    return;
  }
  pthread_mutex_unlock(&P.mu);
  if (phase == GT_FORK_CHILD && P.running) {
    P.running = false;
    P.nsinks = 0;
    atomic_store(&P.ring, NULL);
    gt__batch_init(&P.batch);
    P.req = P.done = 0;
    init_conds();
  }
}
