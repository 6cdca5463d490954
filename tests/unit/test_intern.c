#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../internal.h"

Test(intern, same_site_same_id_and_names_group_sites) {
  uint32_t a = gt__intern_site("Node", "tree.c", 42);
  uint32_t b = gt__intern_site("Node", "tree.c", 42);
  uint32_t c = gt__intern_site("Node", "tree.c", 43);
  uint32_t d = gt__intern_site("Leaf", NULL, 0);
  cr_assert_eq(a, b);
  cr_assert_neq(a, c);
  cr_assert_eq(gt__site(a)->name_id, gt__site(c)->name_id);
  cr_assert_neq(gt__site(a)->name_id, gt__site(d)->name_id);
  cr_assert_str_eq(gt__name(gt__site(d)->name_id), "Leaf");
  cr_assert_null(gt__site(d)->file);
}

Test(intern, name_is_copied_and_reused_buffers_are_not_confused) {
  char *buf = malloc(16);
  strcpy(buf, "Alpha");
  uint32_t a = gt__intern_site(buf, NULL, 0);
  strcpy(buf, "Beta"); /* same pointer, new content: the cache must see it */
  uint32_t b = gt__intern_site(buf, NULL, 0);
  free(buf);
  cr_assert_neq(a, b);
  cr_assert_str_eq(gt__site(a)->name, "Alpha");
  cr_assert_str_eq(gt__site(b)->name, "Beta");
}

Test(intern, null_name_is_object) {
  uint32_t a = gt__intern_site(NULL, NULL, 0);
  cr_assert_str_eq(gt__site(a)->name, "object");
}

Test(intern, many_sites_cross_chunks) {
  uint32_t first = 0, last = 0;
  for (int i = 0; i < 5000; i++) {
    uint32_t id = gt__intern_site("Many", "many.c", i);
    cr_assert_neq(id, 0);
    if (!first) first = id;
    last = id;
  }
  cr_assert_eq(last - first, 4999);
  cr_assert_eq(gt__site(last)->line, 4999);
  cr_assert_eq(gt__intern_site("Many", "many.c", 1234), first + 1234);
}

/* A name is any byte string: stored escaped for display (one line, valid
 * UTF-8), identified by its bytes (F8, F14). */
Test(intern, names_are_escaped_for_display_and_keep_their_identity) {
  const char *raw = "bad\xff name\n\x1b[31mred\xe2\x80\xae";
  uint32_t a = gt__intern_site(raw, "f\xfe.c", 7);
  cr_assert_eq(gt__intern_site(raw, "f\xfe.c", 7), a);
  cr_assert_str_eq(gt__site(a)->name,
                   "bad\\xff name\\x0a\\x1b[31mred\\xe2\\x80\\xae");
  cr_assert_str_eq(gt__site(a)->file, "f\\xfe.c");
  /* the escaped text is another name */
  cr_assert_neq(gt__intern_site(gt__site(a)->name, "f\xfe.c", 7), a);
  uint32_t plain = gt__intern_site("Grüße", NULL, 0);
  cr_assert_str_eq(gt__site(plain)->name, "Grüße");
}

/* Many distinct names: each keeps its id (a hash table, not a scan). */
Test(intern, many_names_keep_distinct_ids) {
  enum { N = 200000 };
  uint32_t *ids = malloc(N * sizeof *ids);
  char name[32];
  uint32_t before = gt__name_count();
  for (int i = 0; i < N; i++) {
    snprintf(name, sizeof name, "Name-%d", i);
    ids[i] = gt__intern_site(name, NULL, 0);
  }
  cr_assert_eq(gt__name_count() - before, N);
  for (int i = 0; i < N; i += 997) {
    snprintf(name, sizeof name, "Name-%d", i);
    cr_assert_eq(gt__intern_site(name, NULL, 0), ids[i]);
    cr_assert_str_eq(gt__site(ids[i])->name, name);
  }
  free(ids);
}

/* Past the table's limit every new site is "(other sites)", with one
 * warning: gt_malloc never fails for want of a site id (F14). */
Test(intern, past_the_limit_new_sites_are_other_sites, .timeout = 120) {
  uint32_t first = gt__intern_site("Full", "full.c", 0), last = first;
  for (int line = 1; last < GT_FIRST_RESERVED - 1; line++)
    last = gt__intern_site("Full", "full.c", line);
  cr_assert_eq(last, GT_FIRST_RESERVED - 1);
  uint32_t over = gt__intern_site("Full", "full.c", -1);
  cr_assert_eq(over, GT_OTHER_SITE);
  cr_assert_eq(gt__intern_site("New name", NULL, 0), GT_OTHER_SITE);
  cr_assert_str_eq(gt__site(over)->name, "(other sites)");
  cr_assert(gt__site_valid(over));
  /* known sites still resolve */
  cr_assert_eq(gt__intern_site("Full", "full.c", 0), first);
}
