/* Small utilities every layer uses: the error of the last failed call,
 * warnings, clocks, and gt's own threads and condition variables. Nothing
 * here knows about the collector. */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

static _Thread_local char last_error[512];

int gt__fail(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  return code;
}

void gt__clear_error(void) {
  last_error[0] = 0;
}

const char *gt_last_error(void) {
  return last_error;
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

/* Every wait in gt is on CLOCK_MONOTONIC, like every deadline; a default
 * (realtime) condition variable would see each deadline as long past and
 * turn an idle wait into a busy loop. */
void gt__cond_init(pthread_cond_t *c) {
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  pthread_cond_init(c, &a);
  pthread_condattr_destroy(&a);
}

void gt__cond_wait_ms(pthread_cond_t *c, pthread_mutex_t *m, int64_t ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  pthread_cond_timedwait(c, m, &ts);
}

/* The collector's suspend and restart signals (gc/setup.c says which). */
static _Atomic int keep_signals[2];

void gt__thread_keep_signals(int suspend, int restart) {
  atomic_store(&keep_signals[0], suspend);
  atomic_store(&keep_signals[1], restart);
}

/* gt's threads take no signal meant for the program (its handlers may
 * assume one of its own threads) and are unknown to the collector: this
 * file does not include gc.h, so pthread_create is the real one. The
 * calling thread blocks the signals while it creates one, all but the
 * collector's: it may be a thread the collector stops, and pthread_create
 * can wait for a lock a stopped thread holds (an ASan run aborted with
 * "Signals delivery fails constantly"). gt's threads are never sent
 * those two, being unknown to the collector. */
int gt__thread_start(pthread_t *t, void *(*fn)(void *), void *arg) {
  sigset_t all, old;
  sigfillset(&all);
  for (int i = 0; i < 2; i++) {
    int sig = atomic_load(&keep_signals[i]);
    if (sig > 0) sigdelset(&all, sig);
  }
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int rc = pthread_create(t, NULL, fn, arg);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return rc;
}

/* ---- per-thread blocks ------------------------------------------------- */

typedef struct tls_block {
  struct tls_block *next; /* this thread's other blocks */
  void **slot;
  max_align_t data[];
} tls_block;

static pthread_key_t blocks_key;
static pthread_once_t blocks_once = PTHREAD_ONCE_INIT;

static void free_blocks(void *head) {
  for (tls_block *b = head, *next; b; b = next) {
    next = b->next;
    *b->slot = NULL; /* the ending thread's own TLS: this thread's */
    free(b);
  }
}

static void make_blocks_key(void) {
  pthread_key_create(&blocks_key, free_blocks);
}

void *gt__tls_block(void **slot, size_t size) {
  pthread_once(&blocks_once, make_blocks_key);
  tls_block *b = calloc(1, sizeof *b + size);
  if (!b) return NULL;
  b->slot = slot;
  b->next = pthread_getspecific(blocks_key);
  pthread_setspecific(blocks_key, b);
  return *slot = b->data;
}
