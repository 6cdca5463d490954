/* Shared by the integration tests: start gt with the JSON log backend
 * writing to a private file, and read back what it delivered. */
#ifndef GT_TEST_HELPERS_H
#define GT_TEST_HELPERS_H

#include <criterion/criterion.h>
#include <gc.h>
#include <gt/gt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char gt_test_dir[64];
static char gt_test_log[128];
static char gt_test_spool[128];
static pid_t gt_test_owner;

static inline void gt_test_remove_dir(void) {
  if (getpid() != gt_test_owner) return; /* a forked child's exit */
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", gt_test_dir);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", gt_test_dir);
}

/* key/value pairs, NULL-terminated. The log and the spool live in a
 * directory of this process's own (mkdtemp, not the pid: pids come back,
 * and an earlier process's spool would be replayed into this test). */
static inline void gt_test_start(const char *const *kv) {
  GC_INIT();
  if (!gt_test_dir[0]) {
    snprintf(gt_test_dir, sizeof gt_test_dir, "/tmp/gt-it-XXXXXX");
    cr_assert_not_null(mkdtemp(gt_test_dir), "mkdtemp");
    snprintf(gt_test_log, sizeof gt_test_log, "%s/log.jsonl", gt_test_dir);
    snprintf(gt_test_spool, sizeof gt_test_spool, "%s/spool", gt_test_dir);
    gt_test_owner = getpid();
    atexit(gt_test_remove_dir);
  }
  unlink(gt_test_log);
  gt_options *o = gt_options_new();
  gt_options_set(o, "log.path", gt_test_log);
  gt_options_set(o, "log.format", "json");
  gt_options_set(o, "gt.spool_dir", gt_test_spool);
  for (; kv && kv[0]; kv += 2)
    cr_assert_eq(gt_options_set(o, kv[0], kv[1]), 0, "%s", gt_last_error());
  int rc = gt_init(o);
  gt_options_free(o);
  cr_assert_eq(rc, 0, "gt_init: %s", gt_last_error());
}

/* Runs fn(arg) in a thread of its own (registered with bdwgc: GC_THREADS
 * redirects pthread_create) and waits for it. Objects it drops are then
 * dead for sure: its stack and registers, where a stale copy of a pointer
 * could outlive gt_collect's scrub, are gone. */
typedef struct gt_test_job {
  void (*fn)(void *);
  void *arg;
} gt_test_job;

static inline void *gt_test_job_main(void *p) {
  gt_test_job *j = p;
  j->fn(j->arg);
  return NULL;
}

static inline void gt_test_in_thread(void (*fn)(void *), void *arg) {
  gt_test_job j = {fn, arg};
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, gt_test_job_main, &j), 0);
  pthread_join(t, NULL);
}

/* All records delivered so far, as a JSON array (caller decrefs). */
static inline json_t *gt_test_records(void) {
  json_t *all = json_array();
  FILE *f = fopen(gt_test_log, "r");
  if (!f) return all;
  char line[1 << 16];
  while (fgets(line, sizeof line, f)) {
    json_error_t err;
    json_t *j = json_loads(line, 0, &err);
    cr_assert_not_null(j, "bad JSON line: %s", err.text);
    json_array_append_new(all, j);
  }
  fclose(f);
  return all;
}

static inline long long gt_test_sum(json_t *records, const char *field) {
  long long n = 0;
  size_t i;
  json_t *r;
  json_array_foreach(records, i, r) n +=
      json_integer_value(json_object_get(r, field));
  return n;
}

/* Count of collected objects named `name` over all records. */
static inline long long gt_test_named(json_t *records, const char *name) {
  long long n = 0;
  size_t i, j;
  json_t *r, *g;
  json_array_foreach(records, i, r) {
    json_array_foreach(json_object_get(r, "groups"), j, g) {
      const char *gn = json_string_value(json_object_get(g, "name"));
      if (gn && strcmp(gn, name) == 0)
        n += json_integer_value(json_object_get(g, "count"));
    }
  }
  return n;
}

#endif
