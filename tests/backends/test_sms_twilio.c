/* The sms backend with sms.provider = twilio against a mock of Twilio's
 * Messages API over real TLS (tests/servers/twilio_mock.py), on its own and
 * through the whole pipeline (gt_init, gt_collect). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <mbedtls/base64.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/sms_text.h"
#include "support.h"

#define TW_SID "AC0123456789abcdef0123456789abcdef"
#define TW_KEY_SID "SKfedcba9876543210fedcba9876543210"
#define TW_SERVICE "MG00112233445566778899aabbccddeeff"
#define TW_OK "tw-SECRET-ok-3c1d7e90"
#define TW_BAD "tw-SECRET-bad-5e6f7a8b"
#define TW_429 "tw-SECRET-429-1f2e"
#define TW_500 "tw-SECRET-500-3d4c"
#define TW_ECHO "tw-SECRET-echo-9b8a"
#define TW_FROM "+15005550006" /* Twilio's magic "valid From" number */
#define MESSAGES_PATH "/2010-04-01/Accounts/" TW_SID "/Messages.json"

static test_server srv;
static char base[64];

/* base64("user:password"), the form the login travels in. */
static const char *basic(const char *user, const char *password) {
  static char out[4][128];
  static int i;
  char *o = out[i++ % 4], in[96];
  size_t n;
  snprintf(in, sizeof in, "%s:%s", user, password);
  cr_assert_eq(mbedtls_base64_encode((unsigned char *)o, sizeof out[0], &n,
                                     (const unsigned char *)in, strlen(in)),
               0);
  return o;
}

/* assert_no_secret covers every password here (they all hold "SECRET");
 * their Basic forms, for either user, have to be looked for as well. */
static void no_secret(const char *what, const char *text) {
  static const char *const pw[] = {TW_OK, TW_BAD, TW_429, TW_500, TW_ECHO};
  assert_no_secret(what, text);
  for (size_t i = 0; text && i < sizeof pw / sizeof *pw; i++) {
    cr_assert_null(strstr(text, basic(TW_SID, pw[i])), "%s leaks: %s", what,
                   text);
    cr_assert_null(strstr(text, basic(TW_KEY_SID, pw[i])), "%s leaks: %s", what,
                   text);
  }
}

static void up(void) {
  server_start(&srv, "twilio_mock.py", true, NULL);
  snprintf(base, sizeof base, "https://127.0.0.1:%d", srv.port);
}
static void down(void) {
  server_stop(&srv);
}

TestSuite(twilio, .init = up, .fini = down, .timeout = 30);

/* Opens sms (provider twilio) with the usual keys plus overrides (later
 * wins) and sends text once. */
static int send_once(const char *const *extra, const char *text,
                     gt_send_result *res) {
  const char *kv[48] = {"sms.provider",    "twilio",
                        "sms.base_url",    base,
                        "sms.account_sid", TW_SID,
                        "sms.api_key",     TW_OK,
                        "sms.from",        TW_FROM,
                        "sms.to",          "+41 79 302 67 27",
                        "sms.ca_file",     test_pki_file("ca.pem"),
                        "gt.timeout_ms",   "5000"};
  size_t n = 16;
  for (; extra && *extra && n < 46; extra++)
    kv[n++] = *extra;
  kv[n] = NULL;
  gt_config cfg;
  void *st = NULL;
  int rc = test_open("sms", kv, &st, &cfg);
  cr_assert_eq(rc, 0, "open: %s", gt_last_error());
  const gt_backend_ops *ops = test_backend(&cfg, "sms");
  cr_assert_str_eq(ops->select_value, "twilio");
  gt_batch b;
  test_batch(&b, 3);
  gt_message m = {.text = text, .batch = &b};
  memset(res, 0, sizeof *res);
  rc = ops->send(st, &m, res);
  ops->close(st);
  gt__config_free(&cfg);
  no_secret("detail", res->detail);
  no_secret("gt_last_error", gt_last_error());
  return rc;
}

static json_t *records(size_t want) {
  cr_assert_eq(server_wait_records(&srv, want, 2000), want);
  return server_records(&srv);
}

