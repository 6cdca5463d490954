/* gt.track_age: ages in every record, and no clock read on the allocation
 * path unless it is on. This file is linked with -Wl,--wrap=clock_gettime
 * (tests/CMakeLists.txt) so the test can count clock reads per thread. */
#include <time.h>

#include "helpers.h"

static _Thread_local long clock_reads;
int __real_clock_gettime(clockid_t id, struct timespec *ts);
int __wrap_clock_gettime(clockid_t id, struct timespec *ts) {
  clock_reads++;
  return __real_clock_gettime(id, ts);
}

static __attribute__((noinline)) long allocate(const char *name, int n) {
  long before = clock_reads;
  for (int i = 0; i < n; i++) {
    long *p = GT_MALLOC(3 * sizeof(long), name);
    p[0] = i;
  }
  return clock_reads - before;
}

Test(age, no_clock_read_per_allocation_by_default) {
  gt_test_start(NULL);
  cr_assert_eq(allocate("Cheap", 10000), 0,
               "gt_malloc read the clock without gt.track_age");
  cr_assert_eq(gt_collect(), 10000);
  json_t *r = gt_test_records();
  json_t *g =
      json_array_get(json_object_get(json_array_get(r, 0), "groups"), 0);
  cr_assert_null(json_object_get(g, "age_ms"), "no ages without track_age");
  json_decref(r);
}

Test(age, track_age_reads_the_clock_once_per_tracked_object) {
  const char *kv[] = {"gt.track_age", "true", NULL};
  gt_test_start(kv);
  cr_assert_eq(allocate("Timed", 1000), 1000);
}

static long **volatile survivors;

static __attribute__((noinline)) void make_survivors(int n) {
  survivors = GT_MALLOC(n * sizeof *survivors, "Holder");
  for (int i = 0; i < n; i++)
    survivors[i] = GT_MALLOC(3 * sizeof(long), "Survivor");
}

Test(age, ages_in_records_and_text) {
  const char *kv[] = {"gt.track_age", "true", NULL};
  gt_test_start(kv);
  make_survivors(50);
  gt_collect(); /* the survivors live through two collections ... */
  gt_collect();
  struct timespec pause = {0, 120 * 1000000L};
  nanosleep(&pause, NULL); /* ... and at least 120 ms */
  allocate("Young", 10);
  survivors = NULL;
  cr_assert_eq(gt_collect(), 61);
  json_t *r = gt_test_records();
  json_t *rec = json_array_get(r, json_array_size(r) - 1), *g;
  size_t i;
  int seen = 0;
  long long survivor_min = -1, young_max = -1;
  json_array_foreach(json_object_get(rec, "groups"), i, g) {
    const char *name = json_string_value(json_object_get(g, "name"));
    json_t *ms = json_object_get(g, "age_ms"),
           *gcs = json_object_get(g, "age_gcs");
    cr_assert_not_null(ms, "group %s has no age_ms", name);
    long long mn = json_integer_value(json_object_get(ms, "min"));
    long long md = json_integer_value(json_object_get(ms, "median"));
    long long mx = json_integer_value(json_object_get(ms, "max"));
    cr_assert(mn <= md && md <= mx, "%s: %lld <= %lld <= %lld", name, mn, md,
              mx);
    if (!strcmp(name, "Survivor")) {
      seen++;
      cr_assert_geq(mn, 120, "survivors lived at least 120 ms");
      survivor_min = mn;
      cr_assert_geq(json_integer_value(json_object_get(gcs, "min")), 2,
                    "survivors lived through two collections");
    }
    if (!strcmp(name, "Young")) {
      seen++;
      young_max = mx;
      cr_assert_eq(json_integer_value(json_object_get(gcs, "max")), 0);
    }
  }
  cr_assert_eq(seen, 2);
  cr_assert_lt(young_max, survivor_min, "young objects died younger");
  const char *text = json_string_value(json_object_get(rec, "text"));
  cr_assert(strstr(text, "Survivor x50 (test_age.c:"), "%s", text);
  cr_assert(strstr(text, "; age "), "%s", text);
  cr_assert(strstr(text, "median"), "%s", text);
  json_decref(r);
}

Test(age, realloc_keeps_the_birth) {
  const char *kv[] = {"gt.track_age", "true", NULL};
  gt_test_start(kv);
  long *p = GT_MALLOC(8, "Moved");
  struct timespec pause = {0, 80 * 1000000L};
  nanosleep(&pause, NULL);
  p = gt_realloc(p, 4096); /* moves to a larger slot */
  p = NULL;
  gt_collect();
  json_t *r = gt_test_records();
  json_t *g =
      json_array_get(json_object_get(json_array_get(r, 0), "groups"), 0);
  cr_assert_geq(
      json_integer_value(json_object_get(json_object_get(g, "age_ms"), "min")),
      80);
  json_decref(r);
}
