/* The email backend: SMTP against a real aiosmtpd server (STARTTLS and
 * smtps, AUTH required), and the Infobip Email API against the mock. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "support.h"

static test_server srv;
static char url[80];

static void smtp_up(const char *mode) {
  const char *extra[] = {"--mode",     mode,          "--user", SMTP_USER,
                         "--password", SMTP_PASSWORD, NULL};
  server_start(&srv, "smtp_server.py", true, extra);
  snprintf(url, sizeof url, "%s://127.0.0.1:%d",
           strcmp(mode, "smtps") == 0 ? "smtps" : "smtp", srv.port);
}
static void starttls_up(void) {
  smtp_up("starttls");
}
static void smtps_up(void) {
  smtp_up("smtps");
}
static void plain_up(void) {
  const char *extra[] = {"--mode",     "plain",       "--user", SMTP_USER,
                         "--password", SMTP_PASSWORD, NULL};
  server_start(&srv, "smtp_server.py", false, extra);
  snprintf(url, sizeof url, "smtp://127.0.0.1:%d", srv.port);
}
static void ib_up(void) {
  server_start(&srv, "infobip_mock.py", true, NULL);
  snprintf(url, sizeof url, "https://127.0.0.1:%d", srv.port);
}
static void down(void) {
  server_stop(&srv);
}

TestSuite(smtp, .init = starttls_up, .fini = down, .timeout = 30);
TestSuite(smtps, .init = smtps_up, .fini = down, .timeout = 30);
TestSuite(smtp_plain, .init = plain_up, .fini = down, .timeout = 30);
TestSuite(email_infobip, .init = ib_up, .fini = down, .timeout = 30);

static int send_kv(const char *const *kv, const char *text,
                   gt_send_result *res) {
  gt_config cfg;
  void *st = NULL;
  int rc = test_open("email", kv, &st, &cfg);
  cr_assert_eq(rc, 0, "open: %s", gt_last_error());
  gt_batch b;
  test_batch(&b, 2);
  gt_message m = {.text = text, .batch = &b};
  memset(res, 0, sizeof *res);
  rc = test_backend(&cfg, "email")->send(st, &m, res);
  test_backend(&cfg, "email")->close(st);
  gt__config_free(&cfg);
  assert_no_secret("detail", res->detail);
  assert_no_secret("gt_last_error", gt_last_error());
  return rc;
}

static int smtp_send(const char *k, const char *v, const char *text,
                     gt_send_result *res) {
  const char *kv[] = {"email.url",
                      url,
                      "email.username",
                      SMTP_USER,
                      "email.password",
                      SMTP_PASSWORD,
                      "email.from",
                      "GT Tests <gt@example.org>",
                      "email.to",
                      "ops@example.org, dev@example.net",
                      "email.ca_file",
                      test_pki_file("ca.pem"),
                      "gt.timeout_ms",
                      "5000",
                      k,
                      v,
                      NULL};
  return send_kv(kv, text, res);
}

static char *delivered(int n) {
  char path[400];
  snprintf(path, sizeof path, "%s/%d.eml", srv.maildir, n);
  return slurp(path);
}

Test(smtp, starttls_auth_and_a_proper_message) {
  gt_send_result res;
  cr_assert_eq(smtp_send(NULL, NULL, "2 objects collected: Thing x2", &res), 0,
               "%s", res.detail);
  cr_assert(strstr(res.detail, "accepted by the SMTP server for 2"), "%s",
            res.detail);
  char *m = delivered(1);
  cr_assert_not_null(m);
  cr_expect(strstr(m, "\nDate: ") || strncmp(m, "Date: ", 6) == 0, "%s", m);
  cr_expect(strstr(m, "Message-ID: <"), "%s", m);
  cr_expect(strstr(m, "@example.org>"), "%s", m);
  cr_expect(strstr(m, "From: GT Tests <gt@example.org>"), "%s", m);
  cr_expect(strstr(m, "To: ops@example.org, dev@example.net"), "%s", m);
  cr_expect(strstr(m, "Subject: garbage-texts"), "%s", m);
  cr_expect(strstr(m, "text/plain; charset=UTF-8"), "%s", m);
  cr_expect(strstr(m, "2 objects collected: Thing x2"), "%s", m);
  free(m);
  char path[400];
  snprintf(path, sizeof path, "%s/1.json", srv.maildir);
  char *meta = slurp(path);
  json_t *j = json_loads(meta, 0, NULL);
  cr_expect_str_eq(json_string_value(json_object_get(j, "login")), SMTP_USER);
  cr_expect(json_is_true(json_object_get(j, "tls")));
  cr_expect_str_eq(json_string_value(json_object_get(j, "mail_from")),
                   "gt@example.org");
  cr_expect_eq(json_array_size(json_object_get(j, "rcpt_tos")), 2);
  json_decref(j);
  free(meta);
}

Test(smtp, utf8_subject_and_body) {
  gt_send_result res;
  cr_assert_eq(smtp_send("email.subject", "Müll: Objekte", "Grüße, ∑ 3", &res),
               0, "%s", res.detail);
  char *m = delivered(1);
  cr_assert_not_null(m);
  cr_expect(strstr(m, "Subject: =?UTF-8?B?"), "%s", m);
  cr_expect(strstr(m, "quoted-printable"), "%s", m);
  cr_expect(strstr(m, "Gr=C3=BC=C3=9Fe"), "%s", m);
  free(m);
}

Test(smtp, wrong_password_fails_without_leaking_it) {
  gt_send_result res;
  cr_assert_eq(smtp_send("email.password", "pw-SECRET-wrong", "x", &res),
               GT_ESEND);
  cr_expect_not(res.retryable, "%s", res.detail);
  cr_expect(res.auth_failed, "%s", res.detail);
  cr_expect(strstr(res.detail, "Login denied"), "%s", res.detail);
  cr_expect_null(delivered(1));
}

static json_t *delivered_meta(int n) {
  char path[400];
  snprintf(path, sizeof path, "%s/%d.json", srv.maildir, n);
  char *meta = slurp(path);
  cr_assert_not_null(meta, "no message %d", n);
  json_t *j = json_loads(meta, 0, NULL);
  free(meta);
  cr_assert_not_null(j);
  return j;
}

/* The header block of message n: ASCII only; a line with encoded-words has
 * at most the 76 characters RFC 2047 allows (CRLF not counted). */
