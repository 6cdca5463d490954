/* `gt spool list`, run as a separate process: every file the spool holds
 * is shown with its state and reason, text from the spool cannot forge
 * output lines, and an unsafe spool is refused with the reason. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support.h"

#ifndef GT_TOOL_PATH
#error "GT_TOOL_PATH must name the built gt tool"
#endif

static char dir[64], dir_env[100];

static void fresh(void) {
  test_tmpdir(dir, sizeof dir, "list-spool");
  snprintf(dir_env, sizeof dir_env, "GT_SPOOL_DIR=%s", dir);
  cr_assert_eq(gt__spool_prepare(dir), 0, "%s", gt_last_error());
}

static void cleanup(void) {
  test_rm_rf(dir);
}

TestSuite(gt_spool_list, .init = fresh, .fini = cleanup, .timeout = 60);

/* Runs `gt spool list` on this test's spool; stdout and stderr together. */
static int list(char **out) {
  char outfile[] = "/tmp/gt-list-out-XXXXXX";
  int fd = mkstemp(outfile);
  cr_assert_geq(fd, 0);
  close(fd);
  const char *argv[] = {GT_TOOL_PATH, "spool", "list", NULL};
  const char *envp[] = {"PATH=/usr/bin:/bin", "HOME=/nonexistent",
                        "GT_BACKEND=log", dir_env, NULL};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, outfile, O_WRONLY | O_TRUNC, 0);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid;
  cr_assert_eq(posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv,
                           (char *const *)envp),
               0);
  posix_spawn_file_actions_destroy(&fa);
  int st = 0;
  for (int waited = 0; waitpid(pid, &st, WNOHANG) != pid; waited += 20) {
    if (waited > 20000) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      cr_assert_fail("gt spool list did not finish within 20 s");
    }
    struct timespec ts = {0, 20000000};
    nanosleep(&ts, NULL);
  }
  *out = slurp(outfile);
  unlink(outfile);
  cr_assert_not_null(*out);
  cr_assert(WIFEXITED(st), "gt died: %s", *out);
  return WEXITSTATUS(st);
}

static void spool(const char *text, uint64_t n) {
  gt_batch b;
  test_batch(&b, n);
  json_t *j = gt__batch_json(&b);
  cr_assert_eq(gt__spool_write(dir, "sms", text, j, "sms: HTTP 500"), 0);
  json_decref(j);
  gt__batch_free(&b);
}

static enum gt_spool_verdict reject_first(const char *backend, const char *text,
                                          json_t *batch, void *ud) {
  (void)backend, (void)batch, (void)ud;
  if (strcmp(text, "refused text") != 0) return GT_SPOOL_KEEP;
  gt__spool_reject_reason("sms: HTTP 400 bad destination");
  return GT_SPOOL_REJECTED;
}

Test(gt_spool_list, shows_every_file_with_its_state_and_reason) {
  spool("refused text", 3);
  spool("pending text\n[gt] forged line\x1b[31m", 5);
  gt__spool_replay(dir, reject_first, NULL);
  char path[128];
  snprintf(path, sizeof path, "%s/0000000000001.1.1.sms.msg", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs("{\"v\":1,\"backend\":\"sms\",\"batch\":{\"collected\":7}}", f);
  fclose(f);
  gt__spool_replay(dir, reject_first, NULL); /* sets it aside as corrupt */
  snprintf(path, sizeof path, "%s/0000000000002.1.1.webhook.msg", dir);
  cr_assert_eq(mkfifo(path, 0600), 0);

  char *out;
  cr_assert_eq(list(&out), 0, "%s", out);
  cr_expect(strstr(out, "4 message(s) in"), "%s", out);
  cr_expect(strstr(out, "1 pending, 3 set aside"), "%s", out);
  cr_expect(strstr(out, "rejected sms"), "%s", out);
  cr_expect(strstr(out, "sms: HTTP 400 bad destination"), "%s", out);
  cr_expect(strstr(out, "refused text"), "%s", out);
  cr_expect(strstr(out, "corrupt  sms"), "%s", out);
  cr_expect(strstr(out, "7 objects  0000000000001.1.1.sms.msg.corrupt"), "%s",
            out);
  cr_expect(strstr(out, "it has no text"), "%s", out);
  cr_expect(strstr(out, "unsafe"), "%s", out);
  cr_expect(strstr(out, "a FIFO, not a regular file"), "%s", out);
  cr_expect(strstr(out, "pending  sms"), "%s", out);
  cr_expect(strstr(out, "sms: HTTP 500"), "%s", out);
  cr_expect(strstr(out, "pending text\\x0a[gt] forged line\\x1b[31m"), "%s",
            out);
  cr_expect_null(strstr(out, "\n[gt] forged"), "a spooled text forged a line");
  cr_expect_null(strstr(out, "\x1b"), "a raw escape sequence was printed");
  free(out);
}

Test(gt_spool_list, refuses_an_unsafe_spool_with_the_reason) {
  cr_assert_eq(chmod(dir, 0777), 0);
  char *out;
  cr_expect_eq(list(&out), 2, "%s", out);
  cr_expect(strstr(out, "gt.spool_dir"), "%s", out);
  cr_expect(strstr(out, "writable by others"), "%s", out);
  free(out);
}
