/* End to end through the public API: allocate, drop, gt_collect, and read
 * what the log backend delivered. Each test runs in its own process. */
#include <pthread.h>

#include "helpers.h"

typedef struct thing {
  struct thing *other;
  long value;
} thing;

static __attribute__((noinline)) void make_named(const char *name, int n) {
  for (int i = 0; i < n; i++) {
    thing *t = GT_MALLOC(sizeof *t, name);
    t->value = i;
  }
}

static __attribute__((noinline)) void make_cycle(void) {
  thing *a = GT_MALLOC(sizeof *a, "Thing Two");
  thing *b = GT_MALLOC(sizeof *b, "Thing Three");
  a->other = b;
  b->other = a;
}

Test(collect, thing_one_is_reported_after_its_reference_is_dropped) {
  gt_test_start(NULL);
  make_named("Thing One", 1);
  cr_assert_eq(gt_collect(), 1);
  json_t *r = gt_test_records();
  cr_assert_eq(json_array_size(r), 1);
  json_t *rec = json_array_get(r, 0);
  cr_assert_str_eq(
      json_string_value(json_object_get(rec, "text")),
      "The object with name Thing One is being removed from memory!");
  cr_assert_eq(json_integer_value(json_object_get(rec, "collected")), 1);
  json_decref(r);
}

Test(collect, a_cycle_is_reported_by_one_collect) {
  gt_test_start(NULL);
  make_cycle();
  cr_assert_eq(gt_collect(), 2);
  json_t *r = gt_test_records();
  cr_assert_eq(json_array_size(r), 1);
  cr_assert_eq(gt_test_named(r, "Thing Two"), 1);
  cr_assert_eq(gt_test_named(r, "Thing Three"), 1);
  const char *text =
      json_string_value(json_object_get(json_array_get(r, 0), "text"));
  cr_assert(strstr(text, "2 objects collected (sampled 2): "), "%s", text);
  json_decref(r);
}

Test(collect, sample_every_1000_gives_exactly_10_notifications) {
  const char *kv[] = {"gt.sample_every", "1000", NULL};
  gt_test_start(kv);
  make_named("Thing", 10000);
  cr_assert_eq(gt_collect(), 10000);
  gt_stats st;
  gt_get_stats(&st);
  cr_assert_eq(st.allocated, 10000);
  cr_assert_eq(st.collected, 10000);
  cr_assert_eq(st.sampled, 10);
  json_t *r = gt_test_records();
  cr_assert_eq(gt_test_sum(r, "collected"), 10000);
  cr_assert_eq(gt_test_sum(r, "sampled"), 10);
  json_t *smp =
      json_array_get(json_object_get(json_array_get(r, 0), "samples"), 0);
  cr_assert_eq(json_integer_value(json_object_get(smp, "size")),
               (long long)sizeof(thing), "a sample is one object");
  json_decref(r);
}

static thing *volatile keep; /* roots the collector scans */
static thing **volatile keep_atomic;

static __attribute__((noinline)) void make_holders(void) {
  thing *holder = GT_MALLOC(sizeof *holder, "Holder");
  holder->other = GT_MALLOC(sizeof *holder, "Referent");
  thing **atomic = gt_malloc_atomic(sizeof *atomic, "AtomicHolder");
  *atomic = GT_MALLOC(sizeof *holder, "Unscanned");
  keep = holder;
  keep_atomic = atomic;
}

Test(collect, live_objects_keep_their_referents_and_atomic_ones_do_not) {
  gt_test_start(NULL);
  make_holders();
  cr_assert_eq(gt_collect(), 1, "only the object behind the atomic one dies");
  json_t *r = gt_test_records();
  cr_assert_eq(gt_test_named(r, "Unscanned"), 1);
  cr_assert_eq(gt_test_named(r, "Referent"), 0);
  json_decref(r);
  keep = NULL;
  keep_atomic = NULL;
  cr_assert_eq(gt_collect(), 3);
  r = gt_test_records();
  cr_assert_eq(gt_test_named(r, "Referent"), 1);
  cr_assert_eq(gt_test_named(r, "Holder"), 1);
  json_decref(r);
}

