/* Lifecycle races, one case per process:
 *
 *   torture_lifecycle race | race-threads | cycles | cycles-nogc |
 *                     concurrent | before-init
 *
 * race          gt_collect (the main thread, the only one that collects)
 *               and gt_flush (a plain thread) racing gt_shutdown/gt_init
 *               cycles (another plain thread): never a hang, sane return
 *               values, and every dropped object reported in the end.
 * race-threads  the same with two collecting threads and the cycles in
 *               the main thread.
 * cycles        init/shutdown cycles while producer threads gt_malloc and
 *               gt_free: every gt_free is counted, none lost in a
 *               shutdown, and the stats survive gt_init.
 * cycles-nogc   the same with collections disabled (no thread is ever
 *               stopped: the ThreadSanitizer build runs this one).
 * concurrent    several threads in gt_collect at once: their results
 *               never add up to more than the objects dropped, and every
 *               dropped object is counted once.
 * before-init   objects allocated before gt_init: counted as allocated,
 *               reported, and collected never exceeds allocated. */
#include "torture.h"

static _Atomic bool stop;

/* Allocates and drops n objects in a frame of its own. */
static TT_NOINLINE void garbage_here(int n, const char *name) {
  for (int i = 0; i < n; i++)
    GC_reachable_here(gt_malloc(24 + (size_t)(i % 4) * 8, name));
}

typedef struct garbage_job {
  int n;
  const char *name;
} garbage_job;

static void *garbage_thread(void *arg) {
  garbage_job *j = arg;
  garbage_here(j->n, j->name);
  return NULL;
}

/* Dropped on a thread that ends: no stale copy of a pointer can stay in a
 * register or dead stack slot of the caller (bdwgc is conservative, and
 * the counts here are exact). Too few objects to start a collection, so
 * it is safe where collections must stay on one thread (TSan). */
static void garbage(int n, const char *name) {
  garbage_job j = {n, name};
  tt_join(tt_spawn(garbage_thread, &j));
}

static bool shutdown_rc_ok(int rc) {
  return rc == 0 || rc == GT_ETIMEDOUT;
}

/* ---- race --------------------------------------------------------------- */

#define RACE_CYCLES 30
#define RACE_NAME "l.race"

static _Atomic uint64_t race_allocated, race_reported, flushes;

/* The cycling thread: shutdown and init, again and again. */
static void *cycler(void *arg) {
  (void)arg;
  for (int c = 0; c < RACE_CYCLES; c++) {
    tt_sleep_ms(3);
    int rc = gt_shutdown(1000);
    CHECK(shutdown_rc_ok(rc), "cycle %d: gt_shutdown returned %d (%s)", c, rc,
          gt_last_error());
    tt_sleep_ms(1);
    rc = tt_gt_init(NULL);
    CHECK(rc == 0, "cycle %d: gt_init returned %d (%s)", c, rc,
          gt_last_error());
  }
  atomic_store(&stop, true);
  return NULL;
}

static void *flusher(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    int rc = gt_flush(200);
    CHECK(rc == 0 || rc == GT_ETIMEDOUT || rc == GT_ESTATE,
          "gt_flush returned %d", rc);
    atomic_fetch_add(&flushes, 1);
  }
  return NULL;
}

static void collect_loop(void) {
  while (!atomic_load(&stop)) {
    atomic_fetch_add(&race_allocated, 8); /* before: another thread may
                                             report them at once */
    garbage(8, RACE_NAME);
    size_t n = gt_collect();
    uint64_t total = atomic_fetch_add(&race_reported, n) + n;
    uint64_t alloc = atomic_load(&race_allocated);
    CHECK(total <= alloc,
          "gt_collect results add up to %llu, more than the %llu objects "
          "allocated",
          (unsigned long long)total, (unsigned long long)alloc);
  }
}

static void *collector(void *arg) {
  (void)arg;
  collect_loop();
  return NULL;
}

/* After the races: every object dropped is reported exactly once, or is
 * still reachable at gt_shutdown's walk. bdwgc may pin a dead object
 * conservatively (libgc's last_addr keeps one per heap growth, and an
 * ASan build grows the heap here), so a few may be live; never lost. */
static bool shut_down; /* by the case itself */

