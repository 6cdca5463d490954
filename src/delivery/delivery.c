/* Delivery: one sink per configured backend, each with its own thread, so
 * a server that hangs or throttles delays only its own messages and never
 * the counting. A sink takes closed batches from the worker through a
 * queue, holds them while its rate limiter says so (merged: counts add
 * up), renders and sends them with retries, spools what fails, and
 * replays the spool. Sink threads are never registered with the collector
 * and never touch collected memory.
 *
 * Lifetimes: the worker, waiters in gt_flush/gt_collect and the sink's own
 * thread each hold a reference; a sink that does not finish by
 * gt_shutdown's deadline is left to finish alone (it spools what it still
 * has and frees itself), so gt_shutdown stays bounded. */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "delivery/delivery.h"
#include "delivery/ratelimit.h"
#include "delivery/render.h"
#include "delivery/spool.h"
#include "stats.h"

#define MAX_QUEUED 1024 /* batches waiting; beyond it they merge */
#define REPLAY_EVERY_MS 30000
#define IDLE_MS 1000

enum item_kind { IT_BATCH, IT_MARK, IT_EXIT };

typedef struct item {
  struct item *next;
  enum item_kind kind;
  uint64_t ticket; /* IT_MARK */
  gt_batch batch;  /* IT_BATCH */
  json_t *exit;    /* IT_EXIT, the sink's own copy */
} item;

struct gt_sink {
  const gt_backend_ops *ops;
  void *state;
  gt_config *cfg; /* a reference */
  _Atomic int refs;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;        /* items arrived, or done/exited changed */
  item *head, *tail;        /* under mu */
  int queued;               /* batches in the queue, under mu */
  uint64_t done;            /* last mark handled, under mu */
  bool stopping;            /* no more items will come, under mu */
  bool exited;              /* under mu */
  _Atomic int64_t deadline; /* gt_shutdown's, CLOCK_MONOTONIC ms; 0: none */
  /* owned by the sink's thread */
  bool limited;
  gt_ratelimit rl;
  gt_batch held; /* batches that found no token, merged */
  char last_detail[512];
  bool dirty, spool_ok, spool_pending;
  int64_t next_replay_ms;
  uint64_t rng; /* jitter for retries; not the program's rand() */
};

/* gt_shutdown's deadline for this sink: no attempt starts after it. A
 * sink left to finish alone keeps it, so it spools what it still holds. */
void gt__sink_deadline(gt_sink *s, int64_t mono_ms) {
  pthread_mutex_lock(&s->mu);
  atomic_store(&s->deadline, mono_ms);
  pthread_cond_broadcast(&s->cv); /* a retry's wait ends there */
  pthread_mutex_unlock(&s->mu);
}

static bool past_deadline(gt_sink *s) {
  int64_t d = atomic_load(&s->deadline);
  return d && gt__now_ms() >= d;
}

static uint64_t next_random(gt_sink *s) { /* xorshift64* */
  s->rng ^= s->rng >> 12;
  s->rng ^= s->rng << 25;
  s->rng ^= s->rng >> 27;
  return s->rng * 0x2545F4914F6CDD1Dull;
}

/* Waits between retries; gt_shutdown wakes it (its deadline cuts it). */
static void sleep_ms(gt_sink *s, int64_t ms) {
  int64_t until = gt__now_ms() + ms;
  pthread_mutex_lock(&s->mu);
  for (int64_t now; (now = gt__now_ms()) < until && !past_deadline(s);) {
    int64_t d = atomic_load(&s->deadline);
    int64_t end = d && d < until ? d : until;
    gt__cond_wait_ms(&s->cv, &s->mu, end - now);
  }
  pthread_mutex_unlock(&s->mu);
}

/* Sends with retries for retryable failures: exponential backoff with
 * jitter, honouring Retry-After, bounded by gt.retry_max and, during
 * shutdown, by its deadline. */
