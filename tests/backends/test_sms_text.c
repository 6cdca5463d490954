/* SMS segment counting and fitting, without a server. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/sms_text.h"

static gt_sms_count count(const char *s) {
  return gt__sms_count(s, strlen(s));
}

static char *repeat(const char *unit, size_t n) {
  size_t u = strlen(unit);
  char *s = malloc(u * n + 1);
  for (size_t i = 0; i < n; i++)
    memcpy(s + i * u, unit, u);
  s[u * n] = '\0';
  return s;
}

static void expect(const char *unit, size_t n, bool ucs2, size_t units,
                   size_t segments) {
  char *s = repeat(unit, n);
  gt_sms_count c = count(s);
  cr_expect_eq(c.ucs2, ucs2, "%zu x '%s': ucs2", n, unit);
  cr_expect_eq(c.units, units, "%zu x '%s': units %zu", n, unit, c.units);
  cr_expect_eq(c.segments, segments, "%zu x '%s': segments %zu", n, unit,
               c.segments);
  free(s);
}

Test(sms_text, gsm7_limits) {
  expect("a", 0, false, 0, 0);
  expect("a", 160, false, 160, 1);
  expect("a", 161, false, 161, 2);
  expect("a", 306, false, 306, 2);
  expect("a", 307, false, 307, 3);
  expect("@£$¥èéùìòÇ", 16, false, 160, 1); /* basic table, not ASCII */
}

Test(sms_text, extension_characters_count_double) {
  expect("{", 80, false, 160, 1);
  expect("€", 81, false, 162, 2);
  /* 152 'a' then '[': the escape pair may not straddle two parts. */
  char *s = repeat("a", 152);
  char *t = malloc(400);
  strcpy(t, s);
  strcat(t, "[");
  strcat(t, s);
  gt_sms_count c = count(t);
  cr_expect_eq(c.units, 306);
  cr_expect_eq(c.segments, 3);
  free(s);
  free(t);
}

Test(sms_text, ucs2_limits) {
  expect("ж", 70, true, 70, 1);
  expect("ж", 71, true, 71, 2);
  expect("ж", 134, true, 134, 2);
  expect("ж", 135, true, 135, 3);
  expect("😀", 35, true, 70, 1); /* surrogate pairs */
  expect("😀", 36, true, 72, 2);
  /* One non-GSM character switches the whole text. */
  char *s = repeat("a", 100);
  s[50] = '`'; /* not in GSM-7 */
  gt_sms_count c = count(s);
  cr_expect(c.ucs2);
  cr_expect_eq(c.segments, 2);
  free(s);
}

Test(sms_text, invalid_utf8_is_counted_not_trusted) {
  gt_sms_count c = gt__sms_count("\xff\xfe\xc3", 3);
  cr_expect(c.ucs2);
  cr_expect_eq(c.units, 3);
  c = gt__sms_count("\xed\xa0\x80", 3); /* an encoded surrogate */
  cr_expect(c.ucs2);
}

Test(sms_text, fit_keeps_short_text) {
  char *f = gt__sms_fit("3 objects collected: Node x3", 1);
  cr_assert_str_eq(f, "3 objects collected: Node x3");
  free(f);
}

Test(sms_text, fit_cuts_at_items_and_counts_the_rest) {
  char text[2000] = "1,204 objects collected (sampled 12): ";
  for (int i = 0; i < 30; i++) {
    char item[40];
    snprintf(item, sizeof item, "%sThing%02d x40 (t.c:%d)", i ? ", " : "", i,
             i + 10);
    strcat(text, item);
  }
  for (size_t segs = 1; segs <= 3; segs++) {
    char *f = gt__sms_fit(text, segs);
    gt_sms_count c = count(f);
    cr_expect_leq(c.segments, segs, "%s", f);
    const char *plus = strrchr(f, '+');
    cr_assert_not_null(plus, "%s", f);
    int dropped = atoi(plus + 1);
    size_t kept = 1;
    for (const char *p = f; (p = strstr(p, ", ")); p += 2)
      kept++;
    cr_expect_eq(kept + (size_t)dropped, 30, "%s", f);
    cr_expect(strstr(f, " more") && f[strlen(f) - 1] == 'e', "%s", f);
    free(f);
  }
}

Test(sms_text, fit_without_items_cuts_characters) {
  char *s = repeat("ж", 200);
  char *f = gt__sms_fit(s, 1);
  gt_sms_count c = count(f);
  cr_expect_eq(c.segments, 1);
  cr_expect_eq(strlen(f) % 2, 1, "cut inside a character: %s", f);
  cr_expect_str_eq(f + strlen(f) - 3, "...");
  free(f);
  free(s);
}

Test(sms_text, fit_counts_what_the_renderer_already_left_out) {
  char text[1000] = "100 objects collected (sampled 100): ";
  for (int i = 0; i < 10; i++) {
    char item[64];
    snprintf(item, sizeof item, "%sAVeryLongObjectName%02d x9", i ? ", " : "",
             i);
    strcat(text, item);
  }
  strcat(text, ", +5 more"); /* what render.c appends past 10 names */
  char *f = gt__sms_fit(text, 1);
  const char *plus = strrchr(f, '+');
  cr_assert_not_null(plus, "%s", f);
  size_t kept = 1;
  for (const char *p = f; (p = strstr(p, ", ")); p += 2)
    kept++;
  cr_expect_eq(kept + (size_t)atoi(plus + 1), 15, "%s", f);
  free(f);
}
