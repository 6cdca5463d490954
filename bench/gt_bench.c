/* gt-bench: runs workloads under modes, each (workload, mode, repetition) in
 * a fresh child process, interleaving modes (A B C A B C ...), and reports
 * medians, ratios to `plain` and to the raw mechanism each gt mode wraps,
 * and PASS/MISS for the targets of issue 5. Writes all runs and the summary
 * as JSON (--json FILE). This file is main: the phases live in the files
 * listed in driver.h, the child in child.h's.
 *
 *   gt-bench [--quick] [--reps N] [--workloads a,b] [--modes x,y]
 *            [--depth D] [--thread-depth D] [--threads N] [--churn N]
 *            [--graph N] [--graph-size N] [--ring-cap N] [--ring-events N]
 *            [--final-collections N] [--e2e-n N] [--e2e-seed-n N]
 *            [--timeout S] [--json FILE] [--smoke]
 *   gt-bench [same parameters] --child WORKLOAD MODE REP    (internal)
 *
 * Exit status: 0 when every run succeeded (and, with --smoke, the gt modes
 * reported every allocated object); 1 otherwise. Targets missed are printed
 * as MISS and do not change the exit status: timing is not a test.
 *
 * Workload e2e (modes seed and gt) needs the loopback TLS mock of Infobip
 * (mock.c); without /usr/bin/python3, openssl or tests/servers/ it is
 * skipped and says so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

int main(int argc, char **argv) {
  bench_opts o;
  bench_opts_init(&o);
  int i = bench_parse(&o, argc, argv, 1);
  if (i < argc && !strcmp(argv[i], "--child")) {
    if (argc - i < 4) bench_usage();
    return bench_child(argv[i + 1], argv[i + 2], atoi(argv[i + 3]), &o.p);
  }
  if (i != argc) bench_usage();
  bench_check_lists(&o);

  bench_ctx c;
  bench_ctx_init(&c, &o);
  bench_run_all(&c);
  bench_report(&c);
  bench_targets(&c);
  int inexact = bench_counts(&c);
  int failures = c.failures;
  double total = bench_now_s() - c.t_start;
  bench_ctx_finish(&c);
  fprintf(stderr, "total %.1f s, %d failed run(s)\n", total, failures);
  if (failures) return 1;
  if (o.smoke && inexact) return 1;
  return 0;
}
