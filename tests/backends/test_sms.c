/* The sms backend against the mock Infobip server over real TLS. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "backends/http.h"
#include "backends/sms_text.h"
#include "support.h"

static test_server srv;
static char base[64];

static void up(void) {
  server_start(&srv, "infobip_mock.py", true, NULL);
  snprintf(base, sizeof base, "https://127.0.0.1:%d", srv.port);
}
static void down(void) {
  server_stop(&srv);
}

TestSuite(sms, .init = up, .fini = down, .timeout = 30);

/* Opens sms with the usual keys plus overrides, sends text once. */
static int send_once(const char *const *extra, const char *text,
                     gt_send_result *res) {
  const char *kv[40] = {"sms.base_url",  base,
                        "sms.api_key",   SMS_KEY_OK,
                        "sms.to",        "+41 79 302 67 27",
                        "sms.ca_file",   test_pki_file("ca.pem"),
                        "gt.timeout_ms", "5000"};
  size_t n = 10;
  for (; extra && *extra; extra++)
    kv[n++] = *extra;
  kv[n] = NULL;
  gt_config cfg;
  void *st = NULL;
  int rc = test_open("sms", kv, &st, &cfg);
  cr_assert_eq(rc, 0, "open: %s", gt_last_error());
  gt_batch b;
  test_batch(&b, 3);
  gt_message m = {.text = text, .batch = &b};
  memset(res, 0, sizeof *res);
  rc = test_backend(&cfg, "sms")->send(st, &m, res);
  test_backend(&cfg, "sms")->close(st);
  gt__config_free(&cfg);
  assert_no_secret("detail", res->detail);
  assert_no_secret("gt_last_error", gt_last_error());
  return rc;
}

static json_t *only_record(void) {
  cr_assert_eq(server_wait_records(&srv, 1, 2000), 1);
  json_t *r = server_records(&srv);
  json_t *one = json_incref(json_array_get(r, 0));
  json_decref(r);
  return one;
}

Test(sms, v3_request_is_what_infobip_documents) {
  gt_send_result res;
  cr_assert_eq(send_once(NULL, "3 objects collected: Node x3", &res), 0, "%s",
               res.detail);
  cr_assert(strstr(res.detail, "PENDING_ACCEPTED"), "%s", res.detail);
  json_t *r = only_record();
  cr_assert_str_eq(json_string_value(json_object_get(r, "path")),
                   "/sms/3/messages");
  json_t *h = json_object_get(r, "headers");
  cr_assert_str_eq(json_string_value(json_object_get(h, "Authorization")),
                   "App " SMS_KEY_OK);
  cr_assert_str_eq(json_string_value(json_object_get(h, "Content-Type")),
                   "application/json");
  cr_assert_str_eq(json_string_value(json_object_get(h, "User-Agent")),
                   "garbage-texts/" GT_VERSION_STRING);
  json_t *want = json_loads(
      "{\"messages\":[{\"sender\":\"GarbageText\",\"destinations\":[{\"to\":"
      "\"41793026727\"}],\"content\":{\"text\":\"3 objects collected: Node "
      "x3\"}}]}",
      0, NULL);
  cr_assert(json_equal(json_object_get(r, "json"), want));
  json_decref(want);
  json_decref(r);
}

Test(sms, v2_request_and_every_destination) {
  gt_send_result res;
  const char *extra[] = {"sms.api",  "2",
                         "sms.from", "GT Tests",
                         "sms.to",   "+41 79 302 67 27, 0041-44-668-18-00x",
                         NULL};
  /* "0041..." has a leading 0 and a letter: refused at open. */
  const char *kv[] = {"sms.base_url", base,     "sms.api_key", SMS_KEY_OK,
                      extra[4],       extra[5], NULL};
  gt_config cfg;
  void *st;
  cr_assert_eq(test_open("sms", kv, &st, &cfg), GT_EINVAL);
  cr_assert(strstr(gt_last_error(), "sms.to"), "%s", gt_last_error());
  gt__config_free(&cfg);

  extra[5] = "+41 79 302 67 27,+1 (212) 555-0100";
  cr_assert_eq(send_once(extra, "hello", &res), 0, "%s", res.detail);
  json_t *r = only_record();
  cr_assert_str_eq(json_string_value(json_object_get(r, "path")),
                   "/sms/2/text/advanced");
  json_t *want = json_loads(
      "{\"messages\":[{\"from\":\"GT Tests\",\"destinations\":[{\"to\":"
      "\"41793026727\"},{\"to\":\"12125550100\"}],\"text\":\"hello\"}]}",
      0, NULL);
  cr_assert(json_equal(json_object_get(r, "json"), want));
  json_decref(want);
  json_decref(r);
}

