/* The seed blog post's script, in C: be told when objects are collected.
 *
 *   bash scripts/demo.sh            (the text log: one line a message)
 *   GT_BACKEND=log GT_LOG_FORMAT=json ./garbage_texts
 */
#include <stdio.h>
#include <stdlib.h>

#include <gc.h>
#include <gt/gt.h>

typedef struct thing {
  struct thing *other;
  char label[16];
} thing;

/* Allocating in helpers keeps the pointers out of main's frame and
 * registers, so dropping them really makes the objects unreachable. */
static __attribute__((noinline)) void make_thing_one(void) {
  thing *t = GT_MALLOC(sizeof *t, "Thing One");
  snprintf(t->label, sizeof t->label, "one");
  printf("created Thing One; dropping its only reference\n");
}

static __attribute__((noinline)) void make_cycle(void) {
  thing *two = GT_MALLOC(sizeof *two, "Thing Two");
  thing *three = GT_MALLOC(sizeof *three, "Thing Three");
  two->other = three;
  three->other = two;
  printf("created Thing Two <-> Thing Three (a cycle); dropping both\n");
}

static __attribute__((noinline)) void make_many(int n) {
  for (int i = 0; i < n; i++) {
    thing *t = GT_MALLOC(sizeof *t, "Thing");
    t->label[0] = (char)i;
  }
}

static void GC_CALLBACK old_finalizer(void *obj, void *cd) {
  (void)obj;
  printf("  the object's own finalizer ran too (client data: %s)\n",
         (const char *)cd);
}

static __attribute__((noinline)) void make_watched(void) {
  char *buf = GC_MALLOC(64);
  GC_register_finalizer_no_order(buf, old_finalizer, "kept", NULL, NULL);
  if (gt_watch(buf, "Legacy buffer") != 0)
    fprintf(stderr, "gt_watch: %s\n", gt_last_error());
  printf("watching a GC_MALLOC buffer that already had a finalizer\n");
}

static int init_with(const char *key, const char *value) {
  gt_options *o = gt_options_new();
  if (key) gt_options_set(o, key, value);
  int rc = gt_init(o);
  gt_options_free(o);
  if (rc != 0)
    fprintf(stderr, "gt_init: %s: %s\n", gt_strerror(rc), gt_last_error());
  return rc;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0); /* interleave with the log on stderr */
  GC_INIT();
  if (init_with(NULL, NULL) != 0) return 2;

  make_thing_one();
  printf("gt_collect() reported %zu object(s)\n\n", gt_collect());

  make_cycle();
  printf("gt_collect() reported %zu object(s)\n\n", gt_collect());

  make_watched();
  printf("gt_collect() reported %zu object(s)\n\n", gt_collect());
  gt_shutdown(5000);

  /* The "every 1000 objects" variant: all are counted, 1 in 1000 is a
   * notification. */
  if (init_with("gt.sample_every", "1000") != 0) return 2;
  make_many(10000);
  printf("dropped 10,000 objects; gt_collect() reported %zu\n", gt_collect());
  gt_stats st;
  gt_get_stats(&st);
  printf("stats: allocated %llu, collected %llu, notifications %llu, "
         "messages %llu\n",
         (unsigned long long)st.allocated, (unsigned long long)st.collected,
         (unsigned long long)st.sampled, (unsigned long long)st.sent);
  return gt_shutdown(5000) == 0 ? 0 : 1;
}
