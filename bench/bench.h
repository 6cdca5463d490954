/* gt-bench: shared declarations between the driver (gt_bench.c), which
 * spawns one child process per (workload, mode, repetition), and the child
 * (child.c), which runs one workload under one mode and prints one JSON line.
 */
#ifndef GT_BENCH_H
#define GT_BENCH_H

#include <stddef.h>
#include <stdint.h>

/* Workload parameters; the driver passes them to every child. */
typedef struct bench_params {
  int depth;             /* trees: D (14.6 M nodes at 16) */
  int thread_depth;      /* threads: D per mutator thread */
  int nthreads;          /* threads: mutator threads */
  uint64_t churn_n;      /* churn: allocations */
  uint64_t graph_n;      /* graph: nodes in total */
  uint64_t graph_size;   /* graph: nodes per graph (one graph stays live) */
  uint64_t ring_cap;     /* pipeline: ring capacity (events) */
  uint64_t ring_events;  /* pipeline: events pushed in total */
  int final_collections; /* max forced collections after the run */
  uint64_t e2e_n;        /* e2e, mode gt: objects (to the SMS backend) */
  uint64_t e2e_seed_n;   /* e2e, mode seed: objects (one HTTPS POST each) */
} bench_params;

/* e2e: the driver starts the loopback TLS mock of Infobip and tells the
 * children where it is through these environment variables. */
#define BENCH_E2E_URL_ENV "GT_BENCH_E2E_URL"       /* 127.0.0.1:PORT */
#define BENCH_E2E_CA_ENV "GT_BENCH_E2E_CA"         /* the test CA (PEM) */
#define BENCH_E2E_RECORD_ENV "GT_BENCH_E2E_RECORD" /* the mock's record */
#define BENCH_E2E_SPOOL_ENV "GT_BENCH_E2E_SPOOL"   /* gt.spool_dir */
#define BENCH_E2E_KEY "ib-SECRET-ok-bench"         /* the mock's fake key */
#define BENCH_E2E_TO "41793026727"
#define BENCH_E2E_RATE 60 /* gt.rate_per_minute of mode gt */

void bench_params_default(bench_params *p);
void bench_params_quick(bench_params *p);

/* The modes, in report order. "raw" is the mechanism a gt mode wraps, for
 * the second ratio column (NULL: none). */
typedef struct bench_mode {
  const char *name;
  const char *raw;
  int uses_gt;
} bench_mode;

extern const bench_mode bench_modes[];
extern const size_t bench_nmodes;
extern const char *const bench_workloads[];
extern const size_t bench_nworkloads;
/* The modes of workload e2e (not in bench_modes: they make sense only
 * there). */
extern const char *const bench_e2e_modes[];
extern const size_t bench_ne2e_modes;

/* Runs in the child: prints one JSON object on stdout, returns the exit
 * status. */
int bench_child(const char *workload, const char *mode, int rep,
                const bench_params *p);

#endif
