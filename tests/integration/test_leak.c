/* Leak mode end to end (docs/leaks.md): objects marked with
 * gt_expect_release and reclaimed without gt_release are counted as
 * unreleased, exactly, and with gt.report=unreleased only they become
 * messages. Each test runs in its own process. */
#include "helpers.h"

typedef struct conn {
  struct conn *peer;
  long fd;
} conn;

static int conn_line; /* the site the messages name */

/* 1,000 connections, all marked; every 100th is left unreleased. */
static void open_and_drop(void *arg) {
  (void)arg;
  for (int i = 0; i < 1000; i++) {
    conn *c = (conn_line = __LINE__, GT_MALLOC(sizeof *c, "Connection"));
    c->fd = i;
    cr_assert_eq(gt_expect_release(c), GT_OK);
    if (i % 100) cr_assert_eq(gt_release(c), GT_OK);
  }
}

/* The objects were made and dropped in a thread that has exited
 * (gt_test_in_thread): one collection reports every one. */
static void collect_all(size_t want) {
  size_t got = gt_collect();
  cr_assert_eq(got, want, "%zu of %zu reported", got, want);
}

static long long group_field(json_t *rec, size_t i, const char *field) {
  json_t *g = json_array_get(json_object_get(rec, "groups"), i);
  return json_integer_value(json_object_get(g, field));
}

static const char *text_of(json_t *rec) {
  return json_string_value(json_object_get(rec, "text"));
}

/* The acceptance test: 1,000 objects, 990 released, all dropped:
 * one message naming the 10 others; the statistics count all 1,000. */
Test(leak, unreleased_report_names_only_the_ten_unreleased) {
  const char *kv[] = {"gt.report", "unreleased", NULL};
  gt_test_start(kv);
  gt_test_in_thread(open_and_drop, NULL);
  collect_all(1000);
  gt_stats st;
  gt_get_stats(&st);
  cr_assert_eq(st.collected, 1000);
  cr_assert_eq(st.unreleased, 10);
  cr_assert_eq(st.estimated_unreleased, 10);
  cr_assert_eq(st.sampled, 10, "only leaks become notifications");
  cr_assert_eq(st.batches, 1);
  json_t *r = gt_test_records();
  cr_assert_eq(json_array_size(r), 1);
  json_t *rec = json_array_get(r, 0);
  cr_assert_eq(json_integer_value(json_object_get(rec, "unreleased")), 10);
  cr_assert(json_is_false(json_object_get(rec, "unreleased_estimated")));
  cr_assert_eq(json_integer_value(json_object_get(rec, "collected")), 10);
  cr_assert_str_eq(json_string_value(json_object_get(rec, "report")),
                   "unreleased");
  cr_assert_eq(group_field(rec, 0, "unreleased"), 10);
  char want[128];
  snprintf(want, sizeof want,
           "LEAK: Connection reclaimed without release (test_leak.c:%d) x10",
           conn_line);
  cr_assert_str_eq(text_of(rec), want);
  json_decref(r);
}

/* The same through the text log a person reads: one line, the leak
 * sentence after the timestamp. */
Test(leak, unreleased_report_in_the_text_log_is_one_line) {
  const char *kv[] = {"gt.report", "unreleased", "log.format", "text", NULL};
  gt_test_start(kv);
  gt_test_in_thread(open_and_drop, NULL);
  collect_all(1000);
  FILE *f = fopen(gt_test_log, "r");
  cr_assert_not_null(f);
  char line[512], want[128];
  snprintf(want, sizeof want,
           " gt: LEAK: Connection reclaimed without release (test_leak.c:%d) "
           "x10\n",
           conn_line);
  int lines = 0;
  while (fgets(line, sizeof line, f)) {
    lines++;
    cr_assert(strstr(line, want), "'%s' lacks '%s'", line, want);
  }
  fclose(f);
  cr_assert_eq(lines, 1);
}

/* gt.report=all (the default): every object is reported as before, and
 * the leaks are counted and named too. */
Test(leak, report_all_reports_everything_and_counts_the_leaks) {
  gt_test_start(NULL);
  gt_test_in_thread(open_and_drop, NULL);
  collect_all(1000);
  gt_stats st;
  gt_get_stats(&st);
  cr_assert_eq(st.collected, 1000);
  cr_assert_eq(st.sampled, 1000);
  cr_assert_eq(st.unreleased, 10);
  json_t *r = gt_test_records();
  cr_assert_geq(json_array_size(r), 10, "batches of 100");
  cr_assert_eq(gt_test_sum(r, "collected"), 1000);
  cr_assert_eq(gt_test_sum(r, "unreleased"), 10);
  size_t i;
  json_t *rec;
  json_array_foreach(r, i, rec) {
    long long u = json_integer_value(json_object_get(rec, "unreleased"));
    cr_assert_str_eq(json_string_value(json_object_get(rec, "report")), "all");
    if (u)
      cr_assert(strstr(text_of(rec), " reclaimed without release"), "%s",
                text_of(rec));
    else
      cr_assert_null(strstr(text_of(rec), "without release"), "%s",
                     text_of(rec));
  }
  json_decref(r);
}