Test(collect, free_realloc_strdup_calloc) {
  gt_test_start(NULL);
  char *s = gt_strdup("hello", "Str");
  cr_assert_str_eq(s, "hello");
  long *z = gt_calloc(16, sizeof *z, "Zeroed");
  for (int i = 0; i < 16; i++)
    cr_assert_eq(z[i], 0);
  z = gt_realloc(z, 4096 * sizeof *z);
  for (int i = 0; i < 4096; i++)
    z[i] = i;
  z = gt_realloc(z, 8 * sizeof *z);
  cr_assert_eq(z[7], 7);
  gt_free(s);
  z = NULL;
  s = NULL;
  cr_assert_eq(gt_collect(), 1, "the freed string is not collected again");
  gt_stats st;
  gt_get_stats(&st);
  cr_assert_eq(st.freed, 1);
  cr_assert_eq(st.allocated, 2, "realloc moves, it does not allocate anew");
  json_t *r = gt_test_records();
  cr_assert_eq(gt_test_named(r, "Zeroed"), 1, "realloc keeps the name");
  json_decref(r);
}

static int old_ran;
static void GC_CALLBACK old_finalizer(void *obj, void *cd) {
  (void)obj;
  cr_assert_str_eq(cd, "client data");
  old_ran++;
}

static __attribute__((noinline)) void make_watched(void) {
  void *buf = GC_MALLOC(64);
  GC_register_finalizer_no_order(buf, old_finalizer, "client data", NULL, NULL);
  cr_assert_eq(gt_watch(buf, "Renamed"), 0);
  cr_assert_eq(gt_watch(buf, "Watched"), 0, "watching twice renames");
  gt_watch(GC_MALLOC(32), "Plain"); /* nothing to chain */
}

Test(collect, watch_chains_the_existing_finalizer) {
  gt_test_start(NULL);
  make_watched();
  /* Under ASan, instrumented frames can leave a stale copy of the pointer
   * that only a later collection no longer sees; chaining is the point. */
  size_t n = 0;
  for (int i = 0; i < 3 && n < 2; i++)
    n += gt_collect();
  cr_assert_eq(n, 2, "gt_collect reported %zu (old finalizer ran %d)", n,
               old_ran);
  cr_assert_eq(old_ran, 1, "the chained finalizer runs exactly once");
  json_t *r = gt_test_records();
  cr_assert_eq(gt_test_named(r, "Watched"), 1);
  cr_assert_eq(gt_test_named(r, "Renamed"), 0);
  cr_assert_eq(gt_test_named(r, "Plain"), 1);
  json_decref(r);
  cr_assert_eq(gt_watch((char *)GC_MALLOC(64) + 8, "x"), GT_EINVAL);
  cr_assert_eq(gt_watch(NULL, "x"), GT_EINVAL);
}

Test(collect, finalizer_mechanism_counts_the_same) {
  const char *kv[] = {"gt.alloc_mechanism", "finalizer", NULL};
  gt_test_start(kv);
  make_named("Fin", 5000);
  make_cycle();
  gt_collect();
  gt_stats st;
  gt_get_stats(&st);
  cr_assert_eq(st.collected, 5002);
  json_t *r = gt_test_records();
  cr_assert_eq(gt_test_named(r, "Fin"), 5000);
  json_decref(r);
}

/* Sixteen sites in turn, more than a thread keeps runs open for: the
 * sweeper's runs stay one object long, so the events really do overflow
 * the ring instead of being coalesced. */
#define FLOOD_SITES 16
static const char *const flood_names[FLOOD_SITES] = {
    "Flood0",  "Flood1",  "Flood2",  "Flood3", "Flood4",  "Flood5",
    "Flood6",  "Flood7",  "Flood8",  "Flood9", "Flood10", "Flood11",
    "Flood12", "Flood13", "Flood14", "Flood15"};

