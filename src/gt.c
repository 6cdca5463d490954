/* The lifecycle: one state machine that every public entry consults.
 *
 *   STOPPED --gt_init--> RUNNING --gt_shutdown--> STOPPING --> STOPPED
 *
 * gt_init and gt_shutdown hold `life` for their whole run; gt_collect and
 * gt_flush never wait for it (a shutdown in progress must not block them
 * beyond their own bounds): they ask the worker, whose answers are bounded
 * by deadlines and know when it has stopped. Objects are tracked and
 * counted in every state; only delivery needs RUNNING. */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "delivery/delivery.h"
#include "delivery/spool.h"
#include "exit.h"
#include "gc/gcctx.h"
#include "intern.h"
#include "lifecycle.h"
#include "options.h"
#include "stats.h"
#include "worker/profile.h"
#include "worker/worker.h"

enum state { STOPPED, RUNNING, STOPPING };

static pthread_mutex_t life = PTHREAD_MUTEX_INITIALIZER;
static enum state state; /* under life */
static bool atexit_done;
static gt_config *config; /* under life */
static gt_sink *sinks[GT_MAX_SINKS];
static int nsinks;
static _Atomic int64_t collect_wait_ms = 3000;
static _Atomic int64_t exit_timeout_ms = 10000;
#define SPOOL_RESERVE_MS 500 /* of gt_shutdown's time, to spool at the end */

const char *gt_strerror(int err) {
  switch (err > 0 ? -err : err) {
  case GT_OK:
    return "success";
#define CASE(name, value, text)                                                \
  case name:                                                                   \
    return text;
    GT_ERRORS(CASE)
#undef CASE
  default:
    return "unknown error";
  }
}

static void fork_prepare(void) {
  pthread_mutex_lock(&life);
  gt__profile_fork(GT_FORK_PREPARE);
  gt__worker_fork(GT_FORK_PREPARE);
  gt__alloc_fork(GT_FORK_PREPARE);
  gt__intern_fork(GT_FORK_PREPARE);
}

static void fork_parent(void) {
  gt__intern_fork(GT_FORK_PARENT);
  gt__alloc_fork(GT_FORK_PARENT);
  gt__worker_fork(GT_FORK_PARENT);
  gt__profile_fork(GT_FORK_PARENT);
  pthread_mutex_unlock(&life);
}

/* The child has none of gt's threads; its sinks' connections are the
 * parent's and are dropped without a word on them. It counts its objects
 * and may gt_init a pipeline of its own. */
static void fork_child(void) {
  gt__intern_fork(GT_FORK_CHILD);
  gt__alloc_fork(GT_FORK_CHILD);
  gt__worker_fork(GT_FORK_CHILD);
  gt__profile_fork(GT_FORK_CHILD);
  gt__emit_fork_child();
  gt__stats_fork_child();
  nsinks = 0;
  config = NULL;
  state = STOPPED;
  pthread_mutex_unlock(&life);
}

static void clear_stack(void);

static void (*after_exit)(void);

static void at_exit(void) {
  gt_shutdown((int)atomic_load(&exit_timeout_ms));
  if (after_exit) after_exit();
}

void gt__at_exit_then(void (*fn)(void)) {
  after_exit = fn;
}

/* Opens one sink per backend of gt.backend; on failure closes them. */
static int open_sinks(gt_config *cfg, bool spool_ok) {
  char list[256];
  snprintf(list, sizeof list, "%s", cfg->backend);
  int rc = 0;
  nsinks = 0;
  for (char *save, *t = strtok_r(list, ", ", &save); t && !rc;
       t = strtok_r(NULL, ", ", &save)) {
    if (nsinks == GT_MAX_SINKS)
      rc = gt__fail(GT_EINVAL, "gt.backend: at most %d backends", GT_MAX_SINKS);
    else {
      const gt_backend_ops *ops;
      rc = gt__backend_find(cfg, t, &ops);
      if (!rc) rc = gt__sink_open(ops, cfg, spool_ok, &sinks[nsinks]);
    }
    if (!rc) nsinks++;
  }
  if (rc) {
    for (int i = 0; i < nsinks; i++) {
      gt__sink_stop(sinks[i]);
      gt__sink_close(sinks[i], gt__now_ms() + 1000);
    }
    nsinks = 0;
  }
  return rc;
}

/* An insecure spool directory is refused; one that cannot be used, or
 * none at all, is a warning (what cannot be delivered is then counted as
 * lost). */