static const char *field(json_t *rec, const char *name) {
  return json_string_value(json_object_get(json_object_get(rec, "form"), name));
}

static const char *header(json_t *rec, const char *name) {
  return json_string_value(
      json_object_get(json_object_get(rec, "headers"), name));
}

/* ---- the request ----------------------------------------------------------
 */

Test(twilio, the_request_is_what_twilio_documents) {
  gt_send_result res;
  /* '&', '=', '+' and UTF-8 would each break a form that was not encoded. */
  const char *text = "3 objects: a&b=c+d x1, Grüße x2";
  /* A number without its '+' goes as E.164, like sms.to. */
  const char *from[] = {"sms.from", "14155550100", NULL};
  cr_assert_eq(send_once(from, text, &res), 0, "%s", res.detail);
  cr_expect_str_eq(res.detail, "sms: accepted for 1 destination: queued");
  json_t *r = records(1), *rec = json_array_get(r, 0);
  cr_expect_str_eq(json_string_value(json_object_get(rec, "method")), "POST");
  cr_expect_str_eq(json_string_value(json_object_get(rec, "path")),
                   MESSAGES_PATH);
  cr_expect_eq(json_integer_value(json_object_get(rec, "status")), 201);
  cr_expect_str_eq(header(rec, "Content-Type"),
                   "application/x-www-form-urlencoded");
  cr_expect_str_eq(header(rec, "Accept"), "application/json");
  cr_expect_str_eq(header(rec, "User-Agent"),
                   "garbage-texts/" GT_VERSION_STRING);
  char want[160];
  snprintf(want, sizeof want, "Basic %s", basic(TW_SID, TW_OK));
  cr_expect_str_eq(header(rec, "Authorization"), want);
  json_t *form = json_pack("{s:s, s:s, s:s}", "To", "+41793026727", "From",
                           "+14155550100", "Body", text);
  cr_expect(json_equal(json_object_get(rec, "form"), form), "%s",
            json_dumps(json_object_get(rec, "form"), 0));
  json_decref(form);
  json_decref(r);
}

Test(twilio, one_request_per_destination) {
  gt_send_result res;
  const char *to[] = {"sms.to", "+41 79 302 67 27, +1 212 555 0100", NULL};
  cr_assert_eq(send_once(to, "hello", &res), 0, "%s", res.detail);
  cr_expect_str_eq(res.detail, "sms: accepted for 2 destinations: queued");
  json_t *r = records(2);
  cr_expect_str_eq(field(json_array_get(r, 0), "To"), "+41793026727");
  cr_expect_str_eq(field(json_array_get(r, 1), "To"), "+12125550100");
  cr_expect_str_eq(field(json_array_get(r, 1), "Body"), "hello");
  json_decref(r);
}

Test(twilio, a_messaging_service_sends_instead_of_from) {
  gt_send_result res;
  const char *mg[] = {"sms.messaging_service_sid", TW_SERVICE, NULL};
  cr_assert_eq(send_once(mg, "hello", &res), 0, "%s", res.detail);
  cr_expect_str_eq(res.detail, "sms: accepted for 1 destination: accepted");
  json_t *r = records(1), *rec = json_array_get(r, 0);
  cr_expect_str_eq(field(rec, "MessagingServiceSid"), TW_SERVICE);
  cr_expect_null(field(rec, "From"), "From is left to the service");
  cr_expect_str_eq(field(rec, "To"), "+41793026727");
  json_decref(r);
  /* With a service, sms.from may be left empty. */
  const char *no_from[] = {"sms.messaging_service_sid", TW_SERVICE, "sms.from",
                           "", NULL};
  cr_assert_eq(send_once(no_from, "hello", &res), 0, "%s", res.detail);
}