static char *delivered_checked(int n) {
  char *m = delivered(n);
  cr_assert_not_null(m);
  char *end = strstr(m, "\r\n\r\n");
  cr_assert_not_null(end);
  for (const char *line = m; line < end;) {
    const char *eol = strstr(line, "\r\n");
    for (const char *p = line; p < eol; p++)
      cr_expect_lt((unsigned char)*p, 0x80, "8-bit byte in:\n%s", m);
    if (memmem(line, (size_t)(eol - line), "=?", 2))
      cr_expect_leq(eol - line, 76, "%.*s", (int)(eol - line), line);
    line = eol + 2;
  }
  return m;
}

Test(smtp, non_ascii_display_name_and_subject_are_encoded_words) {
  gt_send_result res;
  /* 94 x "Müll " = 564 bytes: a subject of many encoded-words. */
  char subject[600] = "";
  for (int i = 0; i < 94; i++)
    strcat(subject, "M\xc3\xbcll ");
  subject[strlen(subject) - 1] = '\0';
  const char *kv[] = {"email.url",
                      url,
                      "email.username",
                      SMTP_USER,
                      "email.password",
                      SMTP_PASSWORD,
                      "email.from",
                      "Gr\xc3\xbc\xc3\x9f"
                      "e Team <gt@example.org>",
                      "email.to",
                      "ops@example.org",
                      "email.subject",
                      subject,
                      "email.ca_file",
                      test_pki_file("ca.pem"),
                      NULL};
  cr_assert_eq(send_kv(kv, "x", &res), 0, "%s", res.detail);
  char *m = delivered_checked(1);
  cr_expect(strstr(m, "From: =?UTF-8?B?R3LDvMOfZSBUZWFt?= <gt@example.org>"),
            "%s", m);
  free(m);
  json_t *j = delivered_meta(1);
  cr_expect_str_eq(json_string_value(json_object_get(j, "from")),
                   "Gr\xc3\xbc\xc3\x9f"
                   "e Team <gt@example.org>");
  cr_expect_str_eq(json_string_value(json_object_get(j, "subject")), subject);
  json_decref(j);
  /* A name of several encoded-words: the address moves to its own line. */
  char from[300] = "";
  for (int i = 0; i < 8; i++)
    strcat(from, "Gr\xc3\xbc\xc3\x9f"
                 "e ");
  strcat(from, "Team <gt-long-sender-address@example.org>");
  kv[7] = from;
  cr_assert_eq(send_kv(kv, "x", &res), 0, "%s", res.detail);
  free(delivered_checked(2));
  j = delivered_meta(2);
  cr_expect_str_eq(json_string_value(json_object_get(j, "from")), from);
  cr_expect_str_eq(json_string_value(json_object_get(j, "mail_from")),
                   "gt-long-sender-address@example.org");
  json_decref(j);
}

