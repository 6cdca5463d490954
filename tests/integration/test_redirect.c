/* redirect.h maps malloc & co. onto the gt family. */
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#include <gt/redirect.h>

static __attribute__((noinline)) void legacy_code(void) {
  char *a = malloc(32);
  char *b = calloc(4, 8);
  char *c = strdup("legacy");
  a = realloc(a, 64);
  free(b);
  (void)a;
  (void)c;
}

Test(redirect, malloc_family_becomes_gt) {
  gt_test_start(NULL);
  legacy_code();
  cr_assert_eq(gt_collect(), 2);
  gt_stats st;
  gt_get_stats(&st);
  cr_assert_eq(st.freed, 1);
  json_t *r = gt_test_records();
  cr_assert_eq(gt_test_named(r, "test_redirect.c"), 2, "named after the file");
  json_decref(r);
}