static int prepare_spool(const gt_config *cfg, bool *ok) {
  *ok = false;
  if (!cfg->spool_dir) {
    gt__warn("no spool: gt.spool_dir is not set, and neither is "
             "XDG_STATE_HOME or HOME; undelivered messages will be lost "
             "(set gt.spool_dir to keep them)");
    return 0;
  }
  int rc = gt__spool_prepare(cfg->spool_dir);
  *ok = rc == 0;
  if (rc == GT_EINVAL) return rc;
  if (rc) gt__warn("%s; undelivered messages will be lost", gt_last_error());
  return 0;
}

static int start(const gt_options *opts) {
  int rc;
  gt__options_warn_env(); /* first: a typo may explain what fails next */
  if ((rc = gt__gc_prepare())) return rc;
  if (!gt__interposed())
    return gt__fail(GT_ESTATE,
                    "gt_init: libgc comes before libgt in the link order, so "
                    "GC_size, GC_free and GC_realloc would not know gt's "
                    "objects; link libgt first (pkg-config --libs gt and "
                    "CMake's gt::gt do)");
  gt_config *cfg = calloc(1, sizeof *cfg);
  if (!cfg) return gt__fail(GT_ENOMEM, "out of memory");
  if ((rc = gt__options_build(opts, cfg))) {
    free(cfg);
    return rc;
  }
  bool spool_ok = false;
  if ((rc = gt__profile_check(cfg)) || (rc = gt__alloc_setup(cfg)) ||
      (rc = gt__emit_open(cfg->queue_capacity)) ||
      (rc = prepare_spool(cfg, &spool_ok)) || (rc = open_sinks(cfg, spool_ok)))
    goto fail;
  gt__stats_scale(cfg->alloc_sample_every);
  atomic_store(&collect_wait_ms, (int64_t)cfg->collect_wait_ms);
  atomic_store(&exit_timeout_ms, (int64_t)cfg->timeout_ms);
  if ((rc = gt__worker_start(cfg, sinks, nsinks))) {
    for (int i = 0; i < nsinks; i++) {
      gt__sink_stop(sinks[i]);
      gt__sink_close(sinks[i], gt__now_ms() + 1000);
    }
    nsinks = 0;
    goto fail;
  }
  gt__profile_start(cfg);
  config = cfg;
  return 0;
fail:
  gt__config_unref(cfg);
  return rc;
}

int gt_init(const gt_options *opts) {
  gt__clear_error();
  pthread_mutex_lock(&life);
  int rc = state == STOPPED
               ? start(opts)
               : gt__fail(GT_ESTATE, "gt_init: already initialised (call "
                                     "gt_shutdown first)");
  if (rc == 0) {
    state = RUNNING;
    if (!atexit_done) {
      atexit_done = atexit(at_exit) == 0;
      pthread_atfork(fork_prepare, fork_parent, fork_child);
    }
  }
  pthread_mutex_unlock(&life);
  return rc;
}

/* Stops the sinks by the deadline; a sink still busy then is left to
 * finish alone (it spools what it still holds). */
static int stop_sinks(int64_t deadline) {
  int rc = 0;
  for (int i = 0; i < nsinks; i++)
    gt__sink_stop(sinks[i]);
  for (int i = 0; i < nsinks; i++)
    if (!gt__sink_close(sinks[i], deadline))
      rc = gt__fail(GT_ETIMEDOUT, "gt_shutdown: a backend was still busy at "
                                  "the deadline; it finishes in the "
                                  "background and spools what it holds");
  nsinks = 0;
  return rc;
}

/* The run's end, after the last batch, to the backends that want it (the
 * JSON log's last line). The counting is over: the totals are final. */
static void send_exit(bool live_counted) {
  bool wanted = false;
  for (int i = 0; i < nsinks && !wanted; i++)
    wanted = gt__sink_wants_exit(sinks[i]);
  if (!wanted) return;
  if (live_counted) gt__worker_name_live();
  gt_stats st;
  gt_get_stats(&st);
  json_t *j = gt__exit_json(&st, live_counted, config->group_by,
                            config->alloc_sample_every, gt__wall_ms());
  for (int i = 0; j && i < nsinks; i++)
    gt__sink_exit(sinks[i], j);
  json_decref(j);
}

