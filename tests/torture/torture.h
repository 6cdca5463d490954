/* The torture suite's harness: checks that count and print, a watchdog
 * that turns a hang into a failure with a message, mutator threads
 * registered with the collector, a private gt configuration, and the
 * byte pattern every object is filled with.
 *
 * Plain C, no Criterion: these programs must also start under
 * ThreadSanitizer. Every test exits 0 only if every check passed, and
 * prints each failed check with what was expected and what was found.
 *
 * Mutator threads are created with GC_pthread_create explicitly (the
 * redirect macros are off) so that the watchdog thread can be a plain
 * pthread the collector never stops: a hang inside a stopped world is
 * still reported. */
#ifndef GT_TORTURE_H
#define GT_TORTURE_H

#define GC_NO_THREAD_REDIRECTS
#include <gc.h>
#include <gt/gt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Sanitizer builds run the same checks on fewer objects (CMake defines
 * TT_SANITIZED there): ASan is 3-10x slower on the fill/verify loops. */
#ifdef TT_SANITIZED
#define TT_SCALE(n) ((n) / 8 ? (n) / 8 : 1)
#else
#define TT_SCALE(n) (n)
#endif

#define TT_NOINLINE __attribute__((noinline))
/* Helpers every test may or may not use. */
#define TT_FN static __attribute__((unused))

/* ---- checks ------------------------------------------------------------- */

/* Weak, so that every file of one test program shares one tally. */
__attribute__((weak)) _Atomic unsigned tt_passed, tt_failed;

static inline bool tt_check(bool ok, const char *file, int line,
                            const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static inline bool tt_check(bool ok, const char *file, int line,
                            const char *fmt, ...) {
  if (ok) {
    atomic_fetch_add(&tt_passed, 1);
    return true;
  }
  atomic_fetch_add(&tt_failed, 1);
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "FAIL %s:%d: %s\n", file, line, msg);
  return false;
}

/* CHECK(cond, "printf format", ...): counts, prints on failure, and
 * evaluates to cond so that a caller can stop early. */
#define CHECK(cond, ...) tt_check((cond), __FILE__, __LINE__, __VA_ARGS__)
#define CHECK_EQ(a, b, what)                                                   \
  tt_check((uint64_t)(a) == (uint64_t)(b), __FILE__, __LINE__,                 \
           "%s: expected %llu, got %llu", (what),                              \
           (unsigned long long)(uint64_t)(b),                                  \
           (unsigned long long)(uint64_t)(a))

/* The exit status of a test: prints the tally. */
static inline int tt_finish(const char *test) {
  unsigned f = atomic_load(&tt_failed);
  printf("%s: %u checks passed, %u failed\n", test, atomic_load(&tt_passed), f);
  fflush(stdout);
  return f ? 1 : 0;
}

/* ---- watchdog ----------------------------------------------------------- */

__attribute__((weak)) _Atomic(const char *) tt_phase = "start";
static int tt_watch_seconds;

/* Names what the test is doing, for the watchdog's message. */
static inline void tt_step(const char *what) {
  atomic_store(&tt_phase, what);
}

TT_FN void *tt_watchdog_main(void *arg) {
  (void)arg;
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += tt_watch_seconds;
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) != 0) {
  }
  char msg[512];
  int n = snprintf(msg, sizeof msg,
                   "FAIL watchdog: still running after %d s, during: %s "
                   "(a hang)\n",
                   tt_watch_seconds, atomic_load(&tt_phase));
  if (n > 0)
    (void)!write(2, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
  _exit(3);
}

/* After `seconds` the whole process exits with status 3 and a message
 * naming the current tt_step. A plain pthread: the collector never stops
 * it, so it fires even when the world is stopped for good. */
static inline void tt_watchdog(int seconds) {
  pthread_t t;
  setvbuf(stdout, NULL, _IOLBF, 0); /* each line out before a crash */
  tt_watch_seconds = seconds;
  if (pthread_create(&t, NULL, tt_watchdog_main, NULL) == 0)
    pthread_detach(t);
  else
    fprintf(stderr, "warning: no watchdog thread\n");
}

