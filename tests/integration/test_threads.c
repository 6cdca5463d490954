/* Two mutator threads allocating while collections run. */
#include <pthread.h>

#include "helpers.h"

#define PER_THREAD 100000

static void *mutator(void *arg) {
  const char *name = arg;
  for (int i = 0; i < PER_THREAD; i++) {
    long *p = GT_MALLOC(4 * sizeof(long), name);
    p[0] = i;
    if (i % 25000 == 0)
      gt_collect(); /* collections from both threads while the other allocates
                     */
  }
  return NULL;
}

Test(threads, two_mutators_exact_counts_per_name) {
  gt_test_start(NULL);
  pthread_t a,
      b; /* GC_THREADS redirects pthread_create: threads are registered */
  pthread_create(&a, NULL, mutator, "Left");
  pthread_create(&b, NULL, mutator, "Right");
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  gt_collect();
  gt_stats st;
  gt_get_stats(&st);
  cr_assert_eq(st.allocated, 2 * PER_THREAD);
  cr_assert_eq(st.collected, 2 * PER_THREAD);
  json_t *r = gt_test_records();
  cr_assert_eq(gt_test_named(r, "Left"), PER_THREAD);
  cr_assert_eq(gt_test_named(r, "Right"), PER_THREAD);
  json_decref(r);
}
