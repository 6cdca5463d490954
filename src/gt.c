/* Lifecycle: gt_init, gt_shutdown, gt_collect, gt_flush, stats, errors. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gc.h>

#include "gt_internal.h"

#define GT_INITIAL_HEAP (4u << 20)

static _Thread_local char last_error[512];
static pthread_mutex_t life = PTHREAD_MUTEX_INITIALIZER;
static bool initialized, atexit_done;
static gt_config config;
static uint64_t base_allocated, base_tracked; /* stats count from gt_init */

int gt__fail(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  return -code;
}

void gt__clear_error(void) {
  last_error[0] = 0;
}

void gt__warn(const char *fmt, ...) {
  char buf[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  fprintf(stderr, "gt: %s\n", buf);
}

static int64_t clock_ms(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t gt__now_ms(void) {
  return clock_ms(CLOCK_MONOTONIC);
}

int64_t gt__wall_ms(void) {
  return clock_ms(CLOCK_REALTIME);
}

const char *gt_last_error(void) {
  return last_error;
}

const char *gt_strerror(int err) {
  switch (err < 0 ? -err : err) {
  case GT_OK:
    return "success";
  case GT_EINVAL:
    return "invalid argument or configuration";
  case GT_ENOMEM:
    return "out of memory";
  case GT_ESTATE:
    return "not initialised, or already initialised";
  case GT_EBACKEND:
    return "backend not available";
  case GT_ESEND:
    return "delivery failed";
  case GT_ETIMEDOUT:
    return "timed out";
  case GT_EIO:
    return "I/O error";
  default:
    return "unknown error";
  }
}

static void fork_prepare(void) {
  pthread_mutex_lock(&life);
  gt__pipeline_fork(GT_FORK_PREPARE);
  gt__alloc_fork(GT_FORK_PREPARE);
  gt__intern_fork(GT_FORK_PREPARE);
}

static void fork_parent(void) {
  gt__intern_fork(GT_FORK_PARENT);
  gt__alloc_fork(GT_FORK_PARENT);
  gt__pipeline_fork(GT_FORK_PARENT);
  pthread_mutex_unlock(&life);
}

static void fork_child(void) {
  gt__intern_fork(GT_FORK_CHILD);
  gt__alloc_fork(GT_FORK_CHILD);
  gt__pipeline_fork(GT_FORK_CHILD);
  initialized = false; /* the child may gt_init a pipeline of its own */
  pthread_mutex_unlock(&life);
}

static void at_exit(void) {
  gt_shutdown((int)(config.timeout_ms ? config.timeout_ms : 10000));
}

int gt_init(const gt_options *opts) {
  gt__clear_error();
  pthread_mutex_lock(&life);
  int rc = 0;
  if (initialized) {
    rc = gt__fail(GT_ESTATE, "gt_init: already initialised");
    goto out;
  }
  if (!GC_is_init_called()) GC_INIT();
  /* bdwgc keeps the end of its last heap mapping in a static that is
   * scanned as a root; it points at the first block of the previous heap
   * section and pins whatever object sits there. A heap sized up front
   * means small programs never grow it, so gt_collect's counts are exact
   * there (docs/design.md, "Conservative retention"). */
  if (GC_get_heap_size() < GT_INITIAL_HEAP)
    GC_expand_hp(GT_INITIAL_HEAP - GC_get_heap_size());
  gt_config cfg;
  if ((rc = gt__config_build(opts, &cfg))) goto out;
  if ((rc = gt__alloc_setup(&cfg))) {
    gt__config_free(&cfg);
    goto out;
  }
  config = cfg;
  gt__alloc_counts(&base_allocated, &base_tracked);
  if ((rc = gt__pipeline_start(&config))) {
    gt__config_free(&config);
    goto out;
  }
  initialized = true;
  if (!atexit_done) {
    atexit_done = atexit(at_exit) == 0;
    pthread_atfork(fork_prepare, fork_parent, fork_child);
  }
out:
  pthread_mutex_unlock(&life);
  return rc;
}

int gt_shutdown(int timeout_ms) {
  pthread_mutex_lock(&life);
  if (!initialized) {
    pthread_mutex_unlock(&life);
    return -GT_ESTATE;
  }
  /* Objects the program dropped just before exiting are reported too. A
   * thread unknown to the collector must not start a collection. */
  gt__pipeline_deadline(timeout_ms);
  if (GC_thread_is_registered()) gt__collect_inner();
  int rc = gt__pipeline_stop(timeout_ms);
  initialized = false;
  uint64_t scale = config.alloc_sample_every;
  gt__config_free(&config);
  config.alloc_sample_every = scale; /* gt_get_stats still scales */
  pthread_mutex_unlock(&life);
  return rc;
}

int gt_flush(int timeout_ms) {
  return gt__pipeline_sync(timeout_ms);
}

void gt_get_stats(gt_stats *out) {
  memset(out, 0, sizeof *out);
  gt__pipeline_stats(out);
  gt__alloc_counts(&out->allocated, &out->tracked);
  out->allocated -= base_allocated;
  out->tracked -= base_tracked;
  uint64_t scale = config.alloc_sample_every ? config.alloc_sample_every : 1;
  out->estimated = out->collected * scale;
}

size_t gt_get_name_stats(gt_name_stats *out, size_t cap) {
  return gt__pipeline_name_stats(out, cap);
}
