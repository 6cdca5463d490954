/* gt-bench: what the driver and the child share. The driver (gt_bench.c
 * and the files of driver.h) spawns one child process per (workload, mode,
 * repetition); the child (child.c and the files of child.h) runs one
 * workload under one mode and prints one JSON line.
 *
 * Three lists drive both sides, one line per entry: the parameters
 * (BENCH_PARAMS: field, option, JSON name), the workloads (BENCH_WORKLOADS)
 * and the modes (BENCH_MODES). A line names everything about its entry; the
 * driver expands the columns it needs (names, descriptions, what the report
 * compares) and the child the others (what to run). Adding a mode is one
 * line here plus its allocation function.
 */
#ifndef GT_BENCH_H
#define GT_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- parameters ----------------------------------------------------------
 * X(field, type, option, JSON name); type is int or u64. The driver passes
 * every one to every child, in this order. */
#define BENCH_PARAMS(X)                                                        \
  X(depth, int, "--depth", "depth")                      /* trees: D */        \
  X(thread_depth, int, "--thread-depth", "thread_depth") /* threads: D */      \
  X(nthreads, int, "--threads", "threads")         /* threads: threads */      \
  X(churn_n, u64, "--churn", "churn_n")            /* churn: allocations */    \
  X(graph_n, u64, "--graph", "graph_n")            /* graph: nodes in all */   \
  X(graph_size, u64, "--graph-size", "graph_size") /* graph: per graph */      \
  X(ring_cap, u64, "--ring-cap", "ring_cap")       /* pipeline: capacity */    \
  X(ring_events, u64, "--ring-events", "ring_events") /* pipeline: events */   \
  X(final_collections, int, "--final-collections", "final_collections")        \
  X(e2e_n, u64, "--e2e-n", "e2e_n")                /* e2e gt: objects */       \
  X(e2e_seed_n, u64, "--e2e-seed-n", "e2e_seed_n") /* e2e seed: objects */

typedef uint64_t u64;
typedef struct bench_params {
#define BENCH_PARAM_FIELD(field, type, option, json) type field;
  BENCH_PARAMS(BENCH_PARAM_FIELD)
#undef BENCH_PARAM_FIELD
} bench_params;

/* The list as data: the command line, the child's argv and the JSON. */
enum {
#define BENCH_PARAM_ENUM(field, type, option, json) BP_##field,
  BENCH_PARAMS(BENCH_PARAM_ENUM)
#undef BENCH_PARAM_ENUM
      BP_COUNT
};
typedef struct bench_param_info {
  const char *option, *json;
  size_t offset;
  bool is_int; /* else u64 */
} bench_param_info;
extern const bench_param_info bench_param_list[BP_COUNT];
u64 bench_param_get(const bench_params *p, int i);
void bench_param_set(bench_params *p, int i, u64 v);

void bench_params_default(bench_params *p);
void bench_params_quick(bench_params *p);

/* ---- workloads -----------------------------------------------------------
 * The family says which child code runs a workload, which modes apply to
 * it and which table reports it. */
typedef enum bench_family {
  BENCH_ALLOC, /* a mutator workload, timed in the child's own thread */
  BENCH_RING,  /* the event ring alone */
  BENCH_E2E    /* objects to SMS texts recorded by the loopback mock */
} bench_family;

/* X(id, name, family, body, describe), in run and report order. body: the
 * child's workload (family BENCH_ALLOC; NULL otherwise), describe: the
 * driver's one-line description with the parameters. */
#define BENCH_WORKLOADS(X)                                                     \
  X(TREES, "trees", BENCH_ALLOC, wl_trees, describe_trees)                     \
  X(CHURN, "churn", BENCH_ALLOC, wl_churn, describe_churn)                     \
  X(GRAPH, "graph", BENCH_ALLOC, wl_graph, describe_graph)                     \
  X(THREADS, "threads", BENCH_ALLOC, wl_threads, describe_threads)             \
  X(PIPELINE, "pipeline", BENCH_RING, NULL, describe_pipeline)                 \
  X(E2E, "e2e", BENCH_E2E, NULL, describe_e2e)

enum {
#define BENCH_WL_ENUM(id, name, family, body, describe) BW_##id,
  BENCH_WORKLOADS(BENCH_WL_ENUM)
#undef BENCH_WL_ENUM
      BW_COUNT
};

typedef struct bench_workload {
  const char *name;
  bench_family family;
} bench_workload;

extern const bench_workload bench_workloads[BW_COUNT];
int bench_workload_find(const char *name); /* -1: unknown */

/* ---- modes ----------------------------------------------------------------
 * X(id, family, name, raw, track, alloc, setup, gt_opts, what), in run and
 * report order:
 *   raw      the mode of the mechanism a gt mode wraps, for the "x raw"
 *            column (NONE: none)
 *   track    which objects the mode reports (bench_track)
 *   alloc    the child's allocation function (NULL: the family has its own)
 *   setup    the child's set-up before gt_init (NULL: none)
 *   gt_opts  gt options "k=v;k=v" on top of the family's (NULL: no gt)
 *   what     for --help */
