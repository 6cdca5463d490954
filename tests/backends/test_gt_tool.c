/* The gt command-line tool, run as a separate process: exit codes, the
 * printed configuration, send-test against the mock Infobip server, and
 * that no secret appears anywhere in what it prints. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support.h"

#ifndef GT_TOOL_PATH
#error "GT_TOOL_PATH must name the built gt tool"
#endif

static test_server srv;
static char base[64], ca_env[400], base_env[100];

static void up(void) {
  server_start(&srv, "infobip_mock.py", true, NULL);
  snprintf(base, sizeof base, "https://127.0.0.1:%d", srv.port);
  snprintf(base_env, sizeof base_env, "GT_SMS_BASE_URL=%s", base);
  snprintf(ca_env, sizeof ca_env, "GT_SMS_CA_FILE=%s", test_pki_file("ca.pem"));
}
static void down(void) {
  server_stop(&srv);
}

TestSuite(gt_tool, .init = up, .fini = down, .timeout = 60);

/* Runs gt with args and an environment of its own (nothing inherited but
 * PATH), capturing stdout and stderr together. Returns the exit status. */
static int run(const char *const *args, const char *const *env, char **out) {
  char outfile[] = "/tmp/gt-tool-out-XXXXXX";
  int fd = mkstemp(outfile);
  cr_assert_geq(fd, 0);
  close(fd);
  const char *argv[32] = {GT_TOOL_PATH};
  size_t n = 1;
  for (; args && *args; args++)
    argv[n++] = *args;
  argv[n] = NULL;
  const char *envp[32] = {"PATH=/usr/bin:/bin", "HOME=/nonexistent"};
  n = 2;
  for (; env && *env; env++)
    envp[n++] = *env;
  envp[n] = NULL;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, outfile, O_WRONLY | O_TRUNC, 0);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv,
                       (char *const *)envp);
  posix_spawn_file_actions_destroy(&fa);
  cr_assert_eq(rc, 0);
  int st = 0;
  for (int waited = 0;; waited += 20) {
    if (waitpid(pid, &st, WNOHANG) == pid) break;
    if (waited > 30000) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      cr_assert_fail("gt did not finish within 30 s");
    }
    struct timespec ts = {0, 20000000};
    nanosleep(&ts, NULL);
  }
  *out = slurp(outfile);
  unlink(outfile);
  cr_assert_not_null(*out);
  /* The point of this file: whatever gt prints, no secret is in it. */
  assert_no_secret("gt output", *out);
  cr_assert(WIFEXITED(st), "gt died: %s", *out);
  return WEXITSTATUS(st);
}

Test(gt_tool, help_documents_exit_codes) {
  char *out;
  const char *a[] = {"--help", NULL};
  cr_assert_eq(run(a, NULL, &out), 0);
  cr_expect(strstr(out, "send-test"));
  cr_expect(strstr(out, "2  bad configuration or usage"), "%s", out);
  free(out);
  const char *bad[] = {"frobnicate", NULL};
  cr_expect_eq(run(bad, NULL, &out), 2);
  free(out);
  cr_expect_eq(run(NULL, NULL, &out), 2);
  free(out);
}

Test(gt_tool, check_prints_values_and_hides_secrets) {
  char *out;
  const char *a[] = {"-o",    "gt.backend=sms,webhook",
                     "-o",    "webhook.url=http://127.0.0.1:9/hook",
                     "-o",    "webhook.secret=" HOOK_SECRET,
                     "check", NULL};
  const char *env[] = {"GT_SMS_API_KEY=" SMS_KEY_OK, base_env, ca_env,
                       "GT_SMS_TO=+41 79 302 67 27", NULL};
  cr_assert_eq(run(a, env, &out), 0, "%s", out);
  cr_expect(strstr(out, "sms.api_key"), "%s", out);
  cr_expect(strstr(out, "***"), "%s", out);
  cr_expect(strstr(out, "backend sms: ok"), "%s", out);
  cr_expect(strstr(out, "backend webhook: ok"), "%s", out);
  free(out);
  json_t *r = server_records(&srv);
  cr_expect_eq(json_array_size(r), 0, "check must not send");
  json_decref(r);
}

Test(gt_tool, check_fails_on_bad_config) {
  char *out;
  const char *a[] = {"check", NULL};
  const char *env[] = {"GT_BACKEND=sms", "GT_SMS_API_KEY=" SMS_KEY_OK, base_env,
                       NULL};
  cr_assert_eq(run(a, env, &out), 2, "%s", out);
  cr_expect(strstr(out, "sms.to"), "%s", out);
  free(out);
}

