/* gt-bench driver: the JSON document --json writes (bench/out/results.json
 * for run.sh, read by plot.sh): "machine", "params", "runs" (every child's
 * line as it printed it, plus the driver's failure notes), "summary" (the
 * tables' rows, report.c), "targets" (targets.c), "e2e_skipped" (why).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#ifndef GC_THREADS
#define GC_THREADS
#endif
#include <gc/gc.h>

#include "driver.h"

json_t *bench_real(double v) {
  return isnan(v) ? json_null() : json_real(v);
}

static void cpu_model(json_t *mi) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[512];
  while (f && fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10) != 0) continue;
    char *c = strchr(line, ':');
    if (c) {
      c += 2;
      c[strcspn(c, "\n")] = '\0';
      json_object_set_new(mi, "cpu", json_string(c));
    }
    break;
  }
  if (f) fclose(f);
}

static json_t *machine_info(void) {
  json_t *mi = json_object();
  json_object_set_new(mi, "nproc", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
  cpu_model(mi);
  struct utsname u;
  if (uname(&u) == 0) {
    char k[400];
    snprintf(k, sizeof k, "%s %s %s", u.sysname, u.release, u.machine);
    json_object_set_new(mi, "kernel", json_string(k));
  }
  unsigned v = GC_get_version();
  char gv[32];
  snprintf(gv, sizeof gv, "%u.%u.%u", v >> 16, (v >> 8) & 0xff, v & 0xff);
  json_object_set_new(mi, "bdwgc", json_string(gv));
  time_t t = time(NULL);
  char ts[64];
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
  json_object_set_new(mi, "date", json_string(ts));
  return mi;
}

static json_t *params_json(const bench_opts *o) {
  json_t *p = json_object();
  for (int k = 0; k < BP_COUNT; k++)
    json_object_set_new(p, bench_param_list[k].json,
                        json_integer((json_int_t)bench_param_get(&o->p, k)));
  json_object_set_new(p, "reps", json_integer(o->reps));
  json_object_set_new(p, "quick", json_boolean(o->quick));
  json_object_set_new(p, "e2e_rate_per_minute", json_integer(BENCH_E2E_RATE));
  return p;
}

void bench_ctx_init(bench_ctx *c, const bench_opts *o) {
  memset(c, 0, sizeof *c);
  c->o = o;
  c->root = json_object();
  json_object_set_new(c->root, "machine", machine_info());
  json_object_set_new(c->root, "params", params_json(o));
  c->runs = json_array();
  json_object_set(c->root, "runs", c->runs);
  c->summary = json_array();
  json_object_set(c->root, "summary", c->summary);
  c->t_start = bench_now_s();
}

void bench_ctx_finish(bench_ctx *c) {
  const char *path = c->o->json;
  if (path) {
    if (json_dump_file(c->root, path, JSON_INDENT(1) | JSON_REAL_PRECISION(6)))
      fprintf(stderr, "cannot write %s\n", path);
    else
      fprintf(stderr, "wrote %s\n", path);
  }
  json_decref(c->runs);
  json_decref(c->summary);
  json_decref(c->root);
}
