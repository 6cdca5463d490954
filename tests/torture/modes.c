/* bdwgc modes that real programs use, one process per mode (a mode is
 * chosen before GC_INIT, as bdwgc requires):
 *
 *   torture_modes markers|incremental|nointerior|nodls|disable|big|
 *                 event-before|event-after|findleak [FUNCTIONS]
 *
 * In each, mutator threads allocate with every gt function, several sizes
 * and both kinds, while collections run; contents are verified, then
 * everything is dropped and counts must be exact (collected + freed ==
 * allocated, per name too). Objects are filled up to the requested size
 * only: using all GC_size() bytes is the integrity test's subject, and
 * failures here should point at the mode. FUNCTIONS narrows a failure
 * down by hand, as in torture_alloc. */
#include <strings.h>

#include "torture.h"
#include "workload.h"

static _Atomic unsigned long program_events;

static void GC_CALLBACK program_event(GC_EventType e) {
  (void)e;
  atomic_fetch_add_explicit(&program_events, 1, memory_order_relaxed);
}

static void enable_gc(void) {
  printf("collections enabled again (GC_enable)\n");
  GC_enable();
}

static const size_t big_sizes[] = {24, (1u << 20) + 7, 4096, 2u << 20,
                                   (3u << 20) + 1};

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  static const char *const modes[] = {
      "markers", "incremental",  "nointerior",  "nodls",    "disable",
      "big",     "event-before", "event-after", "findleak", NULL};
  int known = 0;
  for (int i = 0; modes[i]; i++)
    known |= strcmp(mode, modes[i]) == 0;
  if (!known) {
    fprintf(stderr, "usage: %s MODE (see the source)\n", argv[0]);
    return 2;
  }
  tt_watchdog(60);
  bool big = strcmp(mode, "big") == 0;
  if (strcmp(mode, "nointerior") == 0) GC_set_all_interior_pointers(0);
  if (strcmp(mode, "nodls") == 0) GC_set_no_dls(1);
  if (strcmp(mode, "findleak") == 0) GC_set_find_leak(1);
  GC_INIT();
  tt_presize_heap(big ? 160 : 64);
  if (strcmp(mode, "incremental") == 0) GC_enable_incremental();
  if (strcmp(mode, "event-before") == 0)
    GC_set_on_collection_event(program_event);

  int rc = tt_gt_init(NULL);
  if (strcmp(mode, "findleak") == 0 && rc != 0) {
    /* Refusing find-leak mode is a correct answer, if it says why. */
    const char *e = gt_last_error();
    printf("gt_init refused find-leak mode: %d %s\n", rc, e);
    CHECK(strcasestr(e, "find") && strcasestr(e, "leak"),
          "gt_init failed in find-leak mode without saying so: '%s'", e);
    return tt_finish(mode);
  }
  if (rc != 0) {
    fprintf(stderr, "FAIL: gt_init: %d %s\n", rc, gt_last_error());
    return 1;
  }
  if (strcmp(mode, "event-after") == 0)
    GC_set_on_collection_event(program_event);

  bool fill_all = false;
  tt_work w = {
      .fns = argc > 2 ? tt_parse_fns(argv[2], &fill_all) : TT_ALL_FNS,
      .threads = 3,
      .ops = TT_SCALE(100000),
      .ring = 512,
      .sizes = tt_sizes_all,
      .nsizes = tt_sizes_all_n,
      .churn = true,
      .collect_every = 20000,
      .free_every = 5,
  };
  w.fill_all = fill_all;
  if (big) {
    w.sizes = big_sizes;
    w.nsizes = sizeof big_sizes / sizeof *big_sizes;
    w.ops = TT_SCALE(200);
    w.ring = 6;
    w.collect_every = 100;
  }
  if (strcmp(mode, "findleak") == 0)
    w.ops = TT_SCALE(20000); /* bdwgc prints a line per unreachable object */
  if (strcmp(mode, "disable") == 0) {
    printf("collections disabled (GC_disable) for the first half\n");
    GC_disable();
    w.midway = enable_gc;
    w.ops = TT_SCALE(40000); /* nothing is reclaimed meanwhile */
  }
  printf("mode %s: %d threads x %d objects; incremental=%d "
         "parallel markers=%d interior pointers=%d\n",
         mode, w.threads, w.ops, GC_is_incremental_mode(), GC_get_parallel(),
         GC_get_all_interior_pointers());
  tt_work_run(&w);

  if (strcmp(mode, "markers") == 0)
    CHECK(GC_get_parallel() > 0,
          "parallel marking is off (GC_MARKERS=2 in the environment?)");
  if (strcmp(mode, "incremental") == 0)
    CHECK(GC_is_incremental_mode(), "incremental mode is off");
  if (strcmp(mode, "nointerior") == 0)
    CHECK(!GC_get_all_interior_pointers(), "interior pointers are on");
  if (strncmp(mode, "event-", 6) == 0)
    CHECK(atomic_load(&program_events) > 0,
          "the program's own collection-event callback was never called");
  tt_step("shutdown");
  CHECK(gt_shutdown(5000) == 0, "gt_shutdown: %s", gt_last_error());
  return tt_finish(mode);
}