/* ---- threads ------------------------------------------------------------ */

/* A mutator thread, registered with the collector as gt requires. */
static inline pthread_t tt_spawn(void *(*fn)(void *), void *arg) {
  pthread_t t;
  if (GC_pthread_create(&t, NULL, fn, arg) != 0) {
    fprintf(stderr, "FAIL: cannot create a thread\n");
    exit(2);
  }
  return t;
}

static inline void *tt_join(pthread_t t) {
  void *r = NULL;
  GC_pthread_join(t, &r);
  return r;
}

/* A thread the collector does not know: it must not touch collected
 * memory (it may call gt_flush, gt_shutdown, gt_get_stats). */
static inline pthread_t tt_spawn_plain(void *(*fn)(void *), void *arg) {
  pthread_t t;
  if (pthread_create(&t, NULL, fn, arg) != 0) {
    fprintf(stderr, "FAIL: cannot create a thread\n");
    exit(2);
  }
  return t;
}

static inline void tt_sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

/* ---- gt ---------------------------------------------------------------- */

static char tt_spool[64];

TT_FN void tt_remove_spool(void) {
  if (tt_spool[0]) rmdir(tt_spool); /* empty unless a delivery failed */
}

/* The private spool (mkdtemp: 0700, ours), made once and removed at the
 * maker's exit; children forked after it share it (their _exit leaves it
 * alone). */
TT_FN void tt_make_spool(void) {
  if (tt_spool[0]) return;
  snprintf(tt_spool, sizeof tt_spool, "/tmp/gt-torture-XXXXXX");
  if (!mkdtemp(tt_spool)) {
    perror("mkdtemp");
    exit(2);
  }
  atexit(tt_remove_spool);
}

/* Starts gt on the log backend writing to /dev/null, with the private spool
 * and extra key/value pairs (NULL-terminated). Returns gt_init's result;
 * gt_last_error() says why on failure. */
static inline int tt_gt_init(const char *const *kv) {
  tt_make_spool();
  gt_options *o = gt_options_new();
  gt_options_set(o, "gt.backend", "log");
  gt_options_set(o, "log.path", "/dev/null");
  gt_options_set(o, "gt.spool_dir", tt_spool);
  for (; kv && kv[0]; kv += 2)
    if (gt_options_set(o, kv[0], kv[1]) != 0) {
      fprintf(stderr, "FAIL: option %s=%s: %s\n", kv[0], kv[1],
              gt_last_error());
      exit(2);
    }
  int rc = gt_init(o);
  gt_options_free(o);
  return rc;
}

/* Like tt_gt_init, but any failure ends the test. */
static inline void tt_gt_start(const char *const *kv) {
  int rc = tt_gt_init(kv);
  if (rc != 0) {
    fprintf(stderr, "FAIL: gt_init: %d %s\n", rc, gt_last_error());
    exit(1);
  }
}

/* bdwgc keeps the end of its latest heap mapping in a static of libgc
 * that is scanned as a root, so each growth of the heap can pin one dead
 * object (docs/design.md, "Conservative retention"): the collector holds
 * it reachable and gt rightly does not report it. Tests that demand exact
 * counts size the heap up front, as a long-running program would, so the
 * heap never grows while they run (tt_heap_grew tells if it did). */
static inline size_t tt_heap_full(void) {
  struct GC_prof_stats_s ps;
  GC_get_prof_stats(&ps, sizeof ps);
  return ps.heapsize_full; /* unmapped blocks included */
}
static size_t tt_heap_presized;
static inline void tt_presize_heap(size_t mb) {
  size_t want = mb << 20, have = tt_heap_full();
  if (have < want) GC_expand_hp(want - have);
  tt_heap_presized = tt_heap_full();
}
/* Says so if the heap grew past its presized size (which can pin one
 * dead object per growth); call when a count is short. */
