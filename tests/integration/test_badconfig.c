/* Bad configuration fails gt_init with the key named, and nothing crashes. */
#include <stdlib.h>

#include "helpers.h"

static void expect_init_fails(const char *needle) {
  GC_INIT();
  int rc = gt_init(NULL);
  cr_assert_lt(rc, 0);
  cr_assert(strstr(gt_last_error(), needle), "'%s' not in '%s'", needle,
            gt_last_error());
  cr_assert_str_neq(gt_strerror(rc), "unknown error");
  void *p = gt_malloc(16, "still works"); /* allocation needs no pipeline */
  cr_assert_not_null(p);
}

Test(badconfig, sample_every_abc) {
  setenv("GT_SAMPLE_EVERY", "abc", 1);
  expect_init_fails("gt.sample_every");
}

Test(badconfig, backend_pigeon) {
  setenv("GT_BACKEND", "pigeon", 1);
  expect_init_fails("gt.backend");
}

Test(badconfig, unknown_key_in_ini_file) {
  char path[64];
  snprintf(path, sizeof path, "/tmp/gt-bad-%d.ini", (int)getpid());
  FILE *f = fopen(path, "w");
  fputs("[gt]\nbackend = log\nsmaple_every = 3\n", f);
  fclose(f);
  setenv("GT_CONFIG", path, 1);
  expect_init_fails("gt.smaple_every");
  unlink(path);
}

Test(badconfig, unwritable_log_path) {
  setenv("GT_LOG_PATH", "/nonexistent/dir/gt.log", 1);
  expect_init_fails("log.path");
}

static __attribute__((noinline)) void drop(int n) {
  for (int i = 0; i < n; i++)
    cr_assert_not_null(gt_malloc(24, "early"));
}

/* Without gt_init objects are still tracked and reported; only delivery
 * waits for a pipeline. */
Test(badconfig, collect_and_stats_without_init_are_harmless) {
  GC_INIT();
  cr_assert_eq(gt_flush(10), GT_ESTATE);
  cr_assert_eq(gt_shutdown(10), GT_ESTATE);
  drop(50);
  cr_assert_eq(gt_collect(), 50);
  gt_stats st;
  gt_get_stats(&st);
  cr_assert_eq(st.allocated, 50);
  cr_assert_eq(st.sent, 0);
  cr_assert_eq(st.collected, 0, "counted by a pipeline, which is not running");
}

Test(badconfig, shutdown_when_not_running_says_so) {
  GC_INIT();
  cr_assert_eq(gt_shutdown(100), GT_ESTATE);
  cr_expect_str_eq(gt_last_error(), "gt_shutdown: gt is not running (never "
                                    "started, or already shut down)");
  char spool[] = "/tmp/gt-bad-spool-XXXXXX";
  cr_assert_not_null(mkdtemp(spool));
  setenv("GT_SPOOL_DIR", spool, 1);
  cr_assert_eq(gt_init(NULL), 0, "%s", gt_last_error());
  cr_assert_eq(gt_shutdown(1000), 0, "%s", gt_last_error());
  cr_assert_eq(gt_shutdown(1000), GT_ESTATE);
  cr_expect(strncmp(gt_last_error(), "gt_shutdown: gt is not running", 30) == 0,
            "%s", gt_last_error());
  rmdir(spool);
}