/* Objects in reference cycles die together; whether each is a leak is its
 * own mark, whatever its partner's. */
static void make_cycles(void *arg) {
  (void)arg;
  for (int i = 0; i < 100; i++) {
    conn *a = GT_MALLOC(sizeof *a, "Client");
    conn *b = GT_MALLOC(sizeof *b, "Server");
    a->peer = b;
    b->peer = a;
    cr_assert_eq(gt_expect_release(a), GT_OK);
    cr_assert_eq(gt_expect_release(b), GT_OK);
    cr_assert_eq(gt_release(a), GT_OK); /* the client closed, not the server */
    if (i % 2) cr_assert_eq(gt_release(b), GT_OK);
  }
}

Test(leak, cycles_count_each_member_by_its_own_mark) {
  const char *kv[] = {"gt.report", "unreleased", NULL};
  gt_test_start(kv);
  gt_test_in_thread(make_cycles, NULL);
  collect_all(200);
  gt_stats st;
  gt_get_stats(&st);
  cr_assert_eq(st.collected, 200);
  cr_assert_eq(st.unreleased, 50);
  json_t *r = gt_test_records();
  cr_assert_eq(gt_test_sum(r, "unreleased"), 50);
  cr_assert_eq(gt_test_named(r, "Server"), 50);
  cr_assert_eq(gt_test_named(r, "Client"), 0);
  json_decref(r);
}

/* realloc keeps the mark (in place and moved); free is a release. */
static void realloc_and_free(void *arg) {
  (void)arg;
  long *small = GT_MALLOC(8 * sizeof(long), "Shrunk");
  long *moved = GT_MALLOC(2 * sizeof(long), "Moved");
  long *closed = GT_MALLOC(2 * sizeof(long), "Closed");
  long *freed = GT_MALLOC(2 * sizeof(long), "Freed");
  long *gcfreed = GT_MALLOC(2 * sizeof(long), "GcFreed");
  long *list[] = {small, moved, closed, freed, gcfreed};
  for (int i = 0; i < 5; i++)
    cr_assert_eq(gt_expect_release(list[i]), GT_OK);
  small = gt_realloc(small, 2 * sizeof(long));
  moved = gt_realloc(moved, 4096 * sizeof(long));
  closed = gt_realloc(closed, 4096 * sizeof(long));
  cr_assert_eq(gt_release(closed), GT_OK, "released after its move");
  cr_assert_not_null(small);
  cr_assert_not_null(moved);
  gt_free(freed);
  GC_FREE(gcfreed);
}

Test(leak, realloc_keeps_the_mark_and_free_is_a_release) {
  const char *kv[] = {"gt.report", "unreleased", NULL};
  gt_test_start(kv);
  gt_test_in_thread(realloc_and_free, NULL);
  collect_all(3);
  gt_stats st;
  gt_get_stats(&st);
  cr_assert_eq(st.freed, 2);
  cr_assert_eq(st.collected, 3);
  cr_assert_eq(st.unreleased, 2);
  json_t *r = gt_test_records();
  cr_assert_eq(gt_test_named(r, "Shrunk"), 1);
  cr_assert_eq(gt_test_named(r, "Moved"), 1);
  cr_assert_eq(gt_test_named(r, "Closed"), 0);
  cr_assert_eq(gt_test_sum(r, "freed"), 0, "freed objects are not leaks");
  json_decref(r);
}

/* gt.leak_sample_every=10: 1 in 10 calls per thread marks, so counts are
 * exact for the marked objects and estimates x10 in messages. */
static void mark_all(void *arg) {
  (void)arg;
  for (int i = 0; i < 1000; i++)
    cr_assert_eq(gt_expect_release(GT_MALLOC(24, "Sampled")), GT_OK);
}

Test(leak, leak_sample_every_10_marks_one_call_in_ten) {
  const char *kv[] = {"gt.report", "unreleased", "gt.leak_sample_every", "10",
                      NULL};
  gt_test_start(kv);
  gt_test_in_thread(mark_all, NULL);
  collect_all(1000);
  gt_stats st;
  gt_get_stats(&st);
  cr_assert_eq(st.collected, 1000);
  cr_assert_eq(st.unreleased, 100);
  cr_assert_eq(st.estimated_unreleased, 1000);
  json_t *r = gt_test_records();
  cr_assert_eq(json_array_size(r), 1);
  json_t *rec = json_array_get(r, 0);
  cr_assert_eq(json_integer_value(json_object_get(rec, "unreleased")), 1000);
  cr_assert(json_is_true(json_object_get(rec, "unreleased_estimated")));
  cr_assert(strstr(text_of(rec), "LEAK: Sampled reclaimed without release") &&
                strstr(text_of(rec), " x~1,000"),
            "%s", text_of(rec));
  json_decref(r);
}

