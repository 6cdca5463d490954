/* Leak mode under concurrency, on watched objects, and misused: exact
 * counts when 4 threads mark and release their own and shared objects,
 * the mark of gt_watch'ed bdwgc objects (chained finalizers included), and
 * GT_EINVAL without a crash for what cannot carry a mark. */
#include <pthread.h>
#include <stdlib.h>

#include <gc/gc_mark.h> /* GC_get_kind_and_size */

#include "helpers.h"

#define THREADS 4
#define OWN 3000   /* per thread */
#define SHARED 800 /* marked by every thread, half released by one each */

static void **volatile shared; /* GC memory, a root while the threads run */
static pthread_barrier_t marked;

/* Own objects: all marked, every fifth left unreleased. Shared ones: every
 * thread marks every one (the same bit, concurrently), then each releases
 * its quarter of the even ones (concurrent RMWs on neighbouring words). */
static void *worker(void *arg) {
  int t = (int)(intptr_t)arg;
  for (int i = 0; i < OWN; i++) {
    long *p = GT_MALLOC(4 * sizeof(long), "Own");
    p[0] = i;
    cr_assert_eq(gt_expect_release(p), GT_OK);
    if (i % 5) cr_assert_eq(gt_release(p), GT_OK);
  }
  for (int j = 0; j < SHARED; j++)
    cr_assert_eq(gt_expect_release(shared[j]), GT_OK);
  pthread_barrier_wait(&marked);
  for (int j = 0; j < SHARED; j++)
    if (j % 2 == 0 && (j / 2) % THREADS == t)
      cr_assert_eq(gt_release(shared[j]), GT_OK);
  return NULL;
}

static void make_shared(void *arg) {
  (void)arg;
  void **s = GC_MALLOC(SHARED * sizeof *s);
  for (int j = 0; j < SHARED; j++)
    s[j] = GT_MALLOC(24, "Shared");
  shared = s;
}

Test(leak_threads, four_threads_exact_counts) {
  const char *kv[] = {"gt.report", "unreleased", "gt.batch_max", "100000",
                      NULL};
  gt_test_start(kv);
  gt_test_in_thread(make_shared, NULL);
  pthread_barrier_init(&marked, NULL, THREADS);
  pthread_t th[THREADS];
  for (intptr_t t = 0; t < THREADS; t++)
    pthread_create(&th[t], NULL, worker, (void *)t);
  for (int t = 0; t < THREADS; t++)
    pthread_join(th[t], NULL);
  shared = NULL;
  gt_collect(); /* earlier ones may have reported some: the stats count all */
  gt_stats st;
  gt_get_stats(&st);
  cr_assert_eq(st.collected, THREADS * OWN + SHARED);
  cr_assert_eq(st.unreleased, THREADS * OWN / 5 + SHARED / 2);
  json_t *r = gt_test_records();
  cr_assert_eq(gt_test_named(r, "Own"), THREADS * OWN / 5);
  cr_assert_eq(gt_test_named(r, "Shared"), SHARED / 2);
  json_decref(r);
}

/* ---- watched objects ------------------------------------------------------
 */

static int chained_ran;
static void GC_CALLBACK chained(void *obj, void *cd) {
  (void)obj;
  cr_assert_str_eq(cd, "program's");
  chained_ran++;
}

/* 8 watched objects; the odd ones have a finalizer of their own (the
 * record path). Marks: 0-3 marked, 1 and 3 then released; 4 marked and
 * watched again (the mark stays); 5 marked, released, watched again; a
 * gt object marked and then watched (renamed, the mark stays). */
static void make_watched(void *arg) {
  (void)arg;
  void *w[8];
  for (int i = 0; i < 8; i++) {
    w[i] = GC_MALLOC(48);
    if (i % 2)
      GC_register_finalizer_no_order(w[i], chained, "program's", NULL, NULL);
    cr_assert_eq(gt_watch(w[i], "Watched"), 0);
  }
  for (int i = 0; i < 6; i++)
    cr_assert_eq(gt_expect_release(w[i]), GT_OK);
  cr_assert_eq(gt_release(w[1]), GT_OK);
  cr_assert_eq(gt_release(w[3]), GT_OK);
  cr_assert_eq(gt_release(w[3]), GT_OK, "releasing twice is fine");
  cr_assert_eq(gt_release(w[7]), GT_OK, "never marked: fine too");
  cr_assert_eq(gt_watch(w[4], "Rewatched"), 0);
  cr_assert_eq(gt_release(w[5]), GT_OK);
  cr_assert_eq(gt_watch(w[5], "Rewatched"), 0);
  void *g = GT_MALLOC(16, "GtObject");
  cr_assert_eq(gt_expect_release(g), GT_OK);
  cr_assert_eq(gt_watch(g, "WatchedGt"), 0);
}

Test(leak_threads, watched_objects_carry_their_mark) {
  const char *kv[] = {"gt.report", "unreleased", NULL};
  gt_test_start(kv);
  gt_test_in_thread(make_watched, NULL);
  cr_assert_eq(gt_collect(), 9);
  cr_assert_eq(chained_ran, 4, "the program's finalizers still run");
  gt_stats st;
  gt_get_stats(&st);
  cr_assert_eq(st.unreleased, 4); /* w[0], w[2], w[4], the gt object */
  json_t *r = gt_test_records();
  cr_assert_eq(gt_test_named(r, "Watched"), 2);
  cr_assert_eq(gt_test_named(r, "Rewatched"), 1);
  cr_assert_eq(gt_test_named(r, "WatchedGt"), 1);
  json_decref(r);
}

