/* Without XDG_STATE_HOME and HOME there is no default spool (docs/
 * configuration.md, gt.spool_dir): gt_init still starts, says once that
 * undelivered messages will be lost and how to keep them, and a message
 * that cannot be delivered is counted as lost. Nothing goes to /tmp. */
#include <fcntl.h>
#include <stdlib.h>

#include "helpers.h"

static __attribute__((noinline)) void drop_one(void) {
  void *p = GT_MALLOC(32, "Homeless");
  cr_assert_not_null(p);
}

Test(nohome, no_default_spool_and_losses_are_counted, .timeout = 60) {
  unsetenv("HOME");
  unsetenv("XDG_STATE_HOME");
  /* A log on a full disk fails every message; no retries. */
  setenv("GT_LOG_PATH", "/dev/full", 1);
  setenv("GT_RETRY_MAX", "0", 1);
  char err_path[] = "/tmp/gt-nohome-err-XXXXXX";
  int fd = mkstemp(err_path);
  cr_assert_geq(fd, 0);
  fflush(stderr);
  int saved = dup(2);
  dup2(fd, 2);
  GC_INIT();
  int rc = gt_init(NULL);
  fflush(stderr);
  dup2(saved, 2);
  cr_assert_eq(rc, 0, "gt_init: %s", gt_last_error());
  char err[4096] = "";
  cr_assert_geq(pread(fd, err, sizeof err - 1, 0), 0);
  cr_expect(strstr(err, "no spool"), "%s", err);
  cr_expect(strstr(err, "set gt.spool_dir"), "%s", err);
  close(fd);
  unlink(err_path);

  drop_one();
  gt_collect();
  gt_flush(5000);
  gt_stats st;
  gt_get_stats(&st);
  cr_expect_eq(st.collected, 1);
  cr_expect_eq(st.lost, 1, "lost %llu", (unsigned long long)st.lost);
  cr_expect_eq(st.spooled, 0);
  gt_shutdown(1000);
}