Test(smtp, ascii_display_name_with_specials_is_quoted) {
  gt_send_result res;
  cr_assert_eq(
      smtp_send("email.from", "J. Doe, Ops <gt@example.org>", "x", &res), 0,
      "%s", res.detail);
  json_t *j = delivered_meta(1);
  cr_expect_str_eq(json_string_value(json_object_get(j, "from")),
                   "\"J. Doe, Ops\" <gt@example.org>");
  json_decref(j);
}

Test(smtp, text_that_is_not_utf8_is_escaped_not_refused) {
  gt_send_result res;
  cr_assert_eq(smtp_send(NULL, NULL, "1 object: Caf\xe9 x1", &res), 0, "%s",
               res.detail);
  char *m = delivered(1);
  cr_assert_not_null(m);
  cr_expect(strstr(m, "1 object: Caf\\xe9 x1"), "%s", m);
  free(m);
}

Test(smtp, refused_and_deferred_recipients) {
  gt_send_result res;
  cr_assert_eq(smtp_send("email.to", "reject@example.org", "x", &res),
               GT_ESEND);
  cr_expect_not(res.retryable, "%s", res.detail);
  cr_expect(strstr(res.detail, "550"), "%s", res.detail);
  cr_assert_eq(smtp_send("email.to", "tempfail@example.org", "x", &res),
               GT_ESEND);
  cr_expect(res.retryable, "%s", res.detail);
  cr_expect(strstr(res.detail, "451"), "%s", res.detail);
}

Test(smtp, untrusted_certificate_fails) {
  gt_send_result res;
  cr_assert_eq(
      smtp_send("email.ca_file", test_pki_file("other-ca.pem"), "x", &res),
      GT_ESEND);
  cr_expect_not(res.retryable, "%s", res.detail);
  cr_expect(strstr(res.detail, "certificate"), "%s", res.detail);
  cr_expect_null(delivered(1));
}

