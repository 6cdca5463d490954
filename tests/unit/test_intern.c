#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "gt_internal.h"

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
