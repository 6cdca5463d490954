#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>

#include "../internal.h"

static gt_config cfg(const char *batch_tpl, const char *single_tpl) {
  return (gt_config){.template_batch = (char *)batch_tpl,
                     .template_single = (char *)single_tpl};
}

static void add(gt_batch *b, enum gt_group_by by, uint32_t site, uint64_t n,
                uint64_t size, bool sampled) {
  gt_event ev = {.site = site, .kind = GT_EV_COLLECTED, .size = size};
  cr_assert_eq(gt__batch_add(b, by, &ev, n, sampled, 0), 0);
}

Test(render, single_object_uses_the_seed_sentence) {
  gt_batch b;
  gt__batch_init(&b);
  add(&b, GT_GROUP_NAME, gt__intern_site("Thing One", NULL, 0), 1, 24, true);
  gt_config c = cfg(NULL, NULL);
  char *t = gt__render(&c, &b);
  cr_assert_str_eq(
      t, "The object with name Thing One is being removed from memory!");
  free(t);
  gt__batch_free(&b);
}

Test(render, batch_summary_with_counts_and_sites) {
  gt_batch b;
  gt__batch_init(&b);
  uint32_t node = gt__intern_site("Node", "src/tree.c", 42);
  uint32_t thing = gt__intern_site("Thing", NULL, 0);
  for (int i = 0; i < 1100; i++)
    add(&b, GT_GROUP_NAME, node, 1, 24, i % 100 == 0);
  add(&b, GT_GROUP_NAME, thing, 104, 0, true);
  gt__batch_sort(&b);
  gt_config c = cfg(NULL, NULL);
  char *t = gt__render(&c, &b);
  cr_assert_str_eq(t, "1,204 objects collected (sampled 12): Node x1,100 "
                      "(tree.c:42), Thing x104");
  free(t);
  gt__batch_free(&b);
}

Test(render, group_by_none_and_site) {
  gt_batch b;
  gt__batch_init(&b);
  uint32_t s1 = gt__intern_site("A", "a.c", 1),
           s2 = gt__intern_site("A", "a.c", 2);
  add(&b, GT_GROUP_SITE, s1, 2, 0, false);
  add(&b, GT_GROUP_SITE, s2, 3, 0, false);
  gt__batch_sort(&b);
  cr_assert_eq(b.ngroups, 2);
  gt_config c = cfg("{names}", NULL);
  char *t = gt__render(&c, &b);
  cr_assert_str_eq(t, "A x3 (a.c:2), A x2 (a.c:1)");
  free(t);
  gt__batch_reset(&b);
  add(&b, GT_GROUP_NAME, s1, 2, 0, false);
  add(&b, GT_GROUP_NAME, s2, 3, 0, false);
  t = gt__render(&c, &b);
  cr_assert_str_eq(t, "A x5", "two sites of one name show no site");
  free(t);
  gt__batch_free(&b);
}

Test(render, placeholders_and_escapes) {
  gt_batch b;
  gt__batch_init(&b);
  add(&b, GT_GROUP_NAME, gt__intern_site("Big", "big.c", 7), 2, 3000000, true);
  b.seq = 9;
  gt_config c = cfg(
      "{{x}} {count} {name} {bytes} {site} {sampled} {freed} {batch}", NULL);
  char *t = gt__render(&c, &b);
  cr_assert_str_eq(t, "{x} 2 Big 3,000,000 big.c:7 1 0 9");
  free(t);
  gt__batch_free(&b);
}

/* "{{" and "}}" are literal braces, so "{{x}}" reads "{x}"; a lone "}" is
 * kept as it is. */