static int send_with_retry(gt_sink *s, const gt_message *m,
                           gt_send_result *res) {
  long backoff = 200;
  for (uint64_t attempt = 0;; attempt++) {
    if (past_deadline(s)) {
      snprintf(res->detail, sizeof res->detail, "%s: shutdown deadline passed",
               s->ops->name);
      res->retryable = true;
      return GT_ETIMEDOUT;
    }
    memset(res, 0, sizeof *res);
    res->retry_after_ms = -1;
    if (s->ops->send(s->state, m, res) == 0) {
      gt__count(GT_C_sent, 1);
      s->dirty = true;
      s->last_detail[0] = 0;
      return 0;
    }
    if (!res->retryable || attempt >= s->cfg->retry_max) break;
    gt__count(GT_C_retried, 1);
    long jitter = (long)(next_random(s) % (uint64_t)(backoff / 2 + 1));
    long wait =
        res->retry_after_ms >= 0 ? res->retry_after_ms : backoff + jitter;
    sleep_ms(s, wait > 60000 ? 60000 : wait);
    backoff = backoff < 30000 ? backoff * 2 : backoff;
  }
  /* One line per distinct failure: a dead sink must not flood the log. */
  if (strcmp(s->last_detail, res->detail) != 0) {
    snprintf(s->last_detail, sizeof s->last_detail, "%s", res->detail);
    gt__warn("delivery failed%s: %s", res->retryable ? "" : " (permanent)",
             res->detail[0] ? res->detail : s->ops->name);
  }
  return GT_ESEND;
}

/* The spool keeps what could not be delivered; without one the count is
 * reported as lost, loudly. */
static void spool(gt_sink *s, const char *text, json_t *json, const char *why) {
  uint64_t n = gt__batch_json_collected(json);
  if (s->spool_ok &&
      gt__spool_write(s->cfg->spool_dir, s->ops->name, text, json, why) == 0) {
    gt__count(GT_C_spooled, 1);
    s->spool_pending = true;
    return;
  }
  gt__count(GT_C_lost, n);
  gt__warn("%s: a message for %llu objects is lost: %s", s->ops->name,
           (unsigned long long)n,
           s->spool_ok ? gt_last_error() : "no usable gt.spool_dir");
}