static void refused(int rc, const char *why) {
  cr_assert_eq(rc, GT_EINVAL);
  cr_assert(strstr(gt_last_error(), why), "'%s' lacks '%s'", gt_last_error(),
            why);
}

/* ---- a block freed and reused ---------------------------------------------
 * Each thread remembers its last block of gt objects (src/gc/memo.h). A
 * collection that frees that block may hand it to plain bdwgc objects of
 * the same size: then the memo must not answer for them, or GC_size would
 * be wrong and gt_expect_release would set a bit in the program's data. */

#define BIG 1000 /* past gt's per-thread caches: 4 objects per block */
#define TRIES 4096

/* The page of dropped gt objects, after this thread's memo learned their
 * block from the one at its start; returned shifted, so no stack word
 * keeps that object alive. *made: how many were made. */
static __attribute__((noinline)) uintptr_t memo_a_block(size_t *made) {
  void *g;
  do { /* the first object of its block: the block's address is its own */
    g = GT_MALLOC(BIG, "Gone");
    ++*made;
  } while ((uintptr_t)g % 4096 && *made < 64);
  cr_assert_eq((uintptr_t)g % 4096, 0);
  cr_assert_eq(gt_expect_release(g), GT_OK);
  return (uintptr_t)g >> 12;
}

static void reuse(void *arg) {
  int *found = arg;
  /* first: a large object made later could take the freed block */
  void **keep = GC_MALLOC(TRIES * sizeof *keep);
  size_t made = 0;
  uintptr_t page = memo_a_block(&made);
  /* all dead: the memo, which knows their block, keeps none alive */
  cr_assert_eq(gt_collect(), made);
  for (int i = 0; i < TRIES && !*found; i++) {
    uint64_t *p = keep[i] = GC_MALLOC(BIG);
    if ((uintptr_t)p >> 12 != page) continue;
    size_t slot = 0;
    GC_get_kind_and_size(p, &slot);
    cr_assert_eq(GC_size(p), slot, "a plain object's size is its slot");
    uint64_t *last = &p[slot / sizeof *p - 1], looks_like_gt = 1ull << 62;
    *last = looks_like_gt;
    refused(gt_expect_release(p), "neither a gt object nor watched");
    cr_assert_eq(*last, looks_like_gt, "the program's word is untouched");
    *found = 1;
  }
}

Test(leak_threads, a_reused_block_is_not_taken_for_gt_objects) {
  gt_test_start(NULL);
  int found = 0;
  gt_test_in_thread(reuse, &found);
  cr_assert(found, "bdwgc did not reuse the freed block");
}

/* ---- misuse ----------------------------------------------------------------
 */

static int own_finalized;
static void GC_CALLBACK own(void *obj, void *cd) {
  (void)obj;
  (void)cd;
  own_finalized++;
}

static void misuse(void *arg) {
  (void)arg;
  long local = 0;
  char *gt = GT_MALLOC(64, "Target");
  void *plain = GC_MALLOC(64);
  void *heap = malloc(16);
  refused(gt_expect_release(NULL), "NULL");
  refused(gt_release(NULL), "NULL");
  refused(gt_expect_release(&local), "not a bdwgc heap object");
  refused(gt_release(heap), "not a bdwgc heap object");
  refused(gt_expect_release(gt + 8), "inside an object");
  refused(gt_release(gt + 1), "inside an object");
  refused(gt_expect_release(plain), "neither a gt object nor watched");
  /* Once something is watched, an unwatched object is probed: refused,
   * and the finalizer it had is put back. */
  cr_assert_eq(gt_watch(GC_MALLOC(16), "Other"), 0);
  GC_REGISTER_FINALIZER(plain, own, NULL, NULL, NULL);
  refused(gt_expect_release(plain), "neither a gt object nor watched");
  refused(gt_release(plain), "neither a gt object nor watched");
  void *bare = GC_MALLOC(64);
  refused(gt_expect_release(bare), "neither a gt object nor watched");
  cr_assert_eq(gt_expect_release(gt), GT_OK);
  cr_assert_eq(gt_release(gt), GT_OK);
  cr_assert_eq(gt_release(gt), GT_OK);
  char *freed = GT_MALLOC(64, "Freed");
  gt_free(freed);
  refused(gt_expect_release(freed), "freed");
  free(heap);
}

Test(leak_threads, misuse_is_refused_without_a_crash) {
  gt_test_start(NULL);
  gt_test_in_thread(misuse, NULL);
  cr_assert_eq(gt_collect(), 2, "Target and Other");
  cr_assert_eq(own_finalized, 1, "the probed object's finalizer still ran");
  gt_stats st;
  gt_get_stats(&st);
  cr_assert_eq(st.unreleased, 0);
  /* The probe left no finalizer on the bare object: nothing reported. */
  json_t *r = gt_test_records();
  cr_assert_eq(gt_test_named(r, "Target"), 1);
  json_decref(r);
}