Test(twilio, an_api_key_sid_logs_in_instead_of_the_account) {
  gt_send_result res;
  const char *sk[] = {"sms.api_key_sid", TW_KEY_SID, NULL};
  cr_assert_eq(send_once(sk, "hello", &res), 0, "%s", res.detail);
  json_t *r = records(1), *rec = json_array_get(r, 0);
  cr_expect_str_eq(json_string_value(json_object_get(rec, "user")), TW_KEY_SID);
  char want[160];
  snprintf(want, sizeof want, "Basic %s", basic(TW_KEY_SID, TW_OK));
  cr_expect_str_eq(header(rec, "Authorization"), want);
  /* The account is still the one in the path. */
  cr_expect_str_eq(json_string_value(json_object_get(rec, "path")),
                   MESSAGES_PATH);
  json_decref(r);
}

Test(twilio, sender_ids_and_short_codes_are_sent_as_written) {
  gt_send_result res;
  const char *alpha[] = {"sms.from", "GT Alerts", NULL};
  cr_assert_eq(send_once(alpha, "x", &res), 0, "%s", res.detail);
  const char *code[] = {"sms.from", "24680", NULL};
  cr_assert_eq(send_once(code, "x", &res), 0, "%s", res.detail);
  json_t *r = records(2);
  cr_expect_str_eq(field(json_array_get(r, 0), "From"), "GT Alerts");
  cr_expect_str_eq(field(json_array_get(r, 1), "From"), "24680");
  json_decref(r);
}

/* ---- verdicts -------------------------------------------------------------
 */

Test(twilio, refused_credentials_are_permanent_and_flagged) {
  gt_send_result res;
  const char *bad[] = {"sms.api_key", TW_BAD, "sms.to",
                       "+41793026727, +12125550100", NULL};
  cr_assert_eq(send_once(bad, "x", &res), GT_ESEND);
  cr_expect(res.auth_failed, "%s", res.detail);
  cr_expect_not(res.retryable);
  cr_expect(strstr(res.detail, "HTTP 401: error 20003: Authenticate "
                               "(https://www.twilio.com/docs/errors/20003)"),
            "%s", res.detail);
  cr_expect(strstr(res.detail, "[WWW-Authenticate: Basic realm=\"Twilio "
                               "API\"]"),
            "%s", res.detail);
  cr_expect(strstr(res.detail, "1 not tried"), "%s", res.detail);
  /* Every other destination would be refused too: not even tried. */
  cr_expect_eq(server_wait_records(&srv, 2, 300), 1);
  const char *forbid[] = {"sms.api_key", "tw-SECRET-forbid-1", NULL};
  cr_assert_eq(send_once(forbid, "x", &res), GT_ESEND);
  cr_expect(res.auth_failed, "%s", res.detail);
  cr_expect_not(res.retryable);
  cr_expect(strstr(res.detail, "HTTP 403: error 20403"), "%s", res.detail);
}

Test(twilio, throttling_is_retryable_after_the_servers_delay) {
  gt_send_result res;
  const char *k429[] = {"sms.api_key", TW_429, NULL};
  cr_assert_eq(send_once(k429, "x", &res), GT_ESEND);
  cr_expect(res.retryable, "%s", res.detail);
  cr_expect_not(res.auth_failed);
  cr_expect_eq(res.retry_after_ms, 7000);
  cr_expect(strstr(res.detail, "HTTP 429: error 20429: Too Many Requests"),
            "%s", res.detail);
  const char *k500[] = {"sms.api_key", TW_500, NULL};
  cr_assert_eq(send_once(k500, "x", &res), GT_ESEND);
  cr_expect(res.retryable, "%s", res.detail);
  cr_expect_eq(res.retry_after_ms, -1);
}

Test(twilio, an_invalid_number_is_permanent_with_twilios_message) {
  gt_send_result res;
  const char *to[] = {"sms.to", "+1 500 555 0001", NULL};
  cr_assert_eq(send_once(to, "x", &res), GT_ESEND);
  cr_expect_not(res.retryable);
  cr_expect_not(res.auth_failed);
  cr_expect_str_eq(res.detail,
                   "sms: +15005550001: HTTP 400: error 21211: The 'To' number "
                   "+15005550001 is not a valid phone number. "
                   "(https://www.twilio.com/docs/errors/21211)");
  cr_expect(strstr(gt_last_error(), "21211"), "%s", gt_last_error());
}