Test(smtp, header_injection_and_bad_values_fail_at_open) {
  struct {
    const char *k, *v;
  } cases[] = {
      {"email.subject", "hi\r\nBcc: victim@example.org"},
      {"email.subject", "hi\nX: y"},
      {"email.from", "gt@example.org\r\nBcc: victim@example.org"},
      {"email.to", "ops@example.org\n"},
      {"email.to", "not-an-address"},
      {"email.to", "ops@example.org,"},
      {"email.from", "a b@example.org"},
      {"email.from", "Caf\xe9 <gt@example.org>"},
      {"email.subject", "Caf\xe9"},
      {"email.url", "http://127.0.0.1:25"},
      {"email.password", ""},
      {"email.transport", "carrier-pigeon"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    const char *kv[] = {"email.url",
                        url,
                        "email.username",
                        SMTP_USER,
                        "email.password",
                        SMTP_PASSWORD,
                        "email.from",
                        "gt@example.org",
                        "email.to",
                        "ops@example.org",
                        cases[i].k,
                        cases[i].v,
                        NULL};
    gt_config cfg;
    void *st = NULL;
    cr_expect_eq(test_open("email", kv, &st, &cfg), GT_EINVAL, "case %zu", i);
    const char *want = strcmp(cases[i].k, "email.password") == 0
                           ? "email.password"
                           : cases[i].k;
    cr_expect(strncmp(gt_last_error(), want, strlen(want)) == 0, "case %zu: %s",
              i, gt_last_error());
    cr_expect_null(st);
    gt__config_free(&cfg);
  }
}

Test(smtps, implicit_tls) {
  gt_send_result res;
  cr_assert_eq(smtp_send(NULL, NULL, "over smtps", &res), 0, "%s", res.detail);
  char *m = delivered(1);
  cr_assert_not_null(m);
  cr_expect(strstr(m, "over smtps"), "%s", m);
  free(m);
}

Test(smtp_plain, server_without_starttls_gets_nothing) {
  gt_send_result res;
  cr_assert_eq(smtp_send(NULL, NULL, "must not travel in clear", &res),
               GT_ESEND);
  cr_expect_not(res.retryable, "%s", res.detail);
  cr_expect(strstr(res.detail, "SSL") || strstr(res.detail, "TLS"), "%s",
            res.detail);
  cr_expect_null(delivered(1));
}

static int ib_send_as(const char *key, const char *to, const char *from,
                      const char *text, gt_send_result *res) {
  const char *kv[] = {"email.transport",
                      "infobip",
                      "email.base_url",
                      url,
                      "email.api_key",
                      key,
                      "email.from",
                      from,
                      "email.to",
                      to,
                      "email.subject",
                      "gt test",
                      "email.ca_file",
                      test_pki_file("ca.pem"),
                      NULL};
  return send_kv(kv, text, res);
}

static int ib_send(const char *key, const char *to, gt_send_result *res) {
  return ib_send_as(key, to, "GT <gt@example.org>", "5 objects collected", res);
}

Test(email_infobip, multipart_form_as_documented) {
  gt_send_result res;
  cr_assert_eq(ib_send(SMS_KEY_OK, "ops@example.org,dev@example.net", &res), 0,
               "%s", res.detail);
  cr_assert_eq(server_wait_records(&srv, 1, 2000), 1);
  json_t *r = server_records(&srv);
  json_t *rec = json_array_get(r, 0);
  cr_expect_str_eq(json_string_value(json_object_get(rec, "path")),
                   "/email/3/send");
  json_t *want = json_loads(
      "{\"from\":[\"GT <gt@example.org>\"],\"to\":[\"ops@example.org\","
      "\"dev@example.net\"],\"subject\":[\"gt test\"],\"text\":[\"5 objects "
      "collected\"]}",
      0, NULL);
  cr_expect(json_equal(json_object_get(rec, "form"), want));
  cr_expect_str_eq(json_string_value(json_object_get(
                       json_object_get(rec, "headers"), "Authorization")),
                   "App " SMS_KEY_OK);
  json_decref(want);
  json_decref(r);
}

Test(email_infobip, errors_in_legacy_format) {
  gt_send_result res;
  cr_assert_eq(ib_send(SMS_KEY_BAD, "ops@example.org", &res), GT_ESEND);
  cr_expect(strstr(res.detail, "HTTP 401: UNAUTHORIZED: Invalid login details"),
            "%s", res.detail);
  cr_assert_eq(ib_send(SMS_KEY_OK, "bad@example.org", &res), GT_ESEND);
  cr_expect(strstr(res.detail, "REJECTED"), "%s", res.detail);
}

Test(email_infobip, utf8_display_name_and_odd_text_as_the_api_wants) {
  gt_send_result res;
  /* The API builds the message itself: the form carries plain UTF-8, an
   * encoded-word would reach the reader as such. */
  cr_assert_eq(ib_send_as(SMS_KEY_OK, "ops@example.org",
                          "Gr\xc3\xbc\xc3\x9f"
                          "e Team <gt@example.org>",
                          "1 object: Caf\xe9 x1", &res),
               0, "%s", res.detail);
  cr_assert_eq(server_wait_records(&srv, 1, 2000), 1);
  json_t *r = server_records(&srv);
  json_t *form = json_object_get(json_array_get(r, 0), "form");
  cr_expect_str_eq(
      json_string_value(json_array_get(json_object_get(form, "from"), 0)),
      "Gr\xc3\xbc\xc3\x9f"
      "e Team <gt@example.org>");
  cr_expect_str_eq(
      json_string_value(json_array_get(json_object_get(form, "text"), 0)),
      "1 object: Caf\\xe9 x1");
  json_decref(r);
}

Test(email_infobip, a_server_echoing_the_key_gets_it_back_as_stars) {
  gt_send_result res;
  cr_assert_eq(ib_send("ib-SECRET-echo-3", "ops@example.org", &res), GT_ESEND);
  cr_expect(strstr(res.detail, "Authorization: App ***"), "%s", res.detail);
  cr_expect(res.auth_failed, "%s", res.detail);
  cr_expect_not(res.retryable, "%s", res.detail);
}
