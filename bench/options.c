/* gt-bench driver: the command line. The parameters come from BENCH_PARAMS
 * and the names of --workloads/--modes from the tables of bench.h, so the
 * usage text, the parser and the lists cannot disagree.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

void bench_opts_init(bench_opts *o) {
  memset(o, 0, sizeof *o);
  o->reps = 3;
  o->timeout_s = 150;
  bench_params_default(&o->p);
}

static void usage_modes(bench_family f, const char *label) {
  fprintf(stderr, "%s:\n", label);
  for (int m = 0; m < BM_COUNT; m++)
    if (bench_modes[m].family == f)
      fprintf(stderr, "  %-19s %s\n", bench_modes[m].name, bench_modes[m].what);
}

_Noreturn void bench_usage(void) {
  fprintf(stderr, "usage: gt-bench [--quick] [--reps N] [--workloads a,b] "
                  "[--modes x,y]\n ");
  for (int i = 0; i < BP_COUNT; i++)
    fprintf(stderr, " [%s N]%s", bench_param_list[i].option,
            i % 4 == 3 ? "\n " : "");
  fprintf(stderr, "%s [--timeout S] [--json FILE] [--smoke]\nworkloads:",
          BP_COUNT % 4 ? "\n " : "");
  for (int w = 0; w < BW_COUNT; w++)
    fprintf(stderr, " %s", bench_workloads[w].name);
  fprintf(stderr, "\n");
  usage_modes(BENCH_ALLOC, "modes");
  usage_modes(BENCH_E2E, "modes of e2e");
  exit(2);
}

static unsigned long long num(const char *s) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno || *end || end == s) bench_usage();
  return v;
}

/* An option taking a value: the table's parameters, then the driver's. */
static bool parse_valued(bench_opts *o, const char *a, const char *v) {
  for (int k = 0; k < BP_COUNT; k++) {
    if (strcmp(a, bench_param_list[k].option) == 0) {
      bench_param_set(&o->p, k, num(v));
      return true;
    }
  }
  if (strcmp(a, "--reps") == 0)
    o->reps = (int)num(v);
  else if (strcmp(a, "--timeout") == 0)
    o->timeout_s = (double)num(v);
  else if (strcmp(a, "--workloads") == 0)
    o->workloads = v;
  else if (strcmp(a, "--modes") == 0)
    o->modes = v;
  else if (strcmp(a, "--json") == 0)
    o->json = v;
  else
    return false;
  return true;
}

static void check_ranges(const bench_opts *o) {
  const bench_params *p = &o->p;
  if (p->depth < 4 || p->depth > 24 || p->thread_depth < 4 ||
      p->thread_depth > 24 || o->reps < 1 || p->graph_size < 1 ||
      p->e2e_n < 1 || p->e2e_seed_n < 1)
    bench_usage();
}

/* Parses argv from index i; returns the index of the first non-option
 * ("--child" or an operand). */
int bench_parse(bench_opts *o, int argc, char **argv, int i) {
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--child") == 0) break;
    if (strcmp(a, "--quick") == 0) {
      bench_params_quick(&o->p);
      o->quick = true;
    } else if (strcmp(a, "--smoke") == 0) {
      o->smoke = true;
    } else if (a[0] != '-') {
      break;
    } else if (i + 1 >= argc || !parse_valued(o, a, argv[i + 1])) {
      bench_usage();
    } else {
      i++;
    }
  }
  check_ranges(o);
  return i;
}

bool bench_in_list(const char *list, const char *name) {
  if (!list) return true;
  size_t n = strlen(name);
  for (const char *s = list; *s;) {
    size_t len = strcspn(s, ",");
    if (len == n && strncmp(s, name, n) == 0) return true;
    s += len + (s[len] == ',');
  }
  return false;
}

static bool known_name(const char *s, size_t len, bool modes) {
  int n = modes ? BM_COUNT : BW_COUNT;
  for (int k = 0; k < n; k++) {
    const char *name = modes ? bench_modes[k].name : bench_workloads[k].name;
    if (strlen(name) == len && strncmp(name, s, len) == 0) return true;
  }
  return false;
}

/* Every name of --workloads and --modes must be known. */
void bench_check_lists(const bench_opts *o) {
  for (int modes = 0; modes < 2; modes++) {
    const char *list = modes ? o->modes : o->workloads;
    for (const char *s = list; s && *s;) {
      size_t len = strcspn(s, ",");
      if (!known_name(s, len, modes)) bench_usage();
      s += len + (s[len] == ',');
    }
  }
}

bool bench_workload_selected(const bench_opts *o, int wl) {
  return bench_in_list(o->workloads, bench_workloads[wl].name);
}

/* The ring has one mode: the pipeline workload runs whatever --modes says. */
bool bench_mode_selected(const bench_opts *o, int mode) {
  return bench_modes[mode].family == BENCH_RING ||
         bench_in_list(o->modes, bench_modes[mode].name);
}

bool bench_family_selected(const bench_opts *o, bench_family f) {
  for (int m = 0; m < BM_COUNT; m++)
    if (bench_modes[m].family == f && bench_mode_selected(o, m)) return true;
  return false;
}