static void race_settle(void) {
  tt_step("final gt_flush, gt_collect and gt_shutdown");
  CHECK(gt_flush(5000) == 0, "final gt_flush failed");
  tt_collect_settle(4);
  CHECK(gt_shutdown(5000) == 0, "final gt_shutdown failed");
  shut_down = true;
  gt_name_stats n = tt_name(RACE_NAME);
  gt_stats st;
  gt_get_stats(&st);
  uint64_t alloc = atomic_load(&race_allocated);
  if (!CHECK(n.collected + st.live == alloc && st.live <= 2,
             "objects of " RACE_NAME " after the races: %llu allocated, "
             "%llu reported + %llu live at gt_shutdown",
             (unsigned long long)alloc, (unsigned long long)n.collected,
             (unsigned long long)st.live)) {
    tt_print_stats("after the races");
    tt_note_heap_growth();
  }
  printf("%llu objects (%llu live at the end), %llu flushes, %d init/shutdown "
         "cycles\n",
         (unsigned long long)alloc, (unsigned long long)st.live,
         (unsigned long long)atomic_load(&flushes), RACE_CYCLES);
}

static void race(void) {
  tt_gt_start(NULL);
  tt_step("gt_collect and gt_flush racing gt_shutdown/gt_init");
  pthread_t c = tt_spawn_plain(cycler, NULL), f = tt_spawn_plain(flusher, NULL);
  collect_loop();
  pthread_join(c, NULL);
  pthread_join(f, NULL);
  race_settle();
}

static void race_threads(void) {
  tt_gt_start(NULL);
  tt_step("two threads in gt_collect and one in gt_flush racing cycles");
  pthread_t c1 = tt_spawn(collector, NULL), c2 = tt_spawn(collector, NULL),
            f = tt_spawn(flusher, NULL);
  cycler(NULL);
  tt_join(c1);
  tt_join(c2);
  tt_join(f);
  race_settle();
}

/* ---- cycles ------------------------------------------------------------- */

#define CYCLES 25
#define PRODUCERS 4
#define CYCLE_NAME "l.cycle"

static void *producer(void *arg) {
  uint64_t *frees = arg;
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    void *p = gt_malloc(24, CYCLE_NAME);
    if (!p) continue;
    gt_free(p);
    ++*frees;
  }
  return NULL;
}

/* Counters gt keeps over the process's life must stay consistent at every
 * moment: nothing can be collected or freed that was not allocated. */
static void check_consistent(const char *when, int cycle) {
  gt_stats s;
  gt_get_stats(&s);
  CHECK(s.allocated >= s.collected, "%s %d: allocated %llu < collected %llu",
        when, cycle, (unsigned long long)s.allocated,
        (unsigned long long)s.collected);
}

static void cycles(bool nogc) {
  if (nogc) GC_disable(); /* no collection, so no thread is ever stopped */
  tt_gt_start(NULL);
  uint64_t frees[PRODUCERS] = {0};
  pthread_t t[PRODUCERS];
  for (int i = 0; i < PRODUCERS; i++)
    t[i] = tt_spawn(producer, &frees[i]);
  tt_step("init/shutdown cycles under gt_malloc/gt_free producers");
  for (int c = 0; c < CYCLES; c++) {
    tt_sleep_ms(4);
    int rc = gt_shutdown(1000);
    CHECK(shutdown_rc_ok(rc), "cycle %d: gt_shutdown returned %d (%s)", c, rc,
          gt_last_error());
    check_consistent("after gt_shutdown", c);
    tt_sleep_ms(1);
    rc = tt_gt_init(NULL);
    CHECK(rc == 0, "cycle %d: gt_init returned %d (%s)", c, rc,
          gt_last_error());
    check_consistent("after gt_init", c);
  }
  atomic_store(&stop, true);
  uint64_t calls = 0;
  for (int i = 0; i < PRODUCERS; i++) {
    tt_join(t[i]);
    calls += frees[i];
  }
  tt_step("final gt_flush");
  CHECK(gt_flush(5000) == 0, "final gt_flush failed");
  gt_name_stats n = tt_name(CYCLE_NAME);
  gt_stats s;
  gt_get_stats(&s);
  printf("%d cycles, %llu gt_free calls\n", CYCLES, (unsigned long long)calls);
  CHECK_EQ(n.freed, calls,
           "gt_free calls counted (name " CYCLE_NAME ") over all cycles");
  CHECK_EQ(s.freed, calls,
           "stats.freed over all cycles (stats survive gt_init)");
  CHECK(s.allocated >= s.collected + s.freed,
        "stats: allocated %llu < collected %llu + freed %llu",
        (unsigned long long)s.allocated, (unsigned long long)s.collected,
        (unsigned long long)s.freed);
  if (nogc) GC_enable();
}

/* ---- concurrent gt_collect ---------------------------------------------- */

#define CONC_THREADS 4
#define CONC_ROUNDS 25
#define CONC_NAME "l.conc"

