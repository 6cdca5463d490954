/* sms.from: the sender shown on the phone. Networks take an alphanumeric
 * sender of up to 11 plain characters or a number of up to 15 digits;
 * anything else is refused at gt_init, naming the key, instead of by the
 * provider at the first message. No server: nothing is sent. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/sms_text.h"
#include "support.h"

Test(sms_from, senders_networks_take_are_accepted) {
  const char *ok[] = {
      GT_SMS_DEFAULT_FROM, "InfoSMS",      "ACME Corp",
      "my-app_2.0",        "Abc",          "11chars-ok",
      "41793026727",       "+41793026727", "123",
      "+123456789012345", /* 15 digits */
  };
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
    cr_expect_eq(gt__sms_check_from(ok[i]), 0, "'%s' refused: %s", ok[i],
                 gt_last_error());
}

Test(sms_from, the_default_fits_an_alphanumeric_sender) {
  cr_assert_leq(strlen(GT_SMS_DEFAULT_FROM), 11);
  cr_assert_eq(gt__sms_check_from(GT_SMS_DEFAULT_FROM), 0);
}

Test(sms_from, senders_networks_refuse_fail_naming_the_key) {
  struct {
    const char *from, *why;
  } bad[] = {
      {"", "empty"},
      {"GarbageTexts", "12 characters"},
      {"Ab", "2 characters"},
      {"12", "2 digits"},
      {"+1234567890123456", "16 digits"},
      {"+41 79 302 67 27", "spaces in a number"},
      {"41-79-302", "separators in a number"},
      {"++4179302", "two plus signs"},
      {"4179+302", "a plus sign inside"},
      {"Gr\xc3\xbc\xc3\x9f"
       "e",
       "not ASCII"},
      {"Caf\xe9", "not UTF-8"},
      {"a@b.org", "'@'"},
      {"Tab\there", "a control character"},
      {" Lead", "a leading space"},
      {"Trail ", "a trailing space"},
      {"___", "no letter"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int rc = gt__sms_check_from(bad[i].from);
    cr_expect_eq(rc, GT_EINVAL, "%s accepted", bad[i].why);
    cr_expect(strncmp(gt_last_error(), "sms.from: ", 10) == 0, "%s: %s",
              bad[i].why, gt_last_error());
  }
  cr_expect_eq(gt__sms_check_from(NULL), GT_EINVAL);
}

Test(sms_from, the_message_says_what_is_allowed) {
  cr_assert_eq(gt__sms_check_from("GarbageTexts"), GT_EINVAL);
  cr_expect(strstr(gt_last_error(), "'GarbageTexts'"), "%s", gt_last_error());
  cr_expect(strstr(gt_last_error(), "11"), "%s", gt_last_error());
  /* Bytes that are not plain ASCII are not echoed. */
  cr_assert_eq(gt__sms_check_from("Caf\xe9"), GT_EINVAL);
  cr_expect_null(strchr(gt_last_error(), '\xe9'), "%s", gt_last_error());
}

/* The check runs when gt_init opens the sms backend: a bad sender fails
 * gt_init itself, before any message. */
Test(sms_from, gt_init_refuses_a_sender_networks_refuse) {
  char spool[] = "/tmp/gt-sms-from-XXXXXX";
  cr_assert_not_null(mkdtemp(spool));
  const char *kv[] = {"gt.backend",
                      "sms",
                      "gt.spool_dir",
                      spool,
                      "sms.base_url",
                      "https://127.0.0.1:9",
                      "sms.api_key",
                      SMS_KEY_OK,
                      "sms.to",
                      "+41 79 302 67 27",
                      "sms.from",
                      "GarbageTexts",
                      NULL};
  gt_options *o = gt_options_new();
  for (size_t i = 0; kv[i]; i += 2)
    cr_assert_eq(gt_options_set(o, kv[i], kv[i + 1]), 0, "%s", kv[i]);
  int rc = gt_init(o);
  cr_expect_eq(rc, GT_EINVAL, "gt_init: %d", rc);
  cr_expect(strncmp(gt_last_error(), "sms.from: ", 10) == 0, "%s",
            gt_last_error());
  assert_no_secret("gt_last_error", gt_last_error());
  if (rc == 0) gt_shutdown(1000);
  /* The same with a sender networks take starts. */
  cr_assert_eq(gt_options_set(o, "sms.from", "InfoSMS"), 0);
  rc = gt_init(o);
  cr_expect_eq(rc, 0, "%s", gt_last_error());
  if (rc == 0) gt_shutdown(1000);
  gt_options_free(o);
  rmdir(spool);
}
