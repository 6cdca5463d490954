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

#include "../internal.h"

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

/* Every third collected object is a leak: unreleased ones take their own
 * overflow counters when the ring is full, and must be counted exactly. */
static bool leaked(int i) {
  return i % 10 && i % 3 == 0;
}

static void *emitter(void *arg) {
  uint32_t site = (uint32_t)(uintptr_t)arg;
  for (int i = 0; i < PER_EMITTER; i++)
    gt__emit(site, i % 10 ? GT_EV_COLLECTED : GT_EV_FREED, 24, 0,
             leaked(i) ? GT_EVF_UNRELEASED : 0);
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
  uint64_t leaks = 0;
  for (int i = 0; i < PER_EMITTER; i++)
    leaks += leaked(i);
  CHECK(st.unreleased == 3 * leaks, "unreleased %llu of %llu",
        (unsigned long long)st.unreleased, (unsigned long long)(3 * leaks));
  CHECK(gt_shutdown(5000) == 0, "shutdown");
}

/* Lifecycle races without the collector: producers emit while the main
 * thread runs init/shutdown cycles and flushers call gt_flush at any
 * moment. Nothing may hang, and after a last gt_init and flush every event
 * is counted exactly once (events pushed while no worker runs wait in the
 * ring or the overflow counters). */
static _Atomic int cycling;
static _Atomic uint64_t emitted[3];

static void *cycle_emitter(void *arg) {
  uint32_t site = (uint32_t)(uintptr_t)arg;
  while (atomic_load(&cycling)) {
    gt__emit(site, GT_EV_FREED, 8, 0, 0);
    atomic_fetch_add(&emitted[site % 3], 1);
  }
  return NULL;
}

static void *flusher(void *arg) {
  (void)arg;
  while (atomic_load(&cycling)) {
    int rc = gt_flush(50);
    if (rc != 0 && rc != GT_ESTATE && rc != GT_ETIMEDOUT) {
      failed++;
      fprintf(stderr, "FAIL gt_flush returned %d\n", rc);
    }
  }
  return NULL;
}

static int init_small(const char *cap) {
  gt_options *o = gt_options_new();
  gt_options_set(o, "log.path", "/dev/null");
  gt_options_set(o, "gt.queue_capacity", cap);
  int rc = gt_init(o);
  gt_options_free(o);
  return rc;
}

static void lifecycle_cycles(void) {
  uint32_t site = gt__intern_site("Cycle", NULL, 0);
  gt_stats st0;
  gt_get_stats(&st0);
  atomic_store(&cycling, 1);
  pthread_t e[3], f[2];
  for (int i = 0; i < 3; i++)
    pthread_create(&e[i], NULL, cycle_emitter, (void *)(uintptr_t)site);
  for (int i = 0; i < 2; i++)
    pthread_create(&f[i], NULL, flusher, NULL);
  int bad = 0;
  for (int c = 0; c < 20; c++) {
    bad += init_small(c % 2 ? "16" : "1024") != 0;
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
    int rc = gt_shutdown(2000); /* a busy sink may be left to finish */
    bad += rc != 0 && rc != GT_ETIMEDOUT;
  }
  CHECK(bad == 0, "%d init/shutdown calls failed", bad);
  atomic_store(&cycling, 0);
  for (int i = 0; i < 3; i++)
    pthread_join(e[i], NULL);
  for (int i = 0; i < 2; i++)
    pthread_join(f[i], NULL);
  CHECK(init_small("1024") == 0, "gt_init: %s", gt_last_error());
  CHECK(gt_flush(10000) == 0, "final flush");
  gt_stats st;
  gt_get_stats(&st);
  uint64_t n = atomic_load(&emitted[0]) + atomic_load(&emitted[1]) +
               atomic_load(&emitted[2]);
  CHECK(st.freed - st0.freed == n, "freed %llu of %llu emitted",
        (unsigned long long)(st.freed - st0.freed), (unsigned long long)n);
  CHECK(gt_shutdown(5000) == 0, "shutdown");
}

/* Delivery under failure: the log backend writing to /dev/full fails, so
 * every message is spooled; a later pipeline with a working log replays
 * them all. Exercises the sink thread, retries, spool and replay. */
static void delivery_spool_replay(void) {
  char dir[] = "/tmp/gt-stress-spool-XXXXXX";
  CHECK(mkdtemp(dir) != NULL, "mkdtemp");
  uint32_t site = gt__intern_site("Spooled", NULL, 0);
  const char *paths[2] = {"/dev/full", "/dev/null"};
  gt_stats st[3];
  gt_get_stats(&st[0]);
  for (int phase = 0; phase < 2; phase++) {
    gt_options *o = gt_options_new();
    gt_options_set(o, "log.path", paths[phase]);
    gt_options_set(o, "gt.spool_dir", dir);
    gt_options_set(o, "gt.retry_max", "0");
    gt_options_set(o, "gt.batch_max", "10");
    int rc = gt_init(o);
    gt_options_free(o);
    CHECK(rc == 0, "gt_init: %s", gt_last_error());
    if (phase == 0) {
      pthread_t t[3];
      for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, emitter, (void *)(uintptr_t)site);
      for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
      gt_flush(10000);
    } else {
      for (int i = 0; i < 200; i++) { /* replay runs in the sink thread */
        gt_get_stats(&st[2]);
        if (st[2].replayed - st[0].replayed >= st[1].spooled - st[0].spooled)
          break;
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
      }
    }
    CHECK(gt_shutdown(5000) == 0, "shutdown");
    gt_get_stats(&st[phase + 1]);
  }
  uint64_t spooled = st[1].spooled - st[0].spooled;
  CHECK(spooled > 0 && st[1].sent == st[0].sent, "phase 1 spooled %llu",
        (unsigned long long)spooled);
  CHECK(st[2].replayed - st[0].replayed == spooled, "replayed %llu of %llu",
        (unsigned long long)(st[2].replayed - st[0].replayed),
        (unsigned long long)spooled);
  CHECK(st[2].lost == st[0].lost, "lost %llu",
        (unsigned long long)(st[2].lost - st[0].lost));
  char cmd[96];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK(system(cmd) == 0, "rm");
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
  /* gt_collect waits at most gt.collect_wait_ms for the counting; an ASan
   * build on a busy machine can take longer. */
  CHECK(gt_flush(60000) == 0, "flush");
  gt_stats st;
  gt_get_stats(&st);
  uint64_t freed = 2 * (PER_MUTATOR / 1000);
  CHECK(st.allocated - st0.allocated == 2 * PER_MUTATOR + freed,
        "allocated %llu", (unsigned long long)(st.allocated - st0.allocated));
  CHECK(st.freed - st0.freed == freed, "freed %llu",
        (unsigned long long)(st.freed - st0.freed));
  CHECK(gt_shutdown(5000) == 0, "shutdown");
  /* Every object is reported once or still reachable at gt_shutdown's
   * walk. A stale copy of a pointer (an unoptimised ASan build leaves
   * some) may keep one alive, conservatively; never more than a few. */
  gt_get_stats(&st);
  uint64_t collected = st.collected - st0.collected;
  CHECK(collected + st.live == 2 * PER_MUTATOR && st.live <= 2,
        "collected %llu + live %llu", (unsigned long long)collected,
        (unsigned long long)st.live);
}
#endif

int main(void) {
  GC_INIT();
  ring_mpsc();
  pipeline_emitters();
  lifecycle_cycles();
  delivery_spool_replay();
#ifndef UNDER_TSAN
  pipeline_threads();
#else
  printf("GC mutator threads: not run under TSan (signals; see above)\n");
#endif
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
