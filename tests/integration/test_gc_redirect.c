/* gc_redirect.h maps bdwgc's GC_MALLOC family onto the gt family, named
 * after the calling function, sited at file:line. */
#include <string.h>

#include "helpers.h"

#include <gt/gc_redirect.h>

typedef struct pair {
  struct pair *next;
  long v;
} pair;

static __attribute__((noinline)) void build_list(void) {
  pair *head = NULL;
  for (int i = 0; i < 3; i++) {
    pair *p = GC_NEW(pair); /* through GC_MALLOC */
    p->next = head;
    p->v = i;
    head = p;
  }
  char *buf = GC_MALLOC_ATOMIC(40);
  memset(buf, 'x', GC_size(buf)); /* every byte GC_size reports is ours */
  buf = GC_REALLOC(buf, 4000);
  char *s = GC_STRDUP("bdwgc");
  GC_FREE(s);
  (void)head;
}

Test(gc_redirect, gc_malloc_family_becomes_gt) {
  gt_test_start(NULL);
  build_list();
  cr_assert_eq(gt_collect(), 4, "3 pairs and the reallocated buffer");
  gt_stats st;
  gt_get_stats(&st);
  cr_assert_eq(st.freed, 1, "GC_FREE of the string");
  cr_assert_eq(st.allocated, 5);
  json_t *r = gt_test_records();
  cr_assert_eq(gt_test_named(r, "build_list"), 4, "named after the function");
  json_decref(r);
}