Test(render, doubled_braces_are_literal_braces) {
  gt_batch b;
  gt__batch_init(&b);
  add(&b, GT_GROUP_NAME, gt__intern_site("Br", NULL, 0), 2, 0, true);
  const char *cases[][2] = {
      {"{{x}}", "{x}"},
      {"{{{count}}}", "{2}"},
      {"{count}}}", "2}"},
      {"a}b", "a}b"},
      {"}}}", "}}"},
      {"{{}}", "{}"},
      {"json: {{\"n\": {count}}}", "json: {\"n\": 2}"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    cr_expect_eq(gt__render_check("gt.template", cases[i][0]), 0, "%s: %s",
                 cases[i][0], gt_last_error());
    gt_config c = cfg(cases[i][0], NULL);
    char *t = gt__render(&c, &b);
    cr_expect_str_eq(t, cases[i][1], "template %s", cases[i][0]);
    free(t);
  }
  gt__batch_free(&b);
}

Test(render, estimates_are_marked) {
  gt_batch b;
  gt__batch_init(&b);
  add(&b, GT_GROUP_NAME, gt__intern_site("Est", NULL, 0), 3, 0, false);
  b.scale = 1000;
  gt_config c = cfg(NULL, NULL);
  char *t = gt__render(&c, &b);
  cr_assert_str_eq(t, "~3,000 objects collected (sampled 0): Est x~3,000");
  free(t);
  gt__batch_free(&b);
}

Test(render, template_check_names_the_key) {
  cr_assert_eq(gt__render_check("gt.template", "{count} ok {{"), 0);
  cr_assert_eq(gt__render_check("gt.template", "{cuont}"), GT_EINVAL);
  cr_assert(strstr(gt_last_error(), "gt.template"));
  cr_assert(strstr(gt_last_error(), "{cuont}"));
  cr_assert_eq(gt__render_check("gt.template_single", "oops {name"), GT_EINVAL);
}

Test(render, fmt_count) {
  char buf[32];
  cr_assert_str_eq(gt__fmt_count(0, buf), "0");
  cr_assert_str_eq(gt__fmt_count(999, buf), "999");
  cr_assert_str_eq(gt__fmt_count(1000, buf), "1,000");
  cr_assert_str_eq(gt__fmt_count(18446744073709551615ull, buf),
                   "18,446,744,073,709,551,615");
}

Test(batch, merge_adds_counts_and_json_has_them) {
  gt_batch a, b;
  gt__batch_init(&a);
  gt__batch_init(&b);
  uint32_t s = gt__intern_site("M", "m.c", 1);
  add(&a, GT_GROUP_NAME, s, 2, 10, true);
  add(&b, GT_GROUP_NAME, s, 5, 20, false);
  gt_event fr = {.site = s, .kind = GT_EV_FREED};
  gt__batch_add(&b, GT_GROUP_NAME, &fr, 1, false, 0);
  cr_assert_eq(gt__batch_merge(&a, &b), 0);
  cr_assert_eq(a.collected, 7);
  cr_assert_eq(a.freed, 1);
  cr_assert_eq(a.bytes, 30);
  cr_assert_eq(a.merged, 1);
  cr_assert_eq(a.ngroups, 1);
  json_t *j = gt__batch_json(&a);
  cr_assert_eq(json_integer_value(json_object_get(j, "collected")), 7);
  json_t *g = json_array_get(json_object_get(j, "groups"), 0);
  cr_assert_str_eq(json_string_value(json_object_get(g, "name")), "M");
  cr_assert_str_eq(json_string_value(json_object_get(g, "site")), "m.c:1");
  cr_assert_eq(json_integer_value(json_object_get(g, "count")), 7);
  json_decref(j);
  gt__batch_free(&a);
  gt__batch_free(&b);
}

/* With gt.alloc_sample_every, counts and bytes are estimates alike (N7),
 * and the JSON says how many sampled objects it has no details for. */
Test(render, estimates_scale_bytes_like_counts_and_samples_are_accounted) {
  gt_batch b;
  gt__batch_init(&b);
  uint32_t s = gt__intern_site("Est", NULL, 0);
  for (int i = 0; i < 40; i++) /* 40 sampled, one object each, 16 bytes */
    add(&b, GT_GROUP_NAME, s, 1, 16, true);
  b.scale = 10;
  json_t *j = gt__batch_json(&b);
  cr_assert_eq(json_integer_value(json_object_get(j, "collected")), 400);
  cr_assert_eq(json_integer_value(json_object_get(j, "bytes")), 6400);
  json_t *g = json_array_get(json_object_get(j, "groups"), 0);
  cr_assert_eq(json_integer_value(json_object_get(g, "bytes")), 6400);
  size_t shown = json_array_size(json_object_get(j, "samples"));
  cr_assert_eq(shown, GT_BATCH_MAX_SAMPLES);
  cr_assert_eq(json_integer_value(json_object_get(j, "samples_omitted")),
               40 - GT_BATCH_MAX_SAMPLES);
  json_decref(j);
  gt_config c = cfg("{count} objects, {bytes} bytes", NULL);
  char *t = gt__render(&c, &b);
  cr_assert_str_eq(t, "~400 objects, ~6,400 bytes");
  free(t);
  gt__batch_free(&b);
}