/* Once one destination has the message, nothing may make it send again. */
Test(twilio, a_partial_failure_is_never_retried) {
  gt_send_result res;
  const char *bad_second[] = {"sms.to", "+41793026727, +15005550001", NULL};
  cr_assert_eq(send_once(bad_second, "x", &res), GT_ESEND);
  cr_expect_not(res.retryable, "%s", res.detail);
  cr_expect(strstr(res.detail, "sms: 1 of 2 destinations failed: "
                               "+15005550001: HTTP 400: error 21211"),
            "%s", res.detail);
  /* A retryable failure after a delivery: still not retryable. */
  const char *busy_second[] = {"sms.to", "+41793026727, +15005550500", NULL};
  cr_assert_eq(send_once(busy_second, "x", &res), GT_ESEND);
  cr_expect_not(res.retryable, "%s", res.detail);
  cr_expect_not(res.auth_failed);
  cr_expect(strstr(res.detail, "1 of 2 destinations failed: +15005550500: "
                               "HTTP 500"),
            "%s", res.detail);
  cr_expect_eq(server_wait_records(&srv, 4, 2000), 4);
}

Test(twilio, a_retryable_first_failure_stops_and_retries_the_whole_message) {
  gt_send_result res;
  const char *busy_first[] = {"sms.to", "+15005550429, +41793026727", NULL};
  cr_assert_eq(send_once(busy_first, "x", &res), GT_ESEND);
  cr_expect(res.retryable, "%s", res.detail);
  cr_expect_eq(res.retry_after_ms, 3000);
  cr_expect(strstr(res.detail, "1 of 2 destinations failed, 1 not tried: "
                               "+15005550429: HTTP 429"),
            "%s", res.detail);
  cr_expect_eq(server_wait_records(&srv, 2, 300), 1, "nobody has it yet");
  /* A permanent failure first: the others are still tried. */
  const char *bad_first[] = {"sms.to", "+15005550001, +41793026727", NULL};
  cr_assert_eq(send_once(bad_first, "x", &res), GT_ESEND);
  cr_expect_not(res.retryable, "%s", res.detail);
  cr_expect(strstr(res.detail, "1 of 2 destinations failed: +15005550001"),
            "%s", res.detail);
  cr_expect_eq(server_wait_records(&srv, 3, 2000), 3);
}

Test(twilio, a_server_echoing_the_credentials_gets_them_back_as_stars) {
  gt_send_result res;
  /* The mock repeats the Authorization header and the decoded password in
   * its error text and in WWW-Authenticate; send_once checks the key and
   * both Basic forms against the detail and gt_last_error(). */
  const char *echo[] = {"sms.api_key", TW_ECHO, NULL};
  cr_assert_eq(send_once(echo, "x", &res), GT_ESEND);
  cr_expect(strstr(res.detail, "Authorization: Basic *** (password ***)"), "%s",
            res.detail);
  cr_expect(strstr(res.detail, "[WWW-Authenticate: Basic realm=\"Twilio "
                               "API\", rejected=\"Basic ***\"]"),
            "%s", res.detail);
  cr_expect(res.auth_failed);
  const char *sk[] = {"sms.api_key", TW_ECHO, "sms.api_key_sid", TW_KEY_SID,
                      NULL};
  cr_assert_eq(send_once(sk, "x", &res), GT_ESEND);
  cr_expect(strstr(res.detail, "Authorization: Basic *** (password ***)"), "%s",
            res.detail);
}

Test(twilio, a_201_cut_mid_body_is_delivered) {
  gt_send_result res;
  const char *cut[] = {"sms.api_key", "tw-SECRET-cut-1", NULL};
  cr_assert_eq(send_once(cut, "x", &res), 0, "%s", res.detail);
  cr_expect(strstr(res.detail, "sms: accepted for 1 destination (the reply "
                               "was cut short"),
            "%s", res.detail);
}

