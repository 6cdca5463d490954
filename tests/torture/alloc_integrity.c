/* Allocation integrity: N mutator threads use every gt allocation function
 * on sizes from 1 byte to several pages, fill every byte GC_size() grants
 * with a pattern of (thread, index), keep a ring of live objects and
 * verify each when it leaves and at the end, while another thread
 * allocates garbage and collects (GC_gcollect and gt_collect). Then
 * everything is dropped: collected + freed must equal allocated exactly,
 * in total and per name.
 *
 *   torture_alloc THREADS disclaim|finalizer [FUNCTIONS]
 *
 * FUNCTIONS (for diagnosis, default all) is a comma list of malloc,
 * atomic, at, calloc, realloc, strdup; "+req" fills only the requested
 * bytes instead of all GC_size() bytes. */
#include "torture.h"
#include "workload.h"

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s THREADS disclaim|finalizer [FUNCTIONS]\n",
            argv[0]);
    return 2;
  }
  int threads = atoi(argv[1]);
  bool fill_all = true;
  unsigned set = argc > 3 ? tt_parse_fns(argv[3], &fill_all) : TT_ALL_FNS;
  tt_watchdog(90);
  GC_INIT();
  tt_presize_heap(64);
  const char *kv[] = {"gt.alloc_mechanism", argv[2], NULL};
  tt_gt_start(kv);
  /* The same number of objects whatever the thread count: the ring is
   * what multiplies the live set. */
  tt_work w = {
      .threads = threads,
      .ops = TT_SCALE(1200000) / threads,
      .ring = 1024,
      .fns = set,
      .sizes = tt_sizes_all,
      .nsizes = tt_sizes_all_n,
      .fill_all = fill_all,
      .churn = true,
      .collect_every = 50000, /* mutators collect too, now and then */
      .free_every = 7,
  };
  printf("alloc integrity: %d threads x %d objects, %s, %s\n", threads, w.ops,
         argv[2], fill_all ? "all GC_size bytes filled" : "request filled");
  tt_work_run(&w);
  tt_step("shutdown");
  CHECK(gt_shutdown(5000) == 0, "gt_shutdown: %s", gt_last_error());
  return tt_finish("alloc integrity");
}