static void deliver(gt_sink *s, gt_batch *b, const char *suffix,
                    bool to_spool) {
  gt__batch_sort(b);
  char *text = gt__render(s->cfg, b);
  if (text && suffix) {
    size_t n = strlen(text) + strlen(suffix) + 1;
    char *t = realloc(text, n);
    if (t) strcat(text = t, suffix);
  }
  gt_message m = {.text = text ? text : "", .batch = b};
  gt_send_result res = {0};
  const char *why = to_spool ? "daily cap reached" : NULL;
  if (!to_spool && send_with_retry(s, &m, &res) != 0) {
    gt__count(GT_C_failed, 1);
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

static void send_held(gt_sink *s, enum gt_rl_verdict v) {
  deliver(s, &s->held, v == GT_RL_CAP_LAST ? CAP_NOTE : NULL,
          v == GT_RL_CAPPED);
  gt__batch_reset(&s->held);
}

static void offer(gt_sink *s, gt_batch *b) {
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
  enum gt_rl_verdict v =
      gt__ratelimit_take(&s->rl, gt__now_ms(), gt__wall_ms());
  if (v == GT_RL_HOLD)
    gt__count(GT_C_held, 1);
  else
    send_held(s, v);
}

/* Held batches go out as soon as a token is free. */
static void retry_held(gt_sink *s, int64_t now) {
  if (!s->limited || gt__batch_empty(&s->held) ||
      gt__ratelimit_wait_ms(&s->rl, now) > 0)
    return;
  send_held(s, gt__ratelimit_take(&s->rl, now, gt__wall_ms()));
}

/* ---- replay of the spool ------------------------------------------------ */

static enum gt_spool_verdict replay_one(const char *backend, const char *text,
                                        json_t *batch, void *ud) {
  gt_sink *s = ud;
  if (strcmp(s->ops->name, backend) != 0)
    return GT_SPOOL_KEEP; /* another sink's, or another process's */
  if (s->limited) {
    enum gt_rl_verdict v =
        gt__ratelimit_take(&s->rl, gt__now_ms(), gt__wall_ms());
    if (v == GT_RL_HOLD || v == GT_RL_CAPPED) return GT_SPOOL_STOP;
  }
  gt_message m = {.text = text, .json = batch};
  gt_send_result res = {0};
  if (send_with_retry(s, &m, &res) == 0) {
    gt__count(GT_C_replayed, 1);
    return GT_SPOOL_DELIVERED;
  }
  /* A refused login is a configuration fault, not the message's: keep it
   * for when the configuration is fixed. */
  if (res.retryable || res.auth_failed) return GT_SPOOL_STOP;
  gt__spool_reject_reason(res.detail); /* kept with the file */
  return GT_SPOOL_REJECTED;
}

static void maybe_replay(gt_sink *s, int64_t now) {
  if (!s->spool_ok || !s->spool_pending || now < s->next_replay_ms) return;
  s->next_replay_ms = now + REPLAY_EVERY_MS;
  if (past_deadline(s)) return;
  gt__spool_replay(s->cfg->spool_dir, replay_one, s);
  s->spool_pending = gt__spool_count(s->cfg->spool_dir) > 0;
}

/* ---- the sink's thread -------------------------------------------------- */

static void unref(gt_sink *s) {
  if (atomic_fetch_sub(&s->refs, 1) != 1) return;
  s->ops->close(s->state);
  gt__batch_free(&s->held);
  for (item *it = s->head, *next; it; it = next) {
    next = it->next;
    gt__batch_free(&it->batch);
    json_decref(it->exit);
    free(it);
  }
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->cv);
  gt__config_unref(s->cfg);
  free(s);
}

static void flush_backend(gt_sink *s) {
  if (s->dirty && s->ops->flush) s->ops->flush(s->state);
  s->dirty = false;
}

static int64_t next_timer(gt_sink *s, int64_t now) {
  int64_t wait = IDLE_MS;
  if (s->limited && !gt__batch_empty(&s->held)) {
    int64_t w = gt__ratelimit_wait_ms(&s->rl, now);
    if (w < wait) wait = w;
  }
  if (s->spool_ok && s->spool_pending && s->next_replay_ms - now < wait)
    wait = s->next_replay_ms - now;
  return wait > 0 ? wait : 0;
}

/* The next item, or NULL when a timer is due; *stop once the queue is
 * empty and no more will come; *last when it was the last one queued. */
static item *take(gt_sink *s, bool *stop, bool *last) {
  pthread_mutex_lock(&s->mu);
  if (!s->head && !s->stopping) {
    int64_t wait = next_timer(s, gt__now_ms());
    if (wait > 0) gt__cond_wait_ms(&s->cv, &s->mu, wait);
  }
  item *it = s->head;
  if (it) {
    s->head = it->next;
    if (!s->head) s->tail = NULL;
    if (it->kind == IT_BATCH) s->queued--;
  }
  *stop = !it && s->stopping;
  *last = !s->head;
  pthread_mutex_unlock(&s->mu);
  return it;
}

/* What the sink still holds at the end goes to the spool, counted. */
static void finish(gt_sink *s) {
  if (!gt__batch_empty(&s->held)) send_held(s, GT_RL_CAPPED);
  flush_backend(s);
  pthread_mutex_lock(&s->mu);
  s->exited = true;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

static void *sink_main(void *arg) {
  gt_sink *s = arg;
  /* What earlier runs left goes first: a gt_flush right after gt_init
   * (gt spool replay does that) waits for it. */
  maybe_replay(s, gt__now_ms());
  for (bool stop = false, last; !stop;) {
    item *it = take(s, &stop, &last);
    if (it && it->kind == IT_BATCH) {
      offer(s, &it->batch);
    } else if (it && it->kind == IT_EXIT) {
      s->ops->at_exit(s->state, it->exit);
      s->dirty = true;
    } else if (it) {
      flush_backend(s);
      pthread_mutex_lock(&s->mu);
      s->done = it->ticket;
      pthread_cond_broadcast(&s->cv);
      pthread_mutex_unlock(&s->mu);
    }
    if (it) {
      gt__batch_free(&it->batch);
      json_decref(it->exit);
      free(it);
    }
    int64_t now = gt__now_ms();
    retry_held(s, now);
    maybe_replay(s, now);
    if (last) flush_backend(s); /* one flush per burst */
  }
  finish(s);
  unref(s);
  return NULL;
}

/* ---- the worker's and lifecycle's side ---------------------------------- */

int gt__sink_open(const gt_backend_ops *ops, gt_config *cfg, bool spool_ok,
                  gt_sink **out) {
  gt_sink *s = calloc(1, sizeof *s);
  if (!s) return gt__fail(GT_ENOMEM, "out of memory");
  int rc = ops->open(cfg, &s->state);
  if (rc) {
    free(s);
    return rc;
  }
  s->ops = ops;
  s->cfg = gt__config_ref(cfg);
  s->limited = ops->flags & GT_BACKEND_RATE_LIMITED;
  gt__ratelimit_init(&s->rl, cfg->rate_per_minute, cfg->daily_cap,
                     gt__now_ms());
  gt__batch_init(&s->held);
  s->spool_ok = spool_ok;
  s->spool_pending = spool_ok; /* replay what earlier runs left */
  s->rng = (uint64_t)gt__wall_ms() ^ ((uint64_t)getpid() << 32) ^
           (uint64_t)(uintptr_t)s;
  s->rng |= 1;
  pthread_mutex_init(&s->mu, NULL);
  gt__cond_init(&s->cv);
  atomic_init(&s->refs, 2); /* the caller's and the thread's */
  if (gt__thread_start(&s->thread, sink_main, s) != 0) {
    atomic_store(&s->refs, 1);
    unref(s);
    return gt__fail(GT_ENOMEM, "cannot start a delivery thread");
  }
  *out = s;
  return 0;
}

static void post(gt_sink *s, item *it) {
  pthread_mutex_lock(&s->mu);
  if (it->kind == IT_BATCH && s->queued >= MAX_QUEUED && s->tail &&
      s->tail->kind == IT_BATCH &&
      gt__batch_merge(&s->tail->batch, &it->batch) == 0) {
    pthread_mutex_unlock(&s->mu); /* a stuck sink: merged, nothing lost */
    gt__count(GT_C_held, 1);
    gt__batch_free(&it->batch);
    free(it);
    return;
  }
  if (it->kind == IT_BATCH) s->queued++;
  if (s->tail)
    s->tail->next = it;
  else
    s->head = it;
  s->tail = it;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

static item *new_item(enum item_kind kind) {
  item *it = calloc(1, sizeof *it);
  if (it) it->kind = kind;
  return it;
}

void gt__sink_offer(gt_sink *s, gt_batch *b, bool take) {
  item *it = new_item(IT_BATCH);
  if (it && take) { /* the last sink takes the batch itself, no copy */
    it->batch = *b;
    gt__batch_init(b);
    post(s, it);
    return;
  }
  if (it) {
    gt__batch_init(&it->batch);
    if (gt__batch_merge(&it->batch, b) == 0) {
      it->batch.merged = b->merged; /* a copy, not a merge */
      it->batch.seq = b->seq;
      post(s, it);
      return;
    }
    gt__batch_free(&it->batch);
    free(it);
  }
  gt__count(GT_C_lost, b->collected);
  gt__warn("%s: out of memory: a message for %llu objects is lost",
           s->ops->name, (unsigned long long)b->collected);
}

void gt__sink_mark(gt_sink *s, uint64_t ticket) {
  item *it = new_item(IT_MARK);
  if (!it) return; /* the waiter times out; nothing is lost */
  it->ticket = ticket;
  post(s, it);
}

bool gt__sink_wants_exit(const gt_sink *s) {
  return s->ops->at_exit != NULL;
}

/* A copy, not a reference: jansson's json_decref reads the count without
 * an atomic load, so one value must not be released from two threads. */
void gt__sink_exit(gt_sink *s, const json_t *summary) {
  item *it = s->ops->at_exit ? new_item(IT_EXIT) : NULL;
  if (!it) return; /* best effort */
  if (!(it->exit = json_deep_copy(summary))) {
    free(it);
    return;
  }
  post(s, it);
}

void gt__sink_stop(gt_sink *s) {
  pthread_mutex_lock(&s->mu);
  s->stopping = true;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

int gt__sink_wait(gt_sink *s, uint64_t ticket, int64_t deadline) {
  int rc = 0;
  pthread_mutex_lock(&s->mu);
  while (s->done < ticket && !s->exited && rc == 0) {
    int64_t left = deadline - gt__now_ms();
    if (left <= 0)
      rc = GT_ETIMEDOUT;
    else
      gt__cond_wait_ms(&s->cv, &s->mu, left);
  }
  pthread_mutex_unlock(&s->mu);
  return rc;
}

bool gt__sink_close(gt_sink *s, int64_t deadline) {
  bool exited = gt__sink_wait(s, UINT64_MAX, deadline) == 0;
  if (exited)
    pthread_join(s->thread, NULL);
  else
    pthread_detach(s->thread); /* it finishes alone, then frees itself */
  unref(s);
  return exited;
}

void gt__sink_ref(gt_sink *s) {
  atomic_fetch_add(&s->refs, 1);
}

void gt__sink_unref(gt_sink *s) {
  unref(s);
}