static pthread_barrier_t barrier;

static void *conc_thread(void *arg) {
  uint64_t *got = arg;
  int per = TT_SCALE(2000);
  for (int r = 0; r < CONC_ROUNDS; r++) {
    garbage(per, CONC_NAME);
    pthread_barrier_wait(&barrier); /* all in gt_collect together */
    *got += gt_collect();
    pthread_barrier_wait(&barrier);
  }
  return NULL;
}

static void concurrent(void) {
  tt_gt_start(NULL);
  tt_step("several threads in gt_collect at once");
  pthread_barrier_init(&barrier, NULL, CONC_THREADS);
  uint64_t got[CONC_THREADS] = {0}, sum = 0;
  pthread_t t[CONC_THREADS];
  for (int i = 0; i < CONC_THREADS; i++)
    t[i] = tt_spawn(conc_thread, &got[i]);
  for (int i = 0; i < CONC_THREADS; i++) {
    tt_join(t[i]);
    sum += got[i];
  }
  uint64_t dropped = (uint64_t)CONC_THREADS * CONC_ROUNDS * TT_SCALE(2000);
  CHECK(sum <= dropped,
        "concurrent gt_collect calls returned %llu in all, more than the "
        "%llu objects dropped",
        (unsigned long long)sum, (unsigned long long)dropped);
  tt_step("final gt_collect");
  tt_collect_settle(4);
  gt_stats s;
  gt_get_stats(&s);
  if (!CHECK_EQ(s.collected, dropped, "stats.collected after the last run"))
    tt_note_heap_growth();
  CHECK_EQ(tt_name(CONC_NAME).collected, dropped,
           "objects reported under " CONC_NAME);
  printf("%llu objects dropped; gt_collect results summed to %llu\n",
         (unsigned long long)dropped, (unsigned long long)sum);
}

/* ---- before gt_init ----------------------------------------------------- */

#define EARLY 1000

static void before_init(void) {
  tt_step("allocating before gt_init");
  garbage(EARLY, "l.early");
  gt_collect(); /* no pipeline yet: counted for the next one */
  check_consistent("before gt_init", 0);
  tt_step("gt_init, gt_collect");
  tt_gt_start(NULL);
  check_consistent("after gt_init", 0);
  tt_scrub_stack(); /* the first gt_collect's frames held object addresses */
  tt_collect_settle(4);
  check_consistent("after gt_collect", 0);
  gt_stats s;
  gt_get_stats(&s);
  CHECK_EQ(s.allocated, EARLY, "stats.allocated: objects made before gt_init");
  CHECK_EQ(s.collected, EARLY, "stats.collected: objects made before gt_init");
  CHECK_EQ(tt_name("l.early").collected, EARLY,
           "objects made before gt_init reported under their name");

  tt_step("allocating between gt_shutdown and gt_init");
  CHECK(gt_shutdown(5000) == 0, "gt_shutdown: %s", gt_last_error());
  garbage(EARLY, "l.between");
  check_consistent("after gt_shutdown", 1);
  tt_gt_start(NULL);
  check_consistent("after the second gt_init", 1);
  tt_scrub_stack();
  tt_collect_settle(4);
  check_consistent("after gt_collect", 1);
  gt_get_stats(&s);
  CHECK_EQ(s.allocated, 2 * EARLY, "stats.allocated over both sessions");
  CHECK_EQ(s.collected, 2 * EARLY, "stats.collected over both sessions");
  CHECK_EQ(tt_name("l.between").collected, EARLY,
           "objects made between gt_shutdown and gt_init reported");
}

int main(int argc, char **argv) {
  const char *c = argc > 1 ? argv[1] : "";
  tt_watchdog(20); /* a hang anywhere fails with the step it was in */
  GC_INIT();
  tt_presize_heap(32);
  if (strcmp(c, "race") == 0)
    race();
  else if (strcmp(c, "race-threads") == 0)
    race_threads();
  else if (strcmp(c, "cycles") == 0)
    cycles(false);
  else if (strcmp(c, "cycles-nogc") == 0)
    cycles(true);
  else if (strcmp(c, "concurrent") == 0)
    concurrent();
  else if (strcmp(c, "before-init") == 0)
    before_init();
  else {
    fprintf(stderr, "usage: %s CASE (see the source)\n", argv[0]);
    return 2;
  }
  tt_step("shutdown");
  if (!shut_down)
    CHECK(gt_shutdown(5000) == 0, "gt_shutdown: %s", gt_last_error());
  return tt_finish(c);
}