Test(sms, wrong_key_is_401_in_both_formats) {
  gt_send_result res;
  const char *v3[] = {"sms.api_key", SMS_KEY_BAD, NULL};
  cr_assert_eq(send_once(v3, "x", &res), GT_ESEND);
  cr_assert_not(res.retryable);
  cr_assert(strstr(res.detail, "HTTP 401: E401: Invalid login details"), "%s",
            res.detail);
  const char *v2[] = {"sms.api_key", SMS_KEY_BAD, "sms.api", "2", NULL};
  cr_assert_eq(send_once(v2, "x", &res), GT_ESEND);
  cr_assert(strstr(res.detail, "HTTP 401: UNAUTHORIZED: Invalid login details"),
            "%s", res.detail);
  cr_assert(strstr(gt_last_error(), "UNAUTHORIZED"), "%s", gt_last_error());
}

Test(sms, unknown_number_is_rejected) {
  gt_send_result res;
  const char *extra[] = {"sms.to", "+41 79 302 67 27, +41 00000 0000", NULL};
  /* A national 0 after the country code is still digits: valid format. */
  cr_assert_eq(send_once(extra, "x", &res), GT_ESEND);
  cr_assert_not(res.retryable);
  cr_assert(strstr(res.detail, "1 of 2 destinations failed"), "%s", res.detail);
  cr_assert(strstr(res.detail, "REJECTED_DESTINATION_NOT_REGISTERED"), "%s",
            res.detail);
  const char *und[] = {"sms.to", "41999999999", "sms.api", "2", NULL};
  cr_assert_eq(send_once(und, "x", &res), GT_ESEND);
  cr_assert(strstr(res.detail, "UNDELIVERABLE"), "%s", res.detail);
}

Test(sms, throttling_and_server_errors_are_retryable) {
  gt_send_result res;
  const char *k429[] = {"sms.api_key", SMS_KEY_429, NULL};
  cr_assert_eq(send_once(k429, "x", &res), GT_ESEND);
  cr_assert(res.retryable);
  cr_assert_eq(res.retry_after_ms, 7000);
  cr_assert(strstr(res.detail, "HTTP 429: E429"), "%s", res.detail);
  const char *kdate[] = {"sms.api_key", "ib-SECRET-429-date-1", NULL};
  cr_assert_eq(send_once(kdate, "x", &res), GT_ESEND);
  cr_assert(res.retryable);
  cr_assert(res.retry_after_ms > 25000 && res.retry_after_ms <= 31000, "%ld",
            res.retry_after_ms);
  const char *k500[] = {"sms.api_key", SMS_KEY_500, "sms.api", "2", NULL};
  cr_assert_eq(send_once(k500, "x", &res), GT_ESEND);
  cr_assert(res.retryable);
  cr_assert(strstr(res.detail, "HTTP 500: GENERAL_ERROR"), "%s", res.detail);
}

Test(sms, a_silent_server_times_out_within_the_budget) {
  gt_send_result res;
  const char *extra[] = {"sms.api_key", "ib-SECRET-slow-1", "gt.timeout_ms",
                         "700", NULL};
  int64_t t0 = gt__now_ms();
  cr_assert_eq(send_once(extra, "x", &res), GT_ESEND);
  int64_t took = gt__now_ms() - t0;
  cr_expect(res.retryable, "%s", res.detail);
  cr_expect(strstr(res.detail, "imeout") || strstr(res.detail, "timed out"),
            "%s", res.detail);
  cr_expect_lt(took, 3000, "took %lld ms", (long long)took);
}