Test(gt_tool, send_test_reaches_the_server) {
  char *out;
  const char *a[] = {"send-test", "hello from the test", NULL};
  const char *env[] = {"GT_BACKEND=sms", "GT_SMS_API_KEY=" SMS_KEY_OK, base_env,
                       ca_env,           "GT_SMS_TO=41793026727",      NULL};
  cr_assert_eq(run(a, env, &out), 0, "%s", out);
  cr_expect(strstr(out, "sent   sms: accepted for 1 destination"), "%s", out);
  free(out);
  cr_assert_eq(server_wait_records(&srv, 1, 2000), 1);
  json_t *r = server_records(&srv);
  json_t *msg = json_array_get(
      json_object_get(json_object_get(json_array_get(r, 0), "json"),
                      "messages"),
      0);
  cr_expect_str_eq(json_string_value(json_object_get(
                       json_object_get(msg, "content"), "text")),
                   "hello from the test");
  json_decref(r);
}

Test(gt_tool, send_test_reports_failures) {
  char *out;
  const char *a[] = {"send-test", NULL};
  const char *env[] = {
      "GT_BACKEND=sms", "GT_SMS_API_KEY=" SMS_KEY_BAD, base_env,
      ca_env,           "GT_SMS_TO=41793026727",       NULL};
  cr_assert_eq(run(a, env, &out), 1, "%s", out);
  cr_expect(strstr(out, "FAILED sms: HTTP 401"), "%s", out);
  cr_expect(strstr(out, "Invalid login details"), "%s", out);
  free(out);
  const char *untrusted[] = {"GT_BACKEND=sms", "GT_SMS_API_KEY=" SMS_KEY_OK,
                             base_env, "GT_SMS_TO=41793026727", NULL};
  /* No CA given: the system store does not trust the test CA. */
  cr_assert_eq(run(a, untrusted, &out), 1, "%s", out);
  cr_expect(strstr(out, "certificate"), "%s", out);
  free(out);
}

Test(gt_tool, spool_list_and_replay) {
  char dir[64], dir_env[100];
  test_tmpdir(dir, sizeof dir, "tool-spool");
  snprintf(dir_env, sizeof dir_env, "GT_SPOOL_DIR=%s", dir);
  cr_assert_eq(gt__spool_prepare(dir), 0);
  for (int i = 1; i <= 2; i++) {
    gt_batch b;
    test_batch(&b, (uint64_t)i * 10);
    json_t *j = gt__batch_json(&b);
    char text[64];
    snprintf(text, sizeof text, "%d0 objects collected (spooled)", i);
    cr_assert_eq(gt__spool_write(dir, "sms", text, j, "test"), 0);
    json_decref(j);
    gt__batch_free(&b);
  }
  char *out;
  const char *list[] = {"spool", "list", NULL};
  const char *env[] = {"GT_BACKEND=sms",
                       "GT_SMS_API_KEY=" SMS_KEY_OK,
                       base_env,
                       ca_env,
                       "GT_SMS_TO=41793026727",
                       dir_env,
                       "GT_RATE_PER_MINUTE=0",
                       NULL};
  cr_assert_eq(run(list, env, &out), 0, "%s", out);
  cr_expect(strstr(out, "2 message(s) in"), "%s", out);
  cr_expect(strstr(out, "20 objects collected (spooled)"), "%s", out);
  free(out);
  const char *replay[] = {"spool", "replay", NULL};
  cr_assert_eq(run(replay, env, &out), 0, "%s", out);
  cr_expect(strstr(out, "replayed 2 of 2 message(s); 0 left"), "%s", out);
  free(out);
  cr_assert_eq(server_wait_records(&srv, 2, 3000), 2);
  cr_assert_eq(gt__spool_count(dir), 0);
  test_rm_rf(dir);
}

