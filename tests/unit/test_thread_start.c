/* gt's own threads: the signal mask they start with is the one their
 * creator held around pthread_create. The creator may be a thread the
 * collector stops, so that mask must leave bdwgc's suspend and restart
 * signals open (an ASan run aborted with "Signals delivery fails
 * constantly" when it did not), and block every other signal. */
#include <criterion/criterion.h>
#include <gc.h>
#include <gt/gt.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "../internal.h"

/* gt's threads are unknown to the collector: joined with the real call. */
#undef pthread_join

static sigset_t seen;

static void *record_mask(void *arg) {
  (void)arg;
  pthread_sigmask(SIG_BLOCK, NULL, &seen);
  return NULL;
}

Test(thread_start, blocks_all_but_the_collectors_signals) {
  GC_INIT();
  setenv("GT_BACKEND", "log", 1);
  setenv("GT_LOG_PATH", "/dev/null", 1);
  char spool[] = "/tmp/gt-thread-start-XXXXXX"; /* ours, 0700, left empty */
  cr_assert_not_null(mkdtemp(spool));
  setenv("GT_SPOOL_DIR", spool, 1);
  cr_assert_eq(gt_init(NULL), 0, "%s", gt_last_error());
  pthread_t t;
  cr_assert_eq(gt__thread_start(&t, record_mask, NULL), 0);
  pthread_join(t, NULL);
  int suspend = GC_get_suspend_signal(), restart = GC_get_thr_restart_signal();
  cr_assert_gt(suspend, 0);
  cr_expect(!sigismember(&seen, suspend), "signal %d blocked", suspend);
  cr_expect(!sigismember(&seen, restart), "signal %d blocked", restart);
  cr_expect(sigismember(&seen, SIGINT));
  cr_expect(sigismember(&seen, SIGTERM));
  cr_expect(sigismember(&seen, SIGUSR1));
  cr_expect_eq(gt_shutdown(2000), 0, "%s", gt_last_error());
  rmdir(spool);
}
