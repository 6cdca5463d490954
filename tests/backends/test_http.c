/* The helpers every backend relies on for hostile text: scrubbing secrets
 * out of server replies (src/backend/http.c), masking passwords in URLs,
 * and making text valid UTF-8 or one safe log line (src/backend/text.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "backends/http.h"
#include "support.h"
#include "text.h"

TestSuite(http, .timeout = 30);

static void masks_to(const char *in, const char *want) {
  char *got = gt__http_mask_url(in);
  cr_assert_not_null(got);
  cr_expect_str_eq(got, want, "mask(%s)", in);
  free(got);
}

Test(http, urls_are_shown_without_their_password) {
  masks_to("https://u:hunter2@127.0.0.1:1/h", "https://u:***@127.0.0.1:1/h");
  /* A user part without a password is a token: hidden whole. */
  masks_to("https://tok-SECRET-1@hooks.example.org/x",
           "https://***@hooks.example.org/x");
  /* No scheme: libcurl still finds the userinfo; the shape is kept. */
  masks_to("u:pw@api.example.org", "u:***@api.example.org");
  /* A comma list (alertmanager.url): every member. */
  masks_to("http://a:b@h1:9093,http://tok@h2,http://h3",
           "http://a:***@h1:9093,http://***@h2,http://h3");
  /* A comma inside the password is part of it. */
  masks_to("https://u:a,b@h/x", "https://u:***@h/x");
  masks_to("smtps://u:p%40ss@mail.example.org:465",
           "smtps://u:***@mail.example.org:465");
  /* Nothing to hide: unchanged, an @ after the host included. */
  masks_to("https://example.org/a?mail=x@y.org",
           "https://example.org/a?mail=x@y.org");
  masks_to("https://example.org", "https://example.org");
  masks_to("not a url", "not a url");
}

/* A handle with credentials registered the way the backends do it. */
static void open_handle(gt_http *h, gt_config *cfg) {
  test_config(cfg, NULL);
  cr_assert_eq(gt__http_open(h, cfg, "sms", "https,http"), 0, "%s",
               gt_last_error());
  cr_assert_eq(gt__http_add_secret(h, "sms.api_key", SMS_KEY_OK), 0);
  cr_assert_eq(
      gt__http_add_login(h, "email.password", SMTP_USER, SMTP_PASSWORD), 0);
  cr_assert_eq(gt__http_add_url_secrets(h, "webhook.url",
                                        "https://" URL_USER ":" URL_PASSWORD
                                        "@127.0.0.1/hook"),
               0);
}

Test(http, scrub_removes_every_secret_and_its_encodings) {
  gt_http h;
  gt_config cfg;
  open_handle(&h, &cfg);
  char text[512];
  snprintf(text, sizeof text,
           "Authorization: App %s; basic %s; plain %s; login %s; url "
           "%s; pw %s; see https://" URL_USER ":" URL_PASSWORD
           "@127.0.0.1/hook and https://x:other@h/",
           SMS_KEY_OK, SMTP_BASIC_B64, SMTP_PLAIN_B64, SMTP_LOGIN_B64,
           URL_BASIC_B64, SMTP_PASSWORD);
  gt__http_scrub(&h, text, sizeof text);
  assert_no_secret("scrubbed text", text);
  cr_expect_str_eq(text, "Authorization: App ***; basic ***; plain ***; "
                         "login ***; url ***; pw ***; see https://" URL_USER
                         ":***@127.0.0.1/hook and https://x:***@h/");
  gt__http_close(&h);
  gt__config_free(&cfg);
}

Test(http, a_token_as_url_user_is_scrubbed_in_its_basic_form) {
  gt_http h;
  gt_config cfg;
  test_config(&cfg, NULL);
  cr_assert_eq(gt__http_open(&h, &cfg, "webhook", "https,http"), 0);
  cr_assert_eq(gt__http_add_url_secrets(&h, "webhook.url",
                                        "https://tok-SECRET-77@h/hook"),
               0);
  /* libcurl sends it as Basic base64("tok-SECRET-77:"). */
  char text[128] = "got Basic dG9rLVNFQ1JFVC03Nzo= for tok-SECRET-77";
  gt__http_scrub(&h, text, sizeof text);
  cr_expect_str_eq(text, "got Basic *** for ***");
  gt__http_close(&h);
  gt__config_free(&cfg);
}

Test(http, a_finished_detail_is_scrubbed_and_recorded) {
  gt_http h;
  gt_config cfg;
  open_handle(&h, &cfg);
  gt_send_result res = {0};
  snprintf(res.detail, sizeof res.detail, "sms: HTTP 401: got App %s",
           SMS_KEY_OK);
  cr_assert_eq(gt__http_finish(&h, &res, GT_ESEND), GT_ESEND);
  cr_expect_str_eq(res.detail, "sms: HTTP 401: got App ***");
  cr_expect_str_eq(gt_last_error(), "sms: HTTP 401: got App ***");
  gt__http_close(&h);
  gt__config_free(&cfg);
}

Test(http, text_is_made_valid_utf8_with_escapes) {
  struct {
    const char *in, *want;
  } cases[] = {
      {"Caf\xe9 x3", "Caf\\xe9 x3"},
      {"Gr\xc3\xbc\xc3\x9f"
       "e \xe2\x88\x91 \xf0\x9f\x98\x80",
       "Gr\xc3\xbc\xc3\x9f"
       "e \xe2\x88\x91 \xf0\x9f\x98\x80"}, /* valid */
      {"over\xc0\xaflong", "over\\xc0\\xaflong"},
      {"sur\xed\xa0\x80rogate", "sur\\xed\\xa0\\x80rogate"},
      {"big\xf4\x90\x80\x80", "big\\xf4\\x90\\x80\\x80"},
      {"cut\xe2\x82", "cut\\xe2\\x82"},
      {"lone\x80\xbf", "lone\\x80\\xbf"},
      {"", ""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *got = gt__text_utf8(cases[i].in);
    cr_assert_not_null(got);
    cr_expect_str_eq(got, cases[i].want, "case %zu", i);
    cr_expect(gt__text_is_utf8(got), "case %zu", i);
    free(got);
  }
  cr_expect_not(gt__text_is_utf8("Caf\xe9"));
}

Test(http, a_log_line_cannot_be_broken_or_drive_a_terminal) {
  const char *in = "a\nT gt: forged\r\tb\x1b[31mred\x7f"
                   "\xc2\x9b"
                   "c\xe2\x80\xa8"
                   "d\xe2\x80\xae"
                   "e\xff"
                   "\xc3\xa9";
  char out[256];
  size_t n = gt__text_line_put(out, in);
  cr_assert_leq(n, GT_TEXT_LINE_MAX(strlen(in)));
  out[n] = '\0';
  cr_expect_str_eq(out, "a\\x0aT gt: forged\\x0d\\x09b\\x1b[31mred\\x7f"
                        "\\xc2\\x9bc\\xe2\\x80\\xa8d\\xe2\\x80\\xaee\\xff"
                        "\xc3\xa9");
}
