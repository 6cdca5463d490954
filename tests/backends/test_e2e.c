/* End to end: a program allocates and drops named objects, gt_collect(),
 * and the right text with exact counts reaches each real server. Switching
 * backend is only a configuration change: every suite runs the same
 * workload. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "support.h"

#define EXPECTED_TEXT "5 objects collected (sampled 5): Node x3, Thing x2"

static test_server srv;
static char url[80], errfile[64], spool_dir[64];
static int saved_stderr = -1;

/* gt__warn writes to stderr: keep it in a file that is checked for
 * secrets after every test. */
static void capture_stderr(void) {
  snprintf(errfile, sizeof errfile, "/tmp/gt-e2e-stderr-XXXXXX");
  int fd = mkstemp(errfile);
  cr_assert_geq(fd, 0);
  fflush(stderr);
  saved_stderr = dup(2);
  dup2(fd, 2);
  close(fd);
}

static void down(void) {
  gt_shutdown(5000);
  fflush(stderr);
  if (saved_stderr >= 0) {
    dup2(saved_stderr, 2);
    close(saved_stderr);
    saved_stderr = -1;
  }
  assert_file_no_secret(errfile);
  unlink(errfile);
  test_rm_rf(spool_dir);
  server_stop(&srv);
}

static void sms_up(void) {
  capture_stderr();
  server_start(&srv, "infobip_mock.py", true, NULL);
  snprintf(url, sizeof url, "https://127.0.0.1:%d", srv.port);
}
static void smtp_up(void) {
  capture_stderr();
  const char *extra[] = {"--mode",     "starttls",    "--user", SMTP_USER,
                         "--password", SMTP_PASSWORD, NULL};
  server_start(&srv, "smtp_server.py", true, extra);
  snprintf(url, sizeof url, "smtp://127.0.0.1:%d", srv.port);
}
static void hook_up(void) {
  capture_stderr();
  const char *extra[] = {"--secret", HOOK_SECRET, NULL};
  server_start(&srv, "webhook_receiver.py", true, extra);
  snprintf(url, sizeof url, "https://127.0.0.1:%d/hook", srv.port);
}

TestSuite(e2e_sms, .init = sms_up, .fini = down, .timeout = 40);
TestSuite(e2e_email, .init = smtp_up, .fini = down, .timeout = 40);
TestSuite(e2e_webhook, .init = hook_up, .fini = down, .timeout = 40);

/* The same program for every backend: init, allocate, drop, collect. */

static size_t workload(const char *const *kv) {
  gt_options *o = gt_options_new();
  const char *common[] = {"gt.rate_per_minute",
                          "0",
                          "gt.retry_max",
                          "0",
                          "gt.batch_window_ms",
                          "600000",
                          "gt.timeout_ms",
                          "5000",
                          NULL};
  for (const char *const *p = common; *p; p += 2)
    cr_assert_eq(gt_options_set(o, p[0], p[1]), 0, "%s", gt_last_error());
  for (; *kv; kv += 2)
    cr_assert_eq(gt_options_set(o, kv[0], kv[1]), 0, "%s: %s", kv[0],
                 gt_last_error());
  /* A spool of its own, so one test's undelivered message is not replayed
   * into the next. */
  test_tmpdir(spool_dir, sizeof spool_dir, "e2e-spool");
  cr_assert_eq(gt_options_set(o, "gt.spool_dir", spool_dir), 0);
  int rc = gt_init(o);
  gt_options_free(o);
  cr_assert_eq(rc, 0, "gt_init: %s", gt_last_error());
  test_make(3, "Node");
  test_make(2, "Thing");
  test_scrub_stack();
  return gt_collect();
}

static const char *sms_text(json_t *rec) {
  json_t *m = json_array_get(
      json_object_get(json_object_get(rec, "json"), "messages"), 0);
  return json_string_value(
      json_object_get(json_object_get(m, "content"), "text"));
}

Test(e2e_sms, collected_objects_arrive_as_one_sms) {
  const char *kv[] = {"gt.backend",
                      "sms",
                      "sms.base_url",
                      url,
                      "sms.api_key",
                      SMS_KEY_OK,
                      "sms.to",
                      "+41 79 302 67 27",
                      "sms.ca_file",
                      test_pki_file("ca.pem"),
                      NULL};
  cr_assert_eq(workload(kv), 5);
  cr_assert_eq(server_wait_records(&srv, 1, 5000), 1);
  json_t *r = server_records(&srv);
  cr_expect_str_eq(sms_text(json_array_get(r, 0)), EXPECTED_TEXT);
  json_decref(r);
  gt_stats st;
  gt_get_stats(&st);
  cr_expect_eq(st.collected, 5);
  cr_expect_eq(st.sent, 1);
  cr_expect_eq(st.failed, 0);
}