Test(twilio, an_untrusted_certificate_fails_permanently) {
  gt_send_result res;
  const char *ca[] = {"sms.ca_file", test_pki_file("other-ca.pem"), NULL};
  cr_assert_eq(send_once(ca, "x", &res), GT_ESEND);
  cr_expect_not(res.retryable);
  cr_expect(strstr(res.detail, "certificate"), "%s", res.detail);
  cr_expect_eq(server_wait_records(&srv, 1, 300), 0, "nothing reached it");
}

/* ---- text -----------------------------------------------------------------
 */

Test(twilio, the_text_is_fitted_to_segments) {
  gt_send_result res;
  char text[600] = "400 objects collected: ";
  for (int i = 0; i < 40; i++) {
    char item[32];
    snprintf(item, sizeof item, "%sName%02d x10", i ? ", " : "", i);
    strcat(text, item);
  }
  const char *two[] = {"sms.max_segments", "2", NULL};
  cr_assert_eq(send_once(two, text, &res), 0, "%s", res.detail);
  cr_assert_eq(send_once(NULL, text, &res), 0, "%s", res.detail);
  json_t *r = records(2);
  for (size_t i = 0; i < 2; i++) {
    const char *got = field(json_array_get(r, i), "Body");
    cr_assert_not_null(got);
    gt_sms_count c = gt__sms_count(got, strlen(got));
    cr_expect_eq(c.segments, 2 - i, "%zu units: %s", c.units, got);
    cr_expect(strstr(got, " more"), "%s", got);
    cr_expect_eq(strncmp(got, text, 40), 0, "%s", got);
  }
  json_decref(r);
}

Test(twilio, text_that_is_not_utf8_is_escaped_not_refused) {
  gt_send_result res;
  cr_assert_eq(send_once(NULL, "2 objects: Caf\xe9 x1, bad\xff x1", &res), 0,
               "%s", res.detail);
  json_t *r = records(1);
  cr_expect_str_eq(field(json_array_get(r, 0), "Body"),
                   "2 objects: Caf\\xe9 x1, bad\\xff x1");
  json_decref(r);
}

/* ---- configuration --------------------------------------------------------
 */

