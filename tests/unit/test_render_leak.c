/* Leak batches (gt.report=unreleased and =all): their text, the
 * unreleased placeholders, estimates, merging and the JSON fields. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>

#include "../internal.h"

static void add(gt_batch *b, uint32_t site, uint64_t n, bool leak) {
  gt_event ev = {.site = site,
                 .kind = GT_EV_COLLECTED,
                 .flags = leak ? GT_EVF_UNRELEASED : 0,
                 .size = 24 * n};
  cr_assert_eq(gt__batch_add(b, GT_GROUP_NAME, &ev, n, true, 0), 0);
}

static char *render(const char *tpl, gt_batch *b) {
  gt_config c = {.template_unreleased = (char *)tpl};
  gt__batch_sort(b);
  return gt__render(&c, b);
}

Test(render_leak, default_text_names_each_leak_with_its_site) {
  gt_batch b;
  gt__batch_init(&b);
  b.unreleased_only = true;
  add(&b, gt__intern_site("Connection", "src/conn.c", 42), 17, true);
  add(&b, gt__intern_site("Buffer", NULL, 0), 1, true);
  char *t = render(NULL, &b);
  cr_assert_str_eq(t, "LEAK: Connection reclaimed without release "
                      "(conn.c:42) x17; Buffer reclaimed without release");
  free(t);
  gt__batch_free(&b);
}

Test(render_leak, one_leak_alone_uses_the_leak_template_too) {
  gt_batch b;
  gt__batch_init(&b);
  b.unreleased_only = true;
  add(&b, gt__intern_site("Socket", "net.c", 7), 1, true);
  char *t = render(NULL, &b);
  cr_assert_str_eq(t, "LEAK: Socket reclaimed without release (net.c:7)");
  free(t);
  t = render("{unreleased} leak(s): {leaks} [{name}]", &b);
  cr_assert_str_eq(t, "1 leak(s): Socket reclaimed without release "
                      "(net.c:7) [Socket]");
  free(t);
  gt__batch_free(&b);
}

Test(render_leak, estimates_are_marked_by_both_samplings) {
  gt_batch b;
  gt__batch_init(&b);
  b.unreleased_only = true;
  b.leak_scale = 10;
  b.scale = 2;
  add(&b, gt__intern_site("Est", NULL, 0), 3, true);
  char *t = render("{leaks} / {unreleased}", &b);
  cr_assert_str_eq(t, "Est reclaimed without release x~60 / ~60");
  free(t);
  json_t *j = gt__batch_json(&b);
  cr_assert_eq(json_integer_value(json_object_get(j, "unreleased")), 60);
  cr_assert(json_is_true(json_object_get(j, "unreleased_estimated")));
  cr_assert_eq(json_integer_value(json_object_get(j, "collected")), 60,
               "a batch of leaks only: each object stands for 2 x 10");
  cr_assert(json_is_true(json_object_get(j, "estimated")));
  json_decref(j);
  gt__batch_free(&b);
}

Test(render_leak, report_all_appends_the_leaks_to_the_names) {
  gt_batch b;
  gt__batch_init(&b);
  uint32_t s = gt__intern_site("Mixed", NULL, 0);
  add(&b, s, 5, false);
  add(&b, s, 2, true);
  gt_config c = {0};
  char *t = gt__render(&c, &b);
  cr_assert_str_eq(t, "7 objects collected (sampled 2): Mixed x7; 2 "
                      "reclaimed without release");
  free(t);
  t = render("{leaks}", &b); /* not unreleased_only: gt.template */
  cr_assert_str_eq(t, "7 objects collected (sampled 2): Mixed x7; 2 "
                      "reclaimed without release");
  free(t);
  c.template_batch = "{leaks}";
  t = gt__render(&c, &b);
  cr_assert_str_eq(t, "Mixed reclaimed without release x2");
  free(t);
  gt__batch_free(&b);
}

Test(render_leak, no_leaks_reads_none) {
  gt_batch b;
  gt__batch_init(&b);
  add(&b, gt__intern_site("Clean", NULL, 0), 4, false);
  gt_config c = {.template_batch = "leaks: {leaks} ({unreleased})"};
  char *t = gt__render(&c, &b);
  cr_assert_str_eq(t, "leaks: none (0)");
  free(t);
  gt__batch_free(&b);
}

Test(render_leak, merge_and_json_keep_unreleased_per_group) {
  gt_batch a, b;
  gt__batch_init(&a);
  gt__batch_init(&b);
  uint32_t s = gt__intern_site("Held", "h.c", 3);
  add(&a, s, 2, true);
  add(&b, s, 3, true);
  add(&b, s, 4, false);
  cr_assert_eq(gt__batch_merge(&a, &b), 0);
  cr_assert_eq(a.collected, 9);
  cr_assert_eq(a.unreleased, 5);
  json_t *j = gt__batch_json(&a);
  cr_assert_eq(json_integer_value(json_object_get(j, "unreleased")), 5);
  cr_assert(json_is_false(json_object_get(j, "unreleased_estimated")));
  cr_assert_str_eq(json_string_value(json_object_get(j, "report")), "all");
  json_t *g = json_array_get(json_object_get(j, "groups"), 0);
  cr_assert_eq(json_integer_value(json_object_get(g, "unreleased")), 5);
  cr_assert_eq(json_integer_value(json_object_get(g, "count")), 9);
  json_decref(j);
  gt__batch_free(&a);
  gt__batch_free(&b);
}

Test(render_leak, new_placeholders_pass_the_check) {
  cr_assert_eq(
      gt__render_check("gt.template_unreleased", "LEAK {unreleased}: {leaks}"),
      0);
  cr_assert_eq(gt__render_check("gt.template_unreleased", "{leak}"), GT_EINVAL);
  cr_assert(strstr(gt_last_error(), "gt.template_unreleased"));
}

/* A sink that copies a batch (every backend but the last) or holds it
 * (rate limit) merges it into an empty one: the copy must still read as a
 * batch of leaks, with the same estimates. */
Test(render_leak, a_copied_or_held_batch_stays_a_leak_batch) {
  gt_batch from, copy;
  gt__batch_init(&from);
  gt__batch_init(&copy);
  from.unreleased_only = true;
  from.leak_scale = 128;
  add(&from, gt__intern_site("Copied", "c.c", 9), 2, true);
  cr_assert_eq(gt__batch_merge(&copy, &from), 0);
  char *t = render(NULL, &copy);
  cr_assert_str_eq(t, "LEAK: Copied reclaimed without release (c.c:9) x~256");
  free(t);
  json_t *j = gt__batch_json(&copy);
  cr_assert_str_eq(json_string_value(json_object_get(j, "report")),
                   "unreleased");
  cr_assert_eq(json_integer_value(json_object_get(j, "unreleased")), 256);
  json_decref(j);
  gt__batch_free(&from);
  gt__batch_free(&copy);
}