Test(sms, untrusted_certificate_fails_permanently) {
  gt_send_result res;
  const char *extra[] = {"sms.ca_file", test_pki_file("other-ca.pem"), NULL};
  cr_assert_eq(send_once(extra, "x", &res), GT_ESEND);
  cr_assert_not(res.retryable);
  cr_assert(strstr(res.detail, "certificate"), "%s", res.detail);
  json_t *r = server_records(&srv);
  cr_assert_eq(json_array_size(r), 0, "nothing may reach the server");
  json_decref(r);
}

Test(sms, closed_port_is_retryable) {
  gt_send_result res;
  char url[64];
  int port = srv.port;
  server_stop(&srv);
  snprintf(url, sizeof url, "https://127.0.0.1:%d", port);
  const char *extra[] = {"sms.base_url", url, NULL};
  cr_assert_eq(send_once(extra, "x", &res), GT_ESEND);
  cr_assert(res.retryable, "%s", res.detail);
}

Test(sms, text_is_fitted_to_segments) {
  gt_send_result res;
  char text[600] = "400 objects collected: ";
  for (int i = 0; i < 40; i++) {
    char item[32];
    snprintf(item, sizeof item, "%sName%02d x10", i ? ", " : "", i);
    strcat(text, item);
  }
  const char *extra[] = {"sms.max_segments", "2", NULL};
  cr_assert_eq(send_once(extra, text, &res), 0, "%s", res.detail);
  json_t *r = only_record();
  const char *got = json_string_value(json_object_get(
      json_object_get(
          json_array_get(
              json_object_get(json_object_get(r, "json"), "messages"), 0),
          "content"),
      "text"));
  cr_assert_not_null(got);
  gt_sms_count c = gt__sms_count(got, strlen(got));
  cr_assert_eq(c.segments, 2, "%zu units: %s", c.units, got);
  cr_assert(strstr(got, " more"), "%s", got);
  cr_assert_eq(strncmp(got, text, 40), 0);
  json_decref(r);
}

