/* The webhook backend against a receiver that verifies the HMAC. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "support.h"

static test_server srv;
static char url[80];

static void signed_up(void) {
  const char *extra[] = {"--secret", HOOK_SECRET, NULL};
  server_start(&srv, "webhook_receiver.py", true, extra);
  snprintf(url, sizeof url, "https://127.0.0.1:%d/hook", srv.port);
}
static void plain_up(void) {
  /* Plain http on loopback is allowed (a local relay, a test). */
  server_start(&srv, "webhook_receiver.py", false, NULL);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", srv.port);
}
static void failing_up(void) {
  const char *extra[] = {"--status", "503", NULL};
  server_start(&srv, "webhook_receiver.py", true, extra);
  snprintf(url, sizeof url, "https://127.0.0.1:%d/hook", srv.port);
}
static void echo_up(void) {
  /* A receiver behind a login that repeats what it was sent. */
  const char *extra[] = {"--status", "401", "--echo", NULL};
  server_start(&srv, "webhook_receiver.py", true, extra);
  snprintf(url, sizeof url,
           "https://" URL_USER ":" URL_PASSWORD "@127.0.0.1:%d/hook", srv.port);
}
static void down(void) {
  server_stop(&srv);
}

TestSuite(webhook, .init = signed_up, .fini = down, .timeout = 30);
TestSuite(webhook_plain, .init = plain_up, .fini = down, .timeout = 30);
TestSuite(webhook_503, .init = failing_up, .fini = down, .timeout = 30);
TestSuite(webhook_echo, .init = echo_up, .fini = down, .timeout = 30);

static int send_text(const char *secret, const char *ca, const char *text,
                     gt_send_result *res) {
  const char *kv[] = {
      "webhook.url", url, "webhook.secret", secret, "webhook.ca_file", ca,
      NULL};
  if (!secret) {
    kv[2] = ca ? "webhook.ca_file" : NULL;
    kv[3] = ca;
    kv[4] = NULL;
  }
  gt_config cfg;
  void *st = NULL;
  cr_assert_eq(test_open("webhook", kv, &st, &cfg), 0, "open: %s",
               gt_last_error());
  gt_batch b;
  test_batch(&b, 42);
  gt_message m = {.text = text, .batch = &b};
  memset(res, 0, sizeof *res);
  int rc = test_backend(&cfg, "webhook")->send(st, &m, res);
  test_backend(&cfg, "webhook")->close(st);
  gt__config_free(&cfg);
  assert_no_secret("detail", res->detail);
  assert_no_secret("gt_last_error", gt_last_error());
  return rc;
}

static int send_hook(const char *secret, const char *ca, gt_send_result *res) {
  return send_text(secret, ca, "42 objects collected", res);
}

static json_t *last_record(void) {
  cr_assert_geq(server_wait_records(&srv, 1, 2000), 1);
  json_t *r = server_records(&srv);
  json_t *one = json_incref(json_array_get(r, json_array_size(r) - 1));
  json_decref(r);
  return one;
}

Test(webhook, signed_post_verifies) {
  gt_send_result res;
  cr_assert_eq(send_hook(HOOK_SECRET, test_pki_file("ca.pem"), &res), 0, "%s",
               res.detail);
  json_t *r = last_record();
  cr_expect(json_is_true(json_object_get(r, "verified")));
  json_t *body = json_object_get(r, "json");
  cr_expect_str_eq(json_string_value(json_object_get(body, "text")),
                   "42 objects collected");
  cr_expect_eq(json_integer_value(json_object_get(body, "collected")), 42);
  json_t *h = json_object_get(r, "headers");
  cr_expect(strncmp(json_string_value(json_object_get(h, "X-GT-Signature")),
                    "sha256=", 7) == 0);
  json_decref(r);
}