Test(twilio, bad_configuration_names_the_key) {
  struct {
    const char *k, *v, *want;
  } cases[] = {
      {"sms.account_sid", "", "sms.account_sid"},
      {"sms.account_sid", "AC0123", "sms.account_sid"},
      {"sms.account_sid", TW_KEY_SID, "sms.account_sid"},
      {"sms.account_sid", "AC0123456789abcdef0123456789abcdeg",
       "sms.account_sid"},
      {"sms.api_key", "", "sms.api_key"},
      {"sms.api_key", "tw-SECRET with space", "sms.api_key"},
      {"sms.api_key_sid", TW_SID, "sms.api_key_sid"},
      {"sms.messaging_service_sid", "MG42", "sms.messaging_service_sid"},
      {"sms.from", "", "sms.from"},
      {"sms.from", "+41 79", "sms.from"},
      {"sms.from", "Garbage Texts", "sms.from"}, /* 13 characters */
      {"sms.from", "12", "sms.from"},
      {"sms.from", "GT.Alerts", "sms.from"}, /* Twilio takes no '.' */
      {"sms.from", "Grüße", "sms.from"},
      {"sms.to", "", "sms.to"},
      {"sms.to", "+41 79 302 67 27, 12345", "sms.to"},
      {"sms.to", "+41 79 302 67 27 x", "sms.to"},
      {"sms.base_url", "http://api.example.org", "sms.base_url"},
      {"sms.max_segments", "11", "sms.max_segments"},
      {"sms.ca_file", "/nonexistent/ca.pem", "sms.ca_file"},
      {"sms.provider", "pigeon", "sms.provider"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    const char *kv[] = {"sms.provider", "twilio",          "sms.base_url",
                        base,           "sms.api_key",     TW_OK,
                        "sms.from",     TW_FROM,           "sms.to",
                        "+41793026727", "sms.account_sid", TW_SID,
                        cases[i].k,     cases[i].v,        NULL};
    gt_config cfg;
    void *st = NULL;
    int rc = test_open("sms", kv, &st, &cfg);
    cr_expect_eq(rc, GT_EINVAL, "%s=%s accepted", cases[i].k, cases[i].v);
    cr_expect(strncmp(gt_last_error(), cases[i].want, strlen(cases[i].want)) ==
                  0,
              "%s=%s: %s", cases[i].k, cases[i].v, gt_last_error());
    no_secret("gt_last_error", gt_last_error());
    cr_expect_null(st);
    gt__config_free(&cfg);
  }
}

/* Without sms.base_url the backend goes to api.twilio.com. Seen through a
 * loopback proxy that records where it was asked to connect and refuses:
 * nothing leaves the machine. */
Test(twilio, the_base_url_defaults_to_api_twilio_com) {
  test_server proxy;
  const char *args[] = {"--proxy", NULL};
  server_start(&proxy, "twilio_mock.py", false, args);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", proxy.port);
  setenv("https_proxy", url, 1);
  unsetenv("no_proxy");
  unsetenv("NO_PROXY");
  gt_send_result res;
  const char *none[] = {"sms.base_url", "", NULL};
  cr_expect_eq(send_once(none, "x", &res), GT_ESEND);
  unsetenv("https_proxy");
  cr_assert_eq(server_wait_records(&proxy, 1, 2000), 1, "%s", res.detail);
  json_t *r = server_records(&proxy);
  json_t *rec = json_array_get(r, 0);
  cr_expect_str_eq(json_string_value(json_object_get(rec, "method")),
                   "CONNECT");
  cr_expect_str_eq(json_string_value(json_object_get(rec, "path")),
                   "api.twilio.com:443");
  json_decref(r);
  server_stop(&proxy);
}

/* ---- through the pipeline -------------------------------------------------
 */

#define EXPECTED_TEXT "5 objects collected (sampled 5): Node x3, Thing x2"

static char errfile[64], spool_dir[64];
static int saved_stderr = -1;

/* gt__warn writes to stderr: it goes to a file checked after every test. */
static void pipeline_up(void) {
  snprintf(errfile, sizeof errfile, "/tmp/gt-twilio-stderr-XXXXXX");
  int fd = mkstemp(errfile);
  cr_assert_geq(fd, 0);
  fflush(stderr);
  saved_stderr = dup(2);
  dup2(fd, 2);
  close(fd);
  test_tmpdir(spool_dir, sizeof spool_dir, "twilio-spool");
  up();
}

static void pipeline_down(void) {
  gt_shutdown(5000);
  fflush(stderr);
  dup2(saved_stderr, 2);
  close(saved_stderr);
  char *err = slurp(errfile);
  no_secret("stderr", err);
  free(err);
  unlink(errfile);
  DIR *d = opendir(spool_dir);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    char p[400];
    snprintf(p, sizeof p, "%s/%s", spool_dir, e->d_name);
    char *t = e->d_name[0] != '.' ? slurp(p) : NULL;
    no_secret(p, t);
    free(t);
  }
  if (d) closedir(d);
  test_rm_rf(spool_dir);
  down();
}

TestSuite(twilio_pipeline, .init = pipeline_up, .fini = pipeline_down,
          .timeout = 40);

/* gt_init with the sms backend through Twilio and kv on top; allocates
 * and drops five named objects and collects them. */
static size_t workload(const char *const *kv) {
  const char *common[] = {"gt.backend",
                          "sms",
                          "sms.provider",
                          "twilio",
                          "sms.base_url",
                          base,
                          "sms.account_sid",
                          TW_SID,
                          "sms.api_key",
                          TW_OK,
                          "sms.from",
                          TW_FROM,
                          "sms.to",
                          "+41 79 302 67 27",
                          "sms.ca_file",
                          test_pki_file("ca.pem"),
                          "gt.rate_per_minute",
                          "0",
                          "gt.retry_max",
                          "3",
                          "gt.batch_window_ms",
                          "600000",
                          "gt.timeout_ms",
                          "5000",
                          "gt.spool_dir",
                          spool_dir,
                          NULL};
  gt_options *o = gt_options_new();
  for (const char *const *p = common; *p; p += 2)
    cr_assert_eq(gt_options_set(o, p[0], p[1]), 0, "%s", gt_last_error());
  for (; kv && *kv; kv += 2)
    cr_assert_eq(gt_options_set(o, kv[0], kv[1]), 0, "%s: %s", kv[0],
                 gt_last_error());
  int rc = gt_init(o);
  gt_options_free(o);
  cr_assert_eq(rc, 0, "gt_init: %s", gt_last_error());
  test_make(3, "Node");
  test_make(2, "Thing");
  test_scrub_stack();
  return gt_collect();
}