Test(sms, bad_configuration_names_the_key) {
  struct {
    const char *k, *v, *want;
  } cases[] = {
      {"sms.base_url", "ftp://127.0.0.1", "sms.base_url"},
      {"sms.base_url", "http://api.example.org", "sms.base_url"},
      {"sms.base_url", "https://exa mple.org", "sms.base_url"},
      {"sms.to", "", "sms.to"},
      {"sms.to", "12345", "sms.to"},
      {"sms.to", "+41 79 302 67 27 12345678", "sms.to"},
      {"sms.api_key", "", "sms.api_key"},
      {"sms.api", "4", "sms.api"},
      {"sms.max_segments", "0", "sms.max_segments"},
      {"sms.ca_file", "/nonexistent/ca.pem", "sms.ca_file"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    const char *kv[] = {"sms.base_url", base,       "sms.api_key",
                        SMS_KEY_OK,     "sms.to",   "41793026727",
                        cases[i].k,     cases[i].v, NULL};
    gt_config cfg;
    void *st = NULL;
    int rc = test_open("sms", kv, &st, &cfg);
    cr_expect_eq(rc, GT_EINVAL, "%s=%s accepted", cases[i].k, cases[i].v);
    cr_expect(strncmp(gt_last_error(), cases[i].want, strlen(cases[i].want)) ==
                  0,
              "%s=%s: %s", cases[i].k, cases[i].v, gt_last_error());
    cr_expect_null(st);
    gt__config_free(&cfg);
  }
}

Test(sms, base_url_rules) {
  char *u = NULL;
  cr_assert_eq(gt__http_url("k", "example.api.infobip.com/", &u), 0);
  cr_assert_str_eq(u, "https://example.api.infobip.com");
  free(u);
  cr_assert_eq(gt__http_url("k", "http://localhost:8080", &u), 0);
  free(u);
  cr_assert_eq(gt__http_url("k", "http://127.8.9.10", &u), 0);
  free(u);
  cr_assert_eq(gt__http_url("k", "http://[::1]:99/", &u), 0);
  cr_assert_str_eq(u, "http://[::1]:99");
  free(u);
  cr_assert_eq(gt__http_url("k", "http://128.0.0.1", &u), GT_EINVAL);
  cr_assert_eq(gt__http_url("k", "http://localhost.example.org", &u),
               GT_EINVAL);
}

/* ---- hostile servers and odd text ---------------------------------------- */

Test(sms, a_server_echoing_the_key_gets_it_back_as_stars) {
  gt_send_result res;
  /* The mock repeats "Authorization: App <key>" in its error text and in
   * WWW-Authenticate; send_once asserts that no secret is in the detail
   * or in gt_last_error(). */
  const char *extra[] = {"sms.api_key", "ib-SECRET-echo-1", NULL};
  cr_assert_eq(send_once(extra, "x", &res), GT_ESEND);
  cr_expect(strstr(res.detail, "Invalid login details: Authorization: App ***"),
            "%s", res.detail);
  cr_expect(strstr(res.detail, "[WWW-Authenticate: App realm=\"api\", "
                               "rejected=\"App ***\"]"),
            "%s", res.detail);
  cr_expect(res.auth_failed);
  cr_expect_not(res.retryable);
  const char *v2[] = {"sms.api_key", "ib-SECRET-echo-2", "sms.api", "2", NULL};
  cr_assert_eq(send_once(v2, "x", &res), GT_ESEND);
  cr_expect(strstr(res.detail, "UNAUTHORIZED: Invalid login details: "
                               "Authorization: App ***"),
            "%s", res.detail);
}

Test(sms, refused_credentials_are_flagged_as_such) {
  gt_send_result res;
  const char *bad[] = {"sms.api_key", SMS_KEY_BAD, NULL};
  cr_assert_eq(send_once(bad, "x", &res), GT_ESEND);
  cr_expect(res.auth_failed, "401: %s", res.detail);
  cr_expect_not(res.retryable);
  const char *forbidden[] = {"sms.api_key", "ib-SECRET-forbid-1", NULL};
  cr_assert_eq(send_once(forbidden, "x", &res), GT_ESEND);
  cr_expect(res.auth_failed, "403: %s", res.detail);
  cr_expect_not(res.retryable);
  cr_expect(strstr(res.detail, "HTTP 403"), "%s", res.detail);
  const char *k500[] = {"sms.api_key", SMS_KEY_500, NULL};
  cr_assert_eq(send_once(k500, "x", &res), GT_ESEND);
  cr_expect_not(res.auth_failed, "500: %s", res.detail);
  const char *k429[] = {"sms.api_key", SMS_KEY_429, NULL};
  cr_assert_eq(send_once(k429, "x", &res), GT_ESEND);
  cr_expect_not(res.auth_failed, "429: %s", res.detail);
  cr_assert_eq(send_once(NULL, "x", &res), 0, "%s", res.detail);
  cr_expect_not(res.auth_failed);
}

Test(sms, a_200_cut_mid_body_is_delivered) {
  gt_send_result res;
  const char *extra[] = {"sms.api_key", "ib-SECRET-cut-1", NULL};
  cr_assert_eq(send_once(extra, "x", &res), 0, "%s", res.detail);
  cr_expect(strstr(res.detail, "sms: accepted (HTTP 200) (the reply was cut "
                               "short"),
            "%s", res.detail);
  cr_expect_eq(server_wait_records(&srv, 1, 2000), 1);
}

Test(sms, a_200_whose_body_stalls_is_delivered_after_a_short_grace) {
  gt_send_result res;
  const char *extra[] = {"sms.api_key", "ib-SECRET-stall-1", "gt.timeout_ms",
                         "10000", NULL};
  int64_t t0 = gt__now_ms();
  cr_assert_eq(send_once(extra, "x", &res), 0, "%s", res.detail);
  int64_t took = gt__now_ms() - t0;
  cr_expect(strstr(res.detail, "stalled"), "%s", res.detail);
  /* The grace (GT_HTTP_GRACE_MS), not gt.timeout_ms, bounds the wait. */
  cr_expect_geq(took, GT_HTTP_GRACE_MS - 100, "took %lld ms", (long long)took);
  cr_expect_lt(took, GT_HTTP_GRACE_MS + 1500, "took %lld ms", (long long)took);
  cr_expect_eq(server_wait_records(&srv, 1, 2000), 1);
}

static void no_deadline(void) {
  gt__http_abort_at(0);
}

/* gt_shutdown sets the deadline from its own thread while the worker is
 * inside a transfer: here once the request is long out (libcurl's own
 * timers have gone quiet) and close ahead, so only polling finds it. */
static void *set_deadline_later(void *arg) {
  (void)arg;
  struct timespec ts = {0, 250 * 1000000L};
  nanosleep(&ts, NULL);
  gt__http_abort_at(gt__now_ms() + 50);
  return NULL;
}

Test(sms, the_abort_deadline_bounds_a_send_to_a_blackhole,
     .fini = no_deadline) {
  gt_send_result res;
  const char *extra[] = {"sms.api_key", "ib-SECRET-hole-1", "gt.timeout_ms",
                         "10000", NULL};
  /* Set from another thread mid-transfer: stops within a poll slice. */
  pthread_t t;
  int64_t t0 = gt__now_ms();
  cr_assert_eq(pthread_create(&t, NULL, set_deadline_later, NULL), 0);
  int rc = send_once(extra, "x", &res);
  int64_t took = gt__now_ms() - t0;
  pthread_join(t, NULL);
  cr_assert_eq(rc, GT_ESEND);
  cr_expect_geq(took, 290, "took %lld ms", (long long)took);
  cr_expect_lt(took, 450, "took %lld ms", (long long)took);
  cr_expect(res.retryable, "%s", res.detail);
  cr_expect(strstr(res.detail, "shutdown deadline"), "%s", res.detail);
  /* Set before the send. */
  t0 = gt__now_ms();
  gt__http_abort_at(t0 + 300);
  cr_assert_eq(send_once(extra, "x", &res), GT_ESEND);
  took = gt__now_ms() - t0;
  cr_expect_geq(took, 280, "took %lld ms", (long long)took);
  cr_expect_lt(took, 450, "took %lld ms", (long long)took);
  cr_expect(res.retryable, "%s", res.detail);
  cr_expect_eq(server_wait_records(&srv, 2, 2000), 2);
  /* Past the deadline a send does not even start. */
  t0 = gt__now_ms();
  cr_assert_eq(send_once(NULL, "x", &res), GT_ESEND);
  cr_expect_lt(gt__now_ms() - t0, 100);
  cr_expect(res.retryable, "%s", res.detail);
  cr_expect(strstr(res.detail, "not started"), "%s", res.detail);
  cr_expect_eq(server_wait_records(&srv, 3, 300), 2, "nothing was sent");
  /* Without a deadline, sending works again. */
  gt__http_abort_at(0);
  cr_assert_eq(send_once(NULL, "x", &res), 0, "%s", res.detail);
}

Test(sms, text_that_is_not_utf8_is_escaped_not_refused) {
  gt_send_result res;
  cr_assert_eq(send_once(NULL, "2 objects: Caf\xe9 x1, bad\xff x1", &res), 0,
               "%s", res.detail);
  json_t *r = only_record();
  cr_expect_eq(json_integer_value(json_object_get(r, "status")), 200);
  json_t *msg = json_array_get(
      json_object_get(json_object_get(r, "json"), "messages"), 0);
  cr_expect_str_eq(json_string_value(json_object_get(
                       json_object_get(msg, "content"), "text")),
                   "2 objects: Caf\\xe9 x1, bad\\xff x1");
  json_decref(r);
  const char *from[] = {"sms.from", "Caf\xe9", NULL};
  const char *kv[] = {"sms.base_url", base,     "sms.api_key",
                      SMS_KEY_OK,     "sms.to", "41793026727",
                      from[0],        from[1],  NULL};
  gt_config cfg;
  void *st = NULL;
  cr_expect_eq(test_open("sms", kv, &st, &cfg), GT_EINVAL);
  cr_expect(strncmp(gt_last_error(), "sms.from", 8) == 0, "%s",
            gt_last_error());
  gt__config_free(&cfg);
}