static inline void tt_note_heap_growth(void) {
  size_t now = tt_heap_full();
  if (tt_heap_presized && now > tt_heap_presized)
    fprintf(stderr,
            "  note: the heap grew from %zu to %zu KiB during the test; "
            "each growth may pin one dead object (libgc's last_addr)\n",
            tt_heap_presized >> 10, now >> 10);
}

/* Totals of one object name (zeros if gt never saw it). */
static inline gt_name_stats tt_name(const char *name) {
  gt_name_stats ns[256];
  size_t n = gt_get_name_stats(ns, 256);
  for (size_t i = 0; i < n && i < 256; i++)
    if (ns[i].name && strcmp(ns[i].name, name) == 0) return ns[i];
  return (gt_name_stats){.name = name};
}

static inline void tt_print_stats(const char *tag) {
  gt_stats s;
  gt_get_stats(&s);
  fprintf(stderr,
          "  [%s] allocated=%llu tracked=%llu collected=%llu freed=%llu "
          "overflowed=%llu lost=%llu\n",
          tag, (unsigned long long)s.allocated, (unsigned long long)s.tracked,
          (unsigned long long)s.collected, (unsigned long long)s.freed,
          (unsigned long long)s.overflowed, (unsigned long long)s.lost);
}

/* Overwrites the dead part of the stack below the caller, so that stale
 * copies of dropped pointers cannot keep objects alive for a collection
 * the test starts itself (gt_collect does the same for its own). */
TT_FN TT_NOINLINE void tt_scrub_stack(void) {
  volatile char buf[16384];
  memset((char *)buf, 0, sizeof buf);
}

/* Collects until a run reports nothing new (at most `max` runs): lazy
 * sweeping and other threads' leftovers settle within a few. Returns the
 * total reported. */
TT_FN TT_NOINLINE size_t tt_collect_settle(int max) {
  size_t total = 0;
  for (int i = 0; i < max; i++) {
    size_t n = gt_collect();
    total += n;
    if (n == 0 && i >= 1) break;
  }
  return total;
}

/* ---- the byte pattern -------------------------------------------------- */

static inline uint64_t tt_mix(uint64_t x) {
  x ^= x >> 31;
  x *= 0x7fb5d329728ea185ull;
  x ^= x >> 27;
  x *= 0x81dadef4bc2dd44dull;
  x ^= x >> 33;
  return x | 1;
}

/* The seed of an object: thread, index and a generation (a realloc'd
 * object is refilled with the next one). Small numbers are what the test
 * keeps in scanned memory; the seed itself never is, so no stored word
 * can look like a pointer. */
static inline uint64_t tt_seed(uint32_t thread, uint32_t index, uint32_t gen) {
  return tt_mix(((uint64_t)thread << 48) ^ ((uint64_t)gen << 40) ^ index);
}

/* Expected byte j of an object of n filled bytes: a stream derived from
 * the seed, and the seed's complement in the last word (n >= 16), so every
 * bit position holds both values somewhere. */
static inline uint8_t tt_byte(uint64_t seed, size_t j, size_t n) {
  if (n >= 16 && j >= n - 8) return (uint8_t)(~seed >> (8 * (j - (n - 8))));
  return (uint8_t)((seed >> (8 * (j & 7))) ^ (uint8_t)(j >> 3) * 0x9d);
}

static inline void tt_fill(void *p, size_t n, uint64_t seed) {
  uint8_t *b = p;
  for (size_t j = 0; j < n; j++)
    b[j] = tt_byte(seed, j, n);
}

/* Offset of the first of the first `len` bytes that differs from a fill
 * of n bytes, or -1. */
static inline long tt_verify(const void *p, size_t len, size_t n,
                             uint64_t seed) {
  const uint8_t *b = p;
  for (size_t j = 0; j < len; j++)
    if (b[j] != tt_byte(seed, j, n)) return (long)j;
  return -1;
}

#endif
