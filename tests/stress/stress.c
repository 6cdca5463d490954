/* Concurrency stress without Criterion, so that it also runs under
 * ThreadSanitizer (Criterion cannot start under TSan: Snaipe/Criterion#274).
 * bdwgc stops the world with signals, which TSan defers, so under TSan the
 * collector cannot run with several threads: that build drives the ring and
 * the pipeline worker from plain threads and leaves the GC mutator part to
 * the other configurations. Exits non-zero on any wrong count. */
#define GC_NO_THREAD_REDIRECTS /* plain threads here; GC ones explicitly */
#include <gc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "gt_internal.h"

static int passed, failed;

#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (cond) {                                                                \
      passed++;                                                                \
    } else {                                                                   \
      failed++;                                                                \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                     \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
    }                                                                          \
  } while (0)

#define PRODUCERS 3
#define PER_PRODUCER 50000

static gt_ring *ring;

static void *produce(void *arg) {
  uint32_t id = (uint32_t)(uintptr_t)arg;
  for (uint64_t i = 0; i < PER_PRODUCER; i++) {
    gt_event ev = {.site = id, .size = i};
    while (!gt__ring_push(ring, &ev))
      sched_yield();
  }
  return NULL;
}

static void ring_mpsc(void) {
  ring = gt__ring_new(256);
  pthread_t t[PRODUCERS];
  for (uintptr_t i = 0; i < PRODUCERS; i++)
    pthread_create(&t[i], NULL, produce, (void *)i);
  uint64_t next[PRODUCERS] = {0}, total = 0, disorder = 0;
  gt_event ev;
  while (total < (uint64_t)PRODUCERS * PER_PRODUCER) {
    if (!gt__ring_pop(ring, &ev)) {
      sched_yield();
      continue;
    }
    disorder += ev.size != next[ev.site];
    next[ev.site] = ev.size + 1;
    total++;
  }
  for (int i = 0; i < PRODUCERS; i++)
    pthread_join(t[i], NULL);
  CHECK(disorder == 0, "ring reordered %llu events",
        (unsigned long long)disorder);
  CHECK(!gt__ring_pop(ring, &ev), "ring not empty");
  gt__ring_free(ring);
}

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

#define PER_EMITTER 40000

static void *emitter(void *arg) {
  uint32_t site = (uint32_t)(uintptr_t)arg;
  for (int i = 0; i < PER_EMITTER; i++)
    gt__emit(site, i % 10 ? GT_EV_COLLECTED : GT_EV_FREED, 24, 0);
  return NULL;
}

/* Producers racing the worker through a tiny ring: every event is counted
 * once, in the ring or in the overflow counters. */
static void pipeline_emitters(void) {
  gt_options *o = gt_options_new();
  gt_options_set(o, "log.path", "/dev/null");
  gt_options_set(o, "gt.queue_capacity", "16");
  gt_options_set(o, "gt.sample_every", "7");
  int rc = gt_init(o);
  gt_options_free(o);
  CHECK(rc == 0, "gt_init: %s", gt_last_error());
  uint32_t sites[3] = {gt__intern_site("E1", NULL, 0),
                       gt__intern_site("E2", "x.c", 1),
                       gt__intern_site("E3", NULL, 0)};
  pthread_t t[3];
  for (int i = 0; i < 3; i++)
    pthread_create(&t[i], NULL, emitter, (void *)(uintptr_t)sites[i]);
  for (int i = 0; i < 3; i++)
    pthread_join(t[i], NULL);
  CHECK(gt_flush(10000) == 0, "flush");
  gt_stats st;
  gt_get_stats(&st);
  CHECK(st.collected == 3 * (PER_EMITTER - PER_EMITTER / 10), "collected %llu",
        (unsigned long long)st.collected);
  CHECK(st.freed == 3 * (PER_EMITTER / 10), "freed %llu",
        (unsigned long long)st.freed);
  CHECK(st.sampled == st.collected / 7, "sampled %llu",
        (unsigned long long)st.sampled);
  CHECK(gt_shutdown(5000) == 0, "shutdown");
}

#ifndef UNDER_TSAN
#define PER_MUTATOR 30000

static void *mutator(void *arg) {
  for (int i = 0; i < PER_MUTATOR; i++) {
    long *p = GT_MALLOC(4 * sizeof(long), (const char *)arg);
    p[0] = i;
    if (i % 1000 == 0) gt_free(GT_MALLOC(8, "Freed"));
    if (i % 10000 == 0) gt_collect();
  }
  return NULL;
}

static void pipeline_threads(void) {
  gt_options *o = gt_options_new();
  gt_options_set(o, "log.path", "/dev/null");
  gt_options_set(o, "gt.queue_capacity", "64"); /* overflow on purpose */
  int rc = gt_init(o);
  gt_options_free(o);
  CHECK(rc == 0, "gt_init: %s", gt_last_error());
  gt_stats st0; /* statistics count from the start of the process */
  gt_get_stats(&st0);
  pthread_t a, b; /* registered with the collector, as mutators must be */
  GC_pthread_create(&a, NULL, mutator, "A");
  GC_pthread_create(&b, NULL, mutator, "B");
  GC_pthread_join(a, NULL);
  GC_pthread_join(b, NULL);
  gt_collect();
  gt_stats st;
  gt_get_stats(&st);
  uint64_t freed = 2 * (PER_MUTATOR / 1000);
  CHECK(st.allocated - st0.allocated == 2 * PER_MUTATOR + freed,
        "allocated %llu", (unsigned long long)(st.allocated - st0.allocated));
  CHECK(st.collected - st0.collected == 2 * PER_MUTATOR, "collected %llu",
        (unsigned long long)(st.collected - st0.collected));
  CHECK(st.freed - st0.freed == freed, "freed %llu",
        (unsigned long long)(st.freed - st0.freed));
  CHECK(gt_shutdown(5000) == 0, "shutdown");
}
#endif

int main(void) {
  GC_INIT();
  ring_mpsc();
  pipeline_emitters();
#ifndef UNDER_TSAN
  pipeline_threads();
#else
  printf("GC mutator threads: not run under TSan (signals; see above)\n");
#endif
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
