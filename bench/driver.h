/* gt-bench driver: the declarations its phases share. main (gt_bench.c)
 * runs them in order:
 *   options.c   the command line, the --workloads/--modes lists, --help
 *   children.c  one child per (workload, mode, rep), modes interleaved
 *   mock.c      e2e: the loopback TLS mock of Infobip, started and stopped
 *   stats.c     medians and paired ratios over the runs
 *   report.c    the tables, one per workload family, and their summary
 *   targets.c   PASS/MISS for the targets of issue 5, the exact counts
 *   output.c    the JSON document: machine, parameters, writing it
 * The driver never runs a workload itself; everything measured comes from
 * the children's JSON lines, kept in ctx->runs.
 */
#ifndef GT_BENCH_DRIVER_H
#define GT_BENCH_DRIVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "bench.h"

typedef struct bench_opts {
  bench_params p;
  int reps;
  double timeout_s;
  const char *workloads; /* comma lists; NULL = all */
  const char *modes;
  const char *json;
  bool smoke;
  bool quick;
} bench_opts;

typedef struct bench_ctx {
  const bench_opts *o;
  json_t *root;         /* the document --json writes */
  json_t *runs;         /* every child's result, in run order */
  json_t *summary;      /* one row per (workload, mode) reported */
  const char *e2e_skip; /* why e2e did not run (NULL: it ran or was off) */
  char e2e_why[1024];
  int failures; /* runs not ok */
  double t_start;
} bench_ctx;

/* options.c */
void bench_opts_init(bench_opts *o);
_Noreturn void bench_usage(void);
int bench_parse(bench_opts *o, int argc, char **argv, int i);
void bench_check_lists(const bench_opts *o);
bool bench_in_list(const char *list, const char *name);
bool bench_workload_selected(const bench_opts *o, int wl);
bool bench_mode_selected(const bench_opts *o, int mode);
bool bench_family_selected(const bench_opts *o, bench_family f);

/* children.c */
json_t *bench_run_child(const bench_opts *o, int wl, int mode, int rep);
void bench_run_all(bench_ctx *c);

/* mock.c */
#define BENCH_MOCK_PYTHON "/usr/bin/python3" /* Debian's, as the tests use */
bool bench_mock_start(double lifetime_s, char *why, size_t whylen);
void bench_mock_stop(void);
void bench_mock_on_exit(void); /* stop it at exit and on fatal signals */

/* stats.c */
double bench_num(json_t *run, const char *key); /* NaN if absent */
bool bench_run_ok(json_t *run);
bool bench_run_is(json_t *run, const char *w, const char *m);
double bench_med(json_t *runs, const char *w, const char *m, const char *key,
                 size_t *nok);
double bench_paired(json_t *runs, const char *w, const char *m,
                    const char *base, const char *key, int reps);

/* report.c */
void bench_report(bench_ctx *c);

/* targets.c */
void bench_targets(bench_ctx *c);
int bench_counts(bench_ctx *c); /* runs off by more than 0.1%: failures */

/* output.c */
void bench_ctx_init(bench_ctx *c, const bench_opts *o);
json_t *bench_real(double v);        /* NaN is not JSON: null */
void bench_ctx_finish(bench_ctx *c); /* writes --json, frees */

#endif
