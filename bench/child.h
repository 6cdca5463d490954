/* gt-bench child: the declarations its files share. The child runs one
 * workload under one mode in a fresh process and prints one JSON object:
 *   child.c      dispatch by family; the mutator workloads' run (timed
 *                section, untimed final collections)
 *   measure.c    clocks, CPU, RSS, bdwgc's heap peak and warnings
 *   modes.c      each mode's allocation and set-up, gt's options
 *   workloads.c  trees, churn, graph, threads
 *   pipeline.c   the event ring alone
 *   e2e.c        objects to SMS texts recorded by the loopback mock
 *   seed.c       e2e's seed mode: one HTTPS POST per finalized object
 *   record.c     e2e: what the mock recorded
 *   result.c     the JSON line (jansson), then stdout closed, gt shut down
 */
#ifndef GT_BENCH_CHILD_H
#define GT_BENCH_CHILD_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "bench.h"
#include "gt/gt.h"

#define BENCH_NAME "Node" /* every tracked object's name (a literal) */

/* measure.c */
typedef struct bench_cpu {
  double user, sys;
} bench_cpu;
void bench_cpu_now(bench_cpu *c);
long bench_maxrss_kb(void);
long bench_rss_kb(void);
void bench_gc_start(void); /* GC_INIT, the heap-peak hook, warnings counted */
void bench_heap_sample(void); /* the current heap size into the peak */
uint64_t bench_heap_peak(void);
uint64_t bench_gc_warnings(void);
/* noinline: its frame must lie where the workload's frames were */
__attribute__((noinline)) void bench_scrub_stack(void);
_Noreturn void bench_die(const char *what);
/* inline: it is on every allocation of the raw modes */
static inline void *bench_checked(void *p) {
  if (!p) bench_die("out of memory");
  return p;
}

/* modes.c */
typedef void *(*alloc_fn)(size_t size, int atomic);
extern alloc_fn bench_alloc;            /* the mode's allocation */
extern _Atomic uint64_t bench_reported; /* raw modes' notifications */
void bench_mode_begin(int mode);        /* set-up, bench_alloc */
gt_options *bench_gt_options(void);
void bench_gt_set(gt_options *o, const char *key, const char *value);
void bench_gt_set_list(gt_options *o, const char *list); /* "k=v;k=v" */
void bench_gt_init(gt_options *o); /* + $GT_BENCH_OPTS; frees o */
/* Leak modes: ns per gt_expect_release and gt_release, into j. */
void bench_leak_micro(json_t *j);

/* workloads.c */
typedef struct node {
  struct node *l, *r;
  uintptr_t value;
} node;
uint64_t bench_workload_run(int wl, const bench_params *p);

/* pipeline.c, e2e.c */
int bench_run_pipeline(int rep, const bench_params *p);
int bench_run_e2e(int mode, int rep, const bench_params *p);

/* seed.c */
void *bench_seed_alloc(size_t n, int atomic);
void bench_seed_open(const char *hostport, const char *ca);
void bench_seed_close(void);
uint64_t bench_seed_ok(void);
uint64_t bench_seed_failed(void);

/* record.c: the mock's SMS POSTs answered 200 from `offset` on, and the
 * objects their texts count. */
typedef struct sms_tally {
  uint64_t posts, objects, unparsed;
} sms_tally;
long bench_file_size(const char *path);
void bench_tally_record(const char *path, long offset, sms_tally *t);

/* result.c */
json_t *bench_result_new(const char *workload, const char *mode, int rep,
                         bool ok);
void bench_put_u(json_t *r, const char *key, uint64_t v);
void bench_put_i(json_t *r, const char *key, long long v);
void bench_put_d(json_t *r, const char *key, double v);
void bench_put_round(json_t *r, const char *key, double v); /* integer */
void bench_put_cpu(json_t *r, const bench_cpu *t0, const bench_cpu *t1);
/* Prints r (and gt's counters if st), closes stdout so the driver has the
 * result even if shutdown hangs, then shuts gt down (if st). */
void bench_result_emit(json_t *r, const gt_stats *st);

#endif