Test(webhook, wrong_secret_is_refused) {
  gt_send_result res;
  cr_assert_eq(
      send_hook("hook-SECRET-not-the-right-one", test_pki_file("ca.pem"), &res),
      GT_ESEND);
  cr_expect_not(res.retryable);
  cr_expect(res.auth_failed);
  cr_expect(strstr(res.detail, "HTTP 401"), "%s", res.detail);
  json_t *r = last_record();
  cr_expect(json_is_false(json_object_get(r, "verified")));
  json_decref(r);
}

Test(webhook, untrusted_certificate_fails) {
  gt_send_result res;
  cr_assert_eq(send_hook(HOOK_SECRET, test_pki_file("other-ca.pem"), &res),
               GT_ESEND);
  cr_expect_not(res.retryable);
  cr_expect(strstr(res.detail, "certificate"), "%s", res.detail);
}

Test(webhook, bad_configuration) {
  const char *cases[][2] = {
      {"webhook.url", "http://hooks.example.org/x"},
      {"webhook.url", "gopher://127.0.0.1/"},
      {"webhook.secret", "short"},
  };
  for (size_t i = 0; i < 3; i++) {
    const char *kv[] = {"webhook.url", url, cases[i][0], cases[i][1], NULL};
    gt_config cfg;
    void *st = NULL;
    cr_expect_eq(test_open("webhook", kv, &st, &cfg), GT_EINVAL);
    cr_expect(strncmp(gt_last_error(), cases[i][0], strlen(cases[i][0])) == 0,
              "%s", gt_last_error());
    assert_no_secret("error", gt_last_error());
    gt__config_free(&cfg);
  }
}

Test(webhook_plain, unsigned_over_loopback_http) {
  gt_send_result res;
  cr_assert_eq(send_hook(NULL, NULL, &res), 0, "%s", res.detail);
  json_t *r = last_record();
  cr_expect(json_is_null(json_object_get(r, "verified")));
  cr_expect_null(
      json_object_get(json_object_get(r, "headers"), "X-GT-Signature"));
  json_decref(r);
}

Test(webhook, text_that_is_not_utf8_is_escaped_not_dropped) {
  gt_send_result res;
  cr_assert_eq(send_text(HOOK_SECRET, test_pki_file("ca.pem"),
                         "1 object: Caf\xe9 x1", &res),
               0, "%s", res.detail);
  json_t *r = last_record();
  cr_expect(json_is_true(json_object_get(r, "verified")));
  cr_expect_str_eq(
      json_string_value(json_object_get(json_object_get(r, "json"), "text")),
      "1 object: Caf\\xe9 x1");
  json_decref(r);
}

Test(webhook_echo, url_credentials_echoed_back_are_scrubbed) {
  gt_send_result res;
  /* libcurl sends the URL's user:pass as HTTP Basic; the receiver repeats
   * the header, the decoded password and a WWW-Authenticate with both. */
  cr_assert_eq(send_hook(HOOK_SECRET, test_pki_file("ca.pem"), &res), GT_ESEND);
  json_t *r = last_record();
  cr_assert_str_eq(json_string_value(json_object_get(
                       json_object_get(r, "headers"), "Authorization")),
                   "Basic " URL_BASIC_B64, "the credentials were sent");
  json_decref(r);
  /* send_hook asserts that no form of them is in the detail. */
  cr_expect(strstr(res.detail, "refused Basic *** i.e. " URL_USER ":***"), "%s",
            res.detail);
  cr_expect(strstr(res.detail, "[WWW-Authenticate: Basic realm=\"hooks\", "
                               "was=\"Basic ***\"]"),
            "%s", res.detail);
  cr_expect(res.auth_failed);
  cr_expect_not(res.retryable);
}

Test(webhook_503, server_errors_are_retryable) {
  gt_send_result res;
  cr_assert_eq(send_hook(HOOK_SECRET, test_pki_file("ca.pem"), &res), GT_ESEND);
  cr_expect(res.retryable);
  cr_expect_not(res.auth_failed);
  cr_expect(strstr(res.detail, "HTTP 503"), "%s", res.detail);
}