int gt_shutdown(int timeout_ms) {
  pthread_mutex_lock(&life);
  if (state != RUNNING) {
    pthread_mutex_unlock(&life);
    return gt__fail(GT_ESTATE, "gt_shutdown: gt is not running (never "
                               "started, or already shut down)");
  }
  state = STOPPING;
  /* The deadline comes first, so that the final collection's batch is
   * bounded too. Delivery attempts stop a little before it, leaving the
   * sinks time to spool what they still hold. */
  int64_t ms = timeout_ms > 0 ? timeout_ms : 0;
  int64_t reserve = ms / 4 < SPOOL_RESERVE_MS ? ms / 4 : SPOOL_RESERVE_MS;
  int64_t deadline = gt__now_ms() + ms;
  for (int i = 0; i < nsinks; i++)
    gt__sink_deadline(sinks[i], deadline - reserve);
  gt__http_abort_at(deadline - reserve); /* a transfer in flight too */
  /* Objects the program dropped just before exiting are reported too. A
   * thread unknown to the collector must not start a collection. */
  bool live_counted = gt__gc_thread_registered();
  if (live_counted) {
    clear_stack();
    gt__collect_counting_live();
  }
  gt__worker_stop();
  send_exit(live_counted);
  gt__profile_stop(); /* while the sinks deliver */
  int rc = stop_sinks(deadline);
  gt__http_abort_at(0); /* the next gt_init sends again */
  gt__config_unref(config);
  config = NULL;
  state = STOPPED;
  pthread_mutex_unlock(&life);
  return rc;
}

int gt_flush(int timeout_ms) {
  return gt__worker_sync(gt__now_ms() + (timeout_ms > 0 ? timeout_ms : 0));
}

/* Overwrites the dead part of the stack below us, so that stale copies of
 * pointers left by earlier calls do not keep dead objects alive when the
 * collector scans this thread conservatively. Not instrumented: ASan may
 * move an instrumented array to its "fake stack" on the heap, which would
 * leave the real stack as it was. */
static __attribute__((noinline, no_sanitize_address)) void clear_stack(void) {
  uintptr_t buf[8192]; /* 64 KiB */
  memset(buf, 0, sizeof buf);
  __asm__ volatile("" : : "r"(buf) : "memory"); /* keep the memset */
}

/* The collection and the wait for its delivery, in a frame made after
 * clear_stack: none of its slots can hold a stale pointer. */
static __attribute__((noinline)) size_t collect_and_wait(void) {
  size_t n = gt__collect();
  /* Bounded: a slow server delays delivery, not the caller. */
  int64_t wait = atomic_load(&collect_wait_ms);
  if (gt__worker_sync(gt__now_ms() + wait) == GT_ESTATE) gt__clear_error();
  gt__profile_collected();
  return n;
}

/* Kept tiny, with no locals: its frame must not cover the caller's dead
 * frames, so that clear_stack wipes them before the collector scans this
 * stack (in an unoptimised build a local's slot keeps whatever an earlier
 * call left there until the local is written, after the collection). */
size_t gt_collect(void) {
  clear_stack();
  return collect_and_wait();
}

/* ---- statistics ---------------------------------------------------------- */

void gt_get_stats(gt_stats *out) {
  if (!out) return;
  memset(out, 0, sizeof *out);
#define FILL_PIPELINE(field) out->field = gt__counter(GT_C_##field);
#define FILL_ALLOC(field)
#define FILL_DERIVED(field)
#define FILL(field, who, meaning) FILL_##who(field)
  GT_STATS(FILL)
#undef FILL
  gt__alloc_stats(out);
  uint64_t s = gt__stats_scale_get();
  out->estimated = out->collected * s;
  out->estimated_bytes = out->bytes * s;
}

size_t gt_get_name_stats(gt_name_stats *out, size_t cap) {
  gt__intern_setup();
  uint32_t n = gt__name_count(), sites = gt__site_count();
  if (!out) cap = 0;
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
  /* The reserved sites, once something was counted there. */
  size_t total = n;
  for (uint32_t id = GT_FIRST_RESERVED; id <= GT_OTHER_SITE; id++) {
    gt_site *r = gt__site(id);
    gt_name_stats e = {
        .name = r->name,
        .collected = atomic_load_explicit(&r->collected, memory_order_relaxed),
        .freed = atomic_load_explicit(&r->freed, memory_order_relaxed),
        .bytes = atomic_load_explicit(&r->bytes, memory_order_relaxed)};
    if (!e.collected && !e.freed) continue;
    if (total < cap) out[total] = e;
    total++;
  }
  return total;
}