Test(gt_tool, check_shows_urls_without_their_passwords) {
  char *out;
  const char *a[] = {"-o",
                     "webhook.url=https://u:" URL_PASSWORD "@127.0.0.1:1/h",
                     "-o",
                     "alertmanager.url=http://a:" URL_PASSWORD
                     "@127.0.0.1:9093,http://tok-SECRET-9@127.0.0.1:9094",
                     "-o",
                     "email.url=smtps://" SMTP_USER ":" SMTP_PASSWORD
                     "@127.0.0.1:465",
                     "check",
                     NULL};
  const char *env[] = {"GT_SMS_BASE_URL=u:" URL_PASSWORD "@127.0.0.1:1", NULL};
  /* run() asserts that none of the passwords is in the output. */
  cr_assert_eq(run(a, env, &out), 0, "%s", out);
  cr_expect(
      strstr(out, "webhook.url              = https://u:***@127.0.0.1:1/h"),
      "%s", out);
  cr_expect(strstr(out,
                   "alertmanager.url         = http://a:***@127.0.0.1:9093,"
                   "http://***@127.0.0.1:9094"),
            "%s", out);
  cr_expect(strstr(out, "email.url                = smtps://" SMTP_USER
                        ":***@127.0.0.1:465"),
            "%s", out);
  cr_expect(strstr(out, "sms.base_url             = u:***@127.0.0.1:1"), "%s",
            out);
  free(out);
}

Test(gt_tool, send_test_to_a_server_echoing_the_key_prints_stars) {
  char *out;
  const char *a[] = {"send-test", NULL};
  const char *env[] = {
      "GT_BACKEND=sms", "GT_SMS_API_KEY=ib-SECRET-echo-9", base_env,
      ca_env,           "GT_SMS_TO=41793026727",           NULL};
  cr_assert_eq(run(a, env, &out), 1, "%s", out);
  cr_expect(strstr(out, "Authorization: App ***"), "%s", out);
  free(out);
}

/* ---- what a new user trips over ------------------------------------------ */

static size_t count(const char *hay, const char *needle) {
  size_t n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
    n++;
  return n;
}

Test(gt_tool, a_typo_in_the_environment_is_named_once) {
  char spool[] = "/tmp/gt-tool-typo-XXXXXX";
  cr_assert_not_null(mkdtemp(spool));
  char spool_env[64];
  snprintf(spool_env, sizeof spool_env, "GT_SPOOL_DIR=%s", spool);
  const char *want = "gt: GT_SMS_APIKEY is not a gt setting; did you mean "
                     "GT_SMS_API_KEY (sms.api_key)?\n";
  const char *env[] = {"GT_SMS_APIKEY=" SMS_KEY_OK, spool_env, NULL};
  char *out;
  const char *check[] = {"check", NULL};
  cr_assert_eq(run(check, env, &out), 0, "%s", out);
  cr_expect_eq(count(out, want), 1, "%s", out);
  free(out);
  /* spool replay reads the configuration, then runs gt_init: still once. */
  const char *replay[] = {"spool", "replay", NULL};
  cr_assert_eq(run(replay, env, &out), 0, "%s", out);
  cr_expect_eq(count(out, want), 1, "%s", out);
  free(out);
  rmdir(spool);
}

Test(gt_tool, options_that_need_a_value_say_so) {
  char *out;
  const char *c[] = {"-c", NULL};
  cr_expect_eq(run(c, NULL, &out), 2);
  cr_expect(strstr(out, "gt: -c needs a FILE"), "%s", out);
  free(out);
  const char *o[] = {"check", "-o", NULL};
  cr_expect_eq(run(o, NULL, &out), 2);
  free(out);
  const char *o2[] = {"-o", NULL};
  cr_expect_eq(run(o2, NULL, &out), 2);
  cr_expect(strstr(out, "gt: -o needs KEY=VALUE"), "%s", out);
  free(out);
}

Test(gt_tool, a_directory_is_not_a_configuration_file) {
  char *out;
  const char *a[] = {"-c", "/etc", "check", NULL};
  cr_expect_eq(run(a, NULL, &out), 2);
  cr_expect(strstr(out, "/etc: not a regular file"), "%s", out);
  free(out);
}

Test(gt_tool, check_tells_defaults_from_settings) {
  char *out;
  const char *a[] = {"-o", "gt.batch_max=7", "check", NULL};
  cr_assert_eq(run(a, NULL, &out), 0, "%s", out);
  cr_expect(strstr(out, "gt.batch_max             = 7\n"), "%s", out);
  cr_expect(strstr(out, "gt.sample_every          = 1 (default)\n"), "%s", out);
  free(out);
}

Test(gt_tool, version) {
  char *out;
  const char *a[] = {"--version", NULL};
  cr_expect_eq(run(a, NULL, &out), 0);
  cr_expect_str_eq(out, "gt " GT_VERSION_STRING "\n");
  free(out);
}