/* Every report path carries the mark: aged objects (one event each), the
 * finalizer mechanism, and the overflow counters of a full ring. */
static void half_marked(void *arg) {
  for (int i = 0; i < *(int *)arg; i++) {
    void *p = GT_MALLOC(32, "Half");
    if (i % 2 == 0) cr_assert_eq(gt_expect_release(p), GT_OK);
  }
}

/* Earlier collections may have reported some already: the statistics
 * count them all. */
static void expect_half(int n) {
  gt_test_in_thread(half_marked, &n);
  gt_collect();
  gt_stats st;
  gt_get_stats(&st);
  cr_assert_eq(st.collected, (uint64_t)n);
  cr_assert_eq(st.unreleased, (uint64_t)n / 2);
  json_t *r = gt_test_records();
  cr_assert_eq(gt_test_sum(r, "unreleased"), n / 2);
  json_decref(r);
}

Test(leak, aged_objects_carry_the_mark) {
  const char *kv[] = {"gt.track_age", "true", "gt.report", "unreleased", NULL};
  gt_test_start(kv);
  expect_half(400);
}

Test(leak, finalizer_mechanism_carries_the_mark) {
  const char *kv[] = {"gt.alloc_mechanism", "finalizer", NULL};
  gt_test_start(kv);
  expect_half(400);
}

Test(leak, a_full_ring_still_counts_leaks_exactly) {
  const char *kv[] = {"gt.queue_capacity", "16",      "gt.report", "unreleased",
                      "gt.batch_max",      "1000000", NULL};
  gt_test_start(kv);
  expect_half(20000);
  gt_stats st;
  gt_get_stats(&st);
  cr_assert_gt(st.overflowed, 0, "the ring overflowed");
}

/* gt.alloc_sample_every=10 tracks 1 object in 10; only tracked objects can
 * be reported, so only they are counted, and estimates scale by 10. Every
 * 7th object (i % 7 == 3) is left unreleased: of the 100 tracked (i = 10k)
 * those with k % 7 == 1, 15 of them. */
static void release_but_every_seventh(void *arg) {
  (void)arg;
  for (int i = 0; i < 1000; i++) {
    void *p = GT_MALLOC(24, "Conn");
    cr_assert_eq(gt_expect_release(p), GT_OK);
    if (i % 7 != 3) cr_assert_eq(gt_release(p), GT_OK);
  }
}

Test(leak, alloc_sampling_scales_the_unreleased_estimate) {
  const char *kv[] = {"gt.report", "unreleased", "gt.alloc_sample_every", "10",
                      NULL};
  gt_test_start(kv);
  gt_test_in_thread(release_but_every_seventh, NULL);
  collect_all(100);
  gt_stats st;
  gt_get_stats(&st);
  cr_assert_eq(st.collected, 100);
  cr_assert_eq(st.unreleased, 15);
  cr_assert_eq(st.estimated_unreleased, 150);
  json_t *r = gt_test_records();
  cr_assert_eq(json_array_size(r), 1);
  json_t *rec = json_array_get(r, 0);
  cr_assert_eq(json_integer_value(json_object_get(rec, "unreleased")), 150);
  cr_assert_eq(json_integer_value(json_object_get(rec, "collected")), 150);
  cr_assert(json_is_true(json_object_get(rec, "unreleased_estimated")));
  cr_assert(strstr(text_of(rec), "LEAK: Conn reclaimed without release") &&
                strstr(text_of(rec), " x~150"),
            "%s", text_of(rec));
  json_decref(r);
}

/* Both samplings: a program that marks every object and releases none.
 * The leak countdown runs over tracked objects only, so 1 in 4 of the 100
 * tracked is marked and 25 x 10 x 4 estimates the 1,000 leaks exactly;
 * were untracked objects to count down too, the two periods' common factor
 * would mark every 20th object, 50 of them, and estimate 2,000. */
static void leak_everything(void *arg) {
  (void)arg;
  for (int i = 0; i < 1000; i++)
    cr_assert_eq(gt_expect_release(GT_MALLOC(24, "Lost")), GT_OK);
}

Test(leak, both_samplings_estimate_without_aliasing) {
  const char *kv[] = {
      "gt.report", "unreleased",           "gt.alloc_sample_every",
      "10",        "gt.leak_sample_every", "4",
      NULL};
  gt_test_start(kv);
  gt_test_in_thread(leak_everything, NULL);
  collect_all(100);
  gt_stats st;
  gt_get_stats(&st);
  cr_assert_eq(st.collected, 100);
  cr_assert_eq(st.unreleased, 25);
  cr_assert_eq(st.estimated_unreleased, 1000);
  json_t *r = gt_test_records();
  cr_assert_eq(gt_test_sum(r, "unreleased"), 1000);
  json_decref(r);
}
