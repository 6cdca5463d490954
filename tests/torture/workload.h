/* The allocation workload shared by the integrity test and the bdwgc-mode
 * tests: mutator threads that allocate with every gt allocation function,
 * fill each object with a pattern, keep a ring of live objects, verify
 * each one when it leaves the ring and at the end, and then drop them all
 * and demand exact counts. */
#ifndef GT_TORTURE_WORKLOAD_H
#define GT_TORTURE_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tt_fn {
  TT_MALLOC,
  TT_ATOMIC,
  TT_AT,
  TT_CALLOC,
  TT_REALLOC,
  TT_STRDUP,
  TT_NFN
};
#define TT_ALL_FNS ((1u << TT_NFN) - 1)

typedef struct tt_work {
  int threads;
  int ops;      /* allocations per thread */
  int ring;     /* live objects each thread keeps */
  unsigned fns; /* bit set of 1u << enum tt_fn */
  const size_t *sizes;
  size_t nsizes;
  bool fill_all;     /* fill all GC_size(p) bytes, not just the request */
  bool churn;        /* a thread allocating garbage and collecting */
  int collect_every; /* each mutator calls gt_collect every N ops; 0: no */
  int free_every;    /* 1 in N objects leaving a ring is gt_free'd; 0: no */
  /* Called once by the main thread when the mutators are half done. */
  void (*midway)(void);
} tt_work;

/* The sizes of the integrity test: 1..300, then past a page. */
extern const size_t tt_sizes_all[];
extern const size_t tt_sizes_all_n;

/* A comma list of malloc, atomic, at, calloc, realloc, strdup as a bit
 * set (0 if it names none: all); "+req" / "+all" set *fill_all. For
 * narrowing a failure down by hand. */
unsigned tt_parse_fns(const char *arg, bool *fill_all);

/* Runs the workload, checks every object's content, that no two live
 * objects share a byte, and after dropping everything, the exact counts
 * in gt_get_stats and gt_get_name_stats. Failures are CHECKs. */
void tt_work_run(const tt_work *w);

#endif