static void *flood(void *arg) {
  (void)arg;
  for (int i = 0; i < 200000; i++)
    make_named(flood_names[i % FLOOD_SITES], 1);
  return NULL;
}

Test(collect, tiny_ring_overflows_but_counts_stay_exact) {
  const char *kv[] = {"gt.queue_capacity", "16", NULL};
  gt_test_start(kv);
  /* On a thread of its own, whose stack is gone when the collection runs:
   * the point is overflow accounting, not the conservative scan of an
   * instrumented (ASan) frame. */
  pthread_t t;
  pthread_create(&t, NULL, flood, NULL);
  pthread_join(t, NULL);
  gt_collect();
  gt_stats st;
  gt_get_stats(&st);
  cr_assert_eq(st.collected, 200000, "collected %llu, overflowed %llu",
               (unsigned long long)st.collected,
               (unsigned long long)st.overflowed);
  cr_assert_gt(st.overflowed, 0, "the ring of 16 must have overflowed");
  json_t *r = gt_test_records();
  cr_assert_eq(gt_test_sum(r, "overflowed"), (long long)st.overflowed,
               "records say how many objects came as counts only");
  for (int k = 0; k < FLOOD_SITES; k++)
    cr_assert_eq(gt_test_named(r, flood_names[k]), 200000 / FLOOD_SITES, "%s",
                 flood_names[k]);
  json_decref(r);
}

Test(collect, alloc_sampling_marks_estimates) {
  const char *kv[] = {"gt.alloc_sample_every", "10", NULL};
  gt_test_start(kv);
  make_named("Est", 1000);
  cr_assert_eq(gt_collect(), 100);
  gt_stats st;
  gt_get_stats(&st);
  cr_assert_eq(st.tracked, 100);
  cr_assert_eq(st.estimated, 1000);
  json_t *r = gt_test_records();
  json_t *rec = json_array_get(r, 0);
  cr_assert(json_is_true(json_object_get(rec, "estimated")));
  cr_assert_eq(json_integer_value(json_object_get(rec, "collected")), 1000);
  json_decref(r);
}

Test(collect, batches_close_at_batch_max_and_group_by_site) {
  const char *kv[] = {"gt.batch_max", "10", "gt.group_by", "site", NULL};
  gt_test_start(kv);
  make_named("B", 35);
  gt_collect();
  json_t *r = gt_test_records();
  cr_assert_eq(json_array_size(r), 4, "10+10+10 by size, 5 by gt_collect");
  cr_assert_eq(gt_test_sum(r, "collected"), 35);
  json_t *g =
      json_array_get(json_object_get(json_array_get(r, 0), "groups"), 0);
  cr_assert_str_eq(json_string_value(json_object_get(g, "site")),
                   "test_collect.c:14");
  json_decref(r);
}

Test(collect, name_stats_snapshot) {
  gt_test_start(NULL);
  make_named("N1", 3);
  make_named("N2", 5);
  gt_collect();
  gt_name_stats ns[16];
  size_t n = gt_get_name_stats(ns, 16);
  long long n1 = -1, n2 = -1;
  for (size_t i = 0; i < n && i < 16; i++) {
    if (!strcmp(ns[i].name, "N1")) n1 = (long long)ns[i].collected;
    if (!strcmp(ns[i].name, "N2")) n2 = (long long)ns[i].collected;
  }
  cr_assert_eq(n1, 3);
  cr_assert_eq(n2, 5);
}

Test(collect, shutdown_delivers_pending_and_init_twice_fails) {
  gt_test_start(NULL);
  cr_assert_eq(gt_init(NULL), GT_ESTATE);
  make_named("Late", 2);
  gt_collect();
  cr_assert_eq(gt_shutdown(5000), 0);
  cr_assert_eq(gt_shutdown(5000), GT_ESTATE);
  json_t *r = gt_test_records();
  cr_assert_eq(gt_test_named(r, "Late"), 2);
  json_decref(r);
}