Test(twilio_pipeline, collected_objects_arrive_as_one_sms) {
  cr_assert_eq(workload(NULL), 5);
  json_t *r = records(1), *rec = json_array_get(r, 0);
  cr_expect_str_eq(field(rec, "Body"), EXPECTED_TEXT);
  cr_expect_str_eq(field(rec, "To"), "+41793026727");
  cr_expect_str_eq(field(rec, "From"), TW_FROM);
  json_decref(r);
  gt_stats st;
  gt_get_stats(&st);
  cr_expect_eq(st.collected, 5);
  cr_expect_eq(st.sent, 1);
  cr_expect_eq(st.failed, 0);
}

Test(twilio_pipeline, refused_credentials_are_neither_retried_nor_shown) {
  const char *kv[] = {"sms.api_key", TW_ECHO, NULL};
  cr_assert_eq(workload(kv), 5);
  cr_expect_eq(server_wait_records(&srv, 2, 1500), 1, "no retry");
  gt_stats st;
  gt_get_stats(&st);
  cr_expect_eq(st.retried, 0);
  cr_expect_eq(st.failed, 1);
  cr_expect_eq(st.spooled, 1, "kept for a process with the right key");
  fflush(stderr);
  char *err = slurp(errfile);
  cr_expect(err && strstr(err, "Authorization: Basic ***"), "%s", err);
  free(err);
}

Test(twilio_pipeline, a_partial_failure_does_not_send_twice) {
  const char *kv[] = {"sms.to", "+41 79 302 67 27, +1 500 555 0500", NULL};
  cr_assert_eq(workload(kv), 5);
  /* Were it retried (gt.retry_max = 3), +41… would get it up to 4 times. */
  cr_expect_eq(server_wait_records(&srv, 3, 2500), 2);
  gt_stats st;
  gt_get_stats(&st);
  cr_expect_eq(st.retried, 0);
  cr_expect_eq(st.sent, 0);
  cr_expect_eq(st.failed, 1);
  json_t *r = server_records(&srv);
  cr_expect_str_eq(field(json_array_get(r, 0), "To"), "+41793026727");
  cr_expect_str_eq(field(json_array_get(r, 1), "To"), "+15005550500");
  json_decref(r);
}

Test(twilio_pipeline, bad_configuration_fails_gt_init_naming_the_key) {
  const char *cases[][2] = {
      {"sms.account_sid", "SK42"}, {"sms.from", ""}, {"sms.to", "+41 79"}};
  for (int i = 0; i < 3; i++) {
    gt_options *o = gt_options_new();
    gt_options_set(o, "gt.backend", "sms");
    gt_options_set(o, "sms.provider", "twilio");
    gt_options_set(o, "sms.account_sid", TW_SID);
    gt_options_set(o, "sms.api_key", TW_OK);
    gt_options_set(o, "sms.to", "+41793026727");
    gt_options_set(o, "gt.spool_dir", spool_dir);
    gt_options_set(o, cases[i][0], cases[i][1]);
    int rc = gt_init(o);
    gt_options_free(o);
    cr_expect_eq(rc, GT_EINVAL, "%s", cases[i][0]);
    cr_expect(strstr(gt_last_error(), cases[i][0]), "%s", gt_last_error());
    no_secret("gt_init error", gt_last_error());
    if (rc == 0) gt_shutdown(1000);
  }
}