Test(e2e_sms, wrong_key_fails_but_counts_stay) {
  const char *kv[] = {"gt.backend",
                      "sms",
                      "sms.base_url",
                      url,
                      "sms.api_key",
                      SMS_KEY_BAD,
                      "sms.to",
                      "41793026727",
                      "sms.ca_file",
                      test_pki_file("ca.pem"),
                      NULL};
  cr_assert_eq(workload(kv), 5);
  gt_stats st;
  gt_get_stats(&st);
  cr_expect_eq(st.collected, 5);
  cr_expect_eq(st.sent, 0);
  cr_expect_eq(st.failed, 1);
  cr_expect_eq(st.spooled, 1, "the undelivered message keeps its count");
  fflush(stderr);
  char *err = slurp(errfile);
  cr_expect(err && strstr(err, "Invalid login details"), "%s", err);
  free(err);
}

Test(e2e_sms, untrusted_certificate_fails_but_counts_stay) {
  const char *kv[] = {"gt.backend",
                      "sms",
                      "sms.base_url",
                      url,
                      "sms.api_key",
                      SMS_KEY_OK,
                      "sms.to",
                      "41793026727",
                      "sms.ca_file",
                      test_pki_file("other-ca.pem"),
                      NULL};
  cr_assert_eq(workload(kv), 5);
  gt_stats st;
  gt_get_stats(&st);
  cr_expect_eq(st.collected, 5);
  cr_expect_eq(st.failed, 1);
  json_t *r = server_records(&srv);
  cr_expect_eq(json_array_size(r), 0);
  json_decref(r);
}

Test(e2e_sms, bad_config_fails_gt_init_naming_the_key) {
  const char *cases[][2] = {{"sms.to", "+41 79"},
                            {"sms.base_url", "http://api.example.org"}};
  for (int i = 0; i < 2; i++) {
    gt_options *o = gt_options_new();
    gt_options_set(o, "gt.backend", "sms");
    gt_options_set(o, "sms.base_url", url);
    gt_options_set(o, "sms.api_key", SMS_KEY_OK);
    gt_options_set(o, "sms.to", "41793026727");
    gt_options_set(o, cases[i][0], cases[i][1]);
    int rc = gt_init(o);
    gt_options_free(o);
    cr_expect_eq(rc, GT_EINVAL, "%s", cases[i][0]);
    cr_expect(strstr(gt_last_error(), cases[i][0]), "%s", gt_last_error());
    assert_no_secret("gt_init error", gt_last_error());
    if (rc == 0) gt_shutdown(1000);
  }
}

Test(e2e_email, collected_objects_arrive_as_one_mail) {
  const char *kv[] = {"gt.backend",
                      "email",
                      "email.url",
                      url,
                      "email.username",
                      SMTP_USER,
                      "email.password",
                      SMTP_PASSWORD,
                      "email.from",
                      "gt@example.org",
                      "email.to",
                      "ops@example.org",
                      "email.ca_file",
                      test_pki_file("ca.pem"),
                      NULL};
  cr_assert_eq(workload(kv), 5);
  char path[400];
  snprintf(path, sizeof path, "%s/1.eml", srv.maildir);
  char *m = NULL;
  for (int i = 0; i < 250 && !(m = slurp(path)); i++)
    usleep(20000);
  cr_assert_not_null(m);
  cr_expect(strstr(m, EXPECTED_TEXT), "%s", m);
  free(m);
  snprintf(path, sizeof path, "%s/2.eml", srv.maildir);
  cr_expect_null(slurp(path), "exactly one mail");
}

Test(e2e_webhook, collected_objects_arrive_signed_with_counts) {
  const char *kv[] = {"gt.backend",
                      "webhook",
                      "webhook.url",
                      url,
                      "webhook.secret",
                      HOOK_SECRET,
                      "webhook.ca_file",
                      test_pki_file("ca.pem"),
                      NULL};
  cr_assert_eq(workload(kv), 5);
  cr_assert_eq(server_wait_records(&srv, 1, 5000), 1);
  json_t *r = server_records(&srv);
  json_t *rec = json_array_get(r, 0);
  cr_expect(json_is_true(json_object_get(rec, "verified")));
  json_t *body = json_object_get(rec, "json");
  cr_expect_str_eq(json_string_value(json_object_get(body, "text")),
                   EXPECTED_TEXT);
  char *dump = json_dumps(body, JSON_COMPACT);
  cr_log_info("webhook body: %s", dump);
  free(dump);
  json_decref(r);
}

Test(e2e_webhook, fan_out_to_two_backends) {
  test_server sms;
  server_start(&sms, "infobip_mock.py", true, NULL);
  char base[64];
  snprintf(base, sizeof base, "https://127.0.0.1:%d", sms.port);
  const char *kv[] = {"gt.backend",
                      "webhook,sms",
                      "webhook.url",
                      url,
                      "webhook.secret",
                      HOOK_SECRET,
                      "webhook.ca_file",
                      test_pki_file("ca.pem"),
                      "sms.base_url",
                      base,
                      "sms.api_key",
                      SMS_KEY_OK,
                      "sms.to",
                      "41793026727",
                      "sms.ca_file",
                      test_pki_file("ca.pem"),
                      NULL};
  cr_assert_eq(workload(kv), 5);
  cr_expect_eq(server_wait_records(&srv, 1, 5000), 1);
  cr_expect_eq(server_wait_records(&sms, 1, 5000), 1);
  json_t *r = server_records(&sms);
  cr_expect_str_eq(sms_text(json_array_get(r, 0)), EXPECTED_TEXT);
  json_decref(r);
  server_stop(&sms);
}