typedef enum bench_track {
  TRACK_NONE,   /* no notification (plain, the ring) */
  TRACK_ALL,    /* every object is reported */
  TRACK_SAMPLED /* 1 in gt.alloc_sample_every */
} bench_track;

#define BENCH_MODES(X)                                                         \
  X(PLAIN, BENCH_ALLOC, "plain", NONE, TRACK_NONE, a_plain, NULL, NULL,        \
    "GC_MALLOC")                                                               \
  X(FINALIZER, BENCH_ALLOC, "finalizer", NONE, TRACK_ALL, a_finalizer, NULL,   \
    NULL, "+ GC_register_finalizer (the seed's way)")                          \
  X(FINALIZER_NO_ORDER, BENCH_ALLOC, "finalizer-no-order", NONE, TRACK_ALL,    \
    a_finalizer_no_order, NULL, NULL, "+ GC_register_finalizer_no_order")      \
  X(DISCLAIM, BENCH_ALLOC, "disclaim", NONE, TRACK_ALL, a_disclaim,            \
    raw_kind_setup, NULL, "own kind + GC_register_disclaim_proc")              \
  X(DISCLAIM_TL, BENCH_ALLOC, "disclaim-tl", NONE, TRACK_ALL, a_disclaim_tl,   \
    raw_kind_setup, NULL, "the same, per-thread free lists")                   \
  X(GT, BENCH_ALLOC, "gt", DISCLAIM, TRACK_ALL, a_gt, NULL, "",                \
    "gt_malloc (mechanism disclaim)")                                          \
  X(GT_FINALIZER, BENCH_ALLOC, "gt-finalizer", FINALIZER_NO_ORDER, TRACK_ALL,  \
    a_gt, NULL, "gt.alloc_mechanism=finalizer", "gt_malloc, finalizers")       \
  X(GT_WATCH, BENCH_ALLOC, "gt-watch", FINALIZER_NO_ORDER, TRACK_ALL,          \
    a_gt_watch, NULL, "", "GC_MALLOC + gt_watch")                              \
  X(GT_SAMPLE_ALLOC, BENCH_ALLOC, "gt-sample-alloc", PLAIN, TRACK_SAMPLED,     \
    a_gt, NULL, "gt.alloc_sample_every=1000", "gt_malloc, 1 in 1000 tracked")  \
  X(GT_LEAK, BENCH_ALLOC, "gt-leak", GT, TRACK_ALL, a_gt_leak, NULL,           \
    "gt.report=unreleased", "gt_malloc + gt_expect_release on every object")   \
  X(GT_LEAK_128, BENCH_ALLOC, "gt-leak-128", GT, TRACK_ALL, a_gt_leak, NULL,   \
    "gt.report=unreleased;gt.leak_sample_every=128",                           \
    "the same, 1 call in 128 marks (Netty's default)")                         \
  X(RING, BENCH_RING, "ring", NONE, TRACK_NONE, NULL, NULL, NULL,              \
    "push and pop gt's event ring")                                            \
  X(SEED, BENCH_E2E, "seed", NONE, TRACK_ALL, bench_seed_alloc, NULL, NULL,    \
    "a finalizer POSTs one SMS per object")                                    \
  X(E2E_GT, BENCH_E2E, "gt", NONE, TRACK_ALL, a_gt, NULL, "",                  \
    "gt_malloc -> batches -> the sms backend")

enum {
  BM_NONE = -1,
#define BENCH_MODE_ENUM(id, family, name, raw, track, alloc, setup, gt_opts,   \
                        what)                                                  \
  BM_##id,
  BENCH_MODES(BENCH_MODE_ENUM)
#undef BENCH_MODE_ENUM
      BM_COUNT
};

typedef struct bench_mode {
  const char *name;
  bench_family family;
  int raw; /* BM_NONE or a mode of the same family */
  bench_track track;
  const char *gt_opts; /* NULL: the mode does not use gt */
  const char *what;
} bench_mode;

extern const bench_mode bench_modes[BM_COUNT];
int bench_mode_find(bench_family f, const char *name); /* -1: unknown */

/* ---- e2e ------------------------------------------------------------------
 * The driver starts the loopback TLS mock of Infobip and tells the children
 * where it is through these environment variables. */
#define BENCH_E2E_URL_ENV "GT_BENCH_E2E_URL"       /* 127.0.0.1:PORT */
#define BENCH_E2E_CA_ENV "GT_BENCH_E2E_CA"         /* the test CA (PEM) */
#define BENCH_E2E_RECORD_ENV "GT_BENCH_E2E_RECORD" /* the mock's record */
#define BENCH_E2E_SPOOL_ENV "GT_BENCH_E2E_SPOOL"   /* gt.spool_dir */
#define BENCH_E2E_KEY "ib-SECRET-ok-bench"         /* the mock's fake key */
#define BENCH_E2E_TO "41793026727"
#define BENCH_E2E_RATE 60 /* gt.rate_per_minute of mode gt */

double bench_now_s(void); /* CLOCK_MONOTONIC */

/* Runs in the child: prints one JSON object on stdout, returns the exit
 * status. */
int bench_child(const char *workload, const char *mode, int rep,
                const bench_params *p);

#endif
