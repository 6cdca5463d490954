/* gt report, the command and the reader: reads gt's JSON logs (the log
 * backend with log.format = json, gt run's gt-run.PROG.PID.jsonl) line by
 * line into rows per site or per name — objects and bytes reclaimed, ages
 * when gt.track_age was on, what was live at exit when the log says —
 * which report_table.c prints.
 *
 * A log is trusted for nothing: each line is parsed (jansson) and checked
 * whole before anything of it is counted, so a bad line counts nothing;
 * it is reported with its number and skipped. Sums saturate instead of
 * wrapping. Memory follows the rows (sites or names), not the file,
 * except for ages: one (median, weight) pair per group and line. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report_rows.h"
#include "text.h"

#define MAX_WARNINGS 10 /* bad lines reported per file; the rest counted */
#define DEFAULT_TOP 20

const char gt_report_usage[] =
    "gt report [--top N] [--by site|name|stack] FILE...\n"
    "  reads gt's JSON logs (log.format = json; gt run writes\n"
    "  gt-run.PROG.PID.jsonl) and death profiles (gt.profile, .pb.gz) and\n"
    "  prints per site (default), name or call stack (profiles) the\n"
    "  objects and bytes reclaimed, their share, ages when gt.track_age was\n"
    "  on and objects live at exit when the log says; the top N rows\n"
    "  (default 20, 0 for all). FILE - is standard input. Bad lines are\n"
    "  reported with their number and skipped (docs/report.md).\n";
gt_report_state *gt_report_new(gt_report_by by) {
  gt_report_state *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->by = by;
  if (!(r->index = json_object())) {
    free(r);
    return NULL;
  }
  return r;
}

void gt_report_free(gt_report_state *r) {
  if (!r) return;
  for (size_t i = 0; i < r->nrows; i++) {
    free(r->rows[i].name);
    free(r->rows[i].site);
    free(r->rows[i].ms.p);
    free(r->rows[i].gcs.p);
  }
  free(r->rows);
  json_decref(r->index);
  free(r);
}

/* ---- checking a line -------------------------------------------------- */

static bool count_ok(json_t *o, const char *key, bool required) {
  json_t *v = json_object_get(o, key);
  if (!v) return !required;
  return json_is_integer(v) && json_integer_value(v) >= 0;
}

static uint64_t count_of(json_t *o, const char *key) {
  json_int_t v = json_integer_value(json_object_get(o, key));
  return v > 0 ? (uint64_t)v : 0;
}

static bool ages_ok(json_t *a) {
  return !a || (json_is_object(a) && count_ok(a, "min", true) &&
                count_ok(a, "median", true) && count_ok(a, "max", true));
}

/* NULL when g is a group as gt__batch_json writes it (live: as the exit
 * line's), else what is wrong. */
static const char *group_problem(json_t *g, bool live) {
  if (!json_is_object(g)) return "is not an object";
  json_t *name = json_object_get(g, "name"), *site = json_object_get(g, "site");
  if (name && !json_is_string(name) && !json_is_null(name))
    return "has a name that is not a string";
  if (site && !json_is_string(site)) return "has a site that is not a string";
  if (!count_ok(g, "count", true) || !count_ok(g, "bytes", true) ||
      !count_ok(g, "freed", !live) || !count_ok(g, "unreleased", false))
    return "lacks count, bytes or freed as non-negative integers";
  if (!ages_ok(json_object_get(g, "age_ms")) ||
      !ages_ok(json_object_get(g, "age_gcs")))
    return "has ages without min, median and max";
  return NULL;
}

static bool groups_ok(json_t *groups, bool live, char *why, size_t n) {
  if (!json_is_array(groups)) {
    snprintf(why, n, "\"%s\" is not an array", live ? "live" : "groups");
    return false;
  }
  size_t i;
  json_t *g;
  json_array_foreach(groups, i, g) {
    const char *p = group_problem(g, live);
    if (p) {
      snprintf(why, n, "%s[%zu] %s", live ? "live" : "groups", i, p);
      return false;
    }
  }
  return true;
}

static bool batch_ok(json_t *j, char *why, size_t n) {
  static const char *const counts[] = {"collected", "bytes", "freed"};
  for (size_t i = 0; i < sizeof counts / sizeof *counts; i++)
    if (!count_ok(j, counts[i], true)) {
      snprintf(why, n, "\"%s\" is not a non-negative integer", counts[i]);
      return false;
    }
  json_t *est = json_object_get(j, "estimated");
  if ((est && !json_is_boolean(est)) || !count_ok(j, "overflowed", false) ||
      !count_ok(j, "unreleased", false) || !count_ok(j, "merged", false) ||
      !count_ok(j, "first_ms", false) || !count_ok(j, "last_ms", false)) {
    snprintf(why, n,
             "estimated, overflowed, merged, first_ms or last_ms "
             "has the wrong type");
    return false;
  }
  return groups_ok(json_object_get(j, "groups"), false, why, n);
}

/* ---- counting a line --------------------------------------------------- */

static char *printable(json_t *s) {
  size_t n = json_string_length(s);
  char *out = malloc(GT_TEXT_LINE_MAX(n) + 1);
  if (out) out[gt__text_line_putn(out, json_string_value(s), n)] = '\0';
  return out;
}

/* The row of group g, made if new; NULL when out of memory. */
static row *row_for(gt_report_state *r, json_t *g) {
  json_t *jn = json_object_get(g, "name"), *js = json_object_get(g, "site");
  char *name = json_is_string(jn) ? printable(jn) : strdup("(unnamed)");
  char *site = r->by != GT_REPORT_BY_NAME && js ? printable(js) : NULL;
  size_t kn = name ? strlen(name) + (site ? strlen(site) : 0) + 2 : 0;
  char *key = kn ? malloc(kn) : NULL;
  row *found = NULL;
  if (key) { /* '\n' cannot occur in printable text */
    snprintf(key, kn, "%s\n%s", name, site ? site : "");
    json_t *at = json_object_get(r->index, key);
    if (at) found = &r->rows[json_integer_value(at)];
  }
  if (found || !key) goto out;
  if (r->nrows == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 64;
    row *rows = realloc(r->rows, cap * sizeof *rows);
    if (!rows) goto out;
    r->rows = rows;
    r->cap = cap;
  }
  if (json_object_set_new_nocheck(r->index, key,
                                  json_integer((json_int_t)r->nrows)))
    goto out;
  found = &r->rows[r->nrows++];
  *found = (row){.name = name, .site = site};
  name = site = NULL;
out:
  free(name);
  free(site);
  free(key);
  return found;
}

static void ages_add(ages *a, json_t *j, uint64_t weight) {
  if (!j) return;
  uint64_t min = count_of(j, "min"), max = count_of(j, "max");
  if (!a->n || min < a->min) a->min = min;
  if (!a->n || max > a->max) a->max = max;
  if (a->n == a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 8;
    point *p = realloc(a->p, cap * sizeof *p);
    if (!p) return; /* the median leaves this batch out */
    a->p = p;
    a->cap = cap;
  }
  a->p[a->n++] = (point){count_of(j, "median"), weight ? weight : 1};
}

static void group_add(gt_report_state *r, json_t *g, bool live) {
  row *w = row_for(r, g);
  if (!w) return; /* out of memory: in the totals, not in a row */
  uint64_t count = count_of(g, "count"), bytes = count_of(g, "bytes");
  if (live) {
    w->live = sat(w->live, count);
    w->live_bytes = sat(w->live_bytes, bytes);
    return;
  }
  w->objects = sat(w->objects, count);
  w->bytes = sat(w->bytes, bytes);
  w->freed = sat(w->freed, count_of(g, "freed"));
  w->unreleased = sat(w->unreleased, count_of(g, "unreleased"));
  json_t *ms = json_object_get(g, "age_ms");
  r->aged |= ms != NULL;
  ages_add(&w->ms, ms, count);
  ages_add(&w->gcs, json_object_get(g, "age_gcs"), count);
}

static void span_add(gt_report_state *r, json_t *j) {
  int64_t first = (int64_t)count_of(j, "first_ms");
  int64_t last = (int64_t)count_of(j, "last_ms");
  if (first && (!r->first_ms || first < r->first_ms)) r->first_ms = first;
  if (last > r->last_ms) r->last_ms = last;
}

static void batch_add(gt_report_state *r, json_t *j) {
  r->batches = sat(r->batches, sat(count_of(j, "merged"), 1));
  r->objects = sat(r->objects, count_of(j, "collected"));
  r->bytes = sat(r->bytes, count_of(j, "bytes"));
  r->freed = sat(r->freed, count_of(j, "freed"));
  r->unreleased = sat(r->unreleased, count_of(j, "unreleased"));
  r->overflowed = sat(r->overflowed, count_of(j, "overflowed"));
  r->estimated |= json_is_true(json_object_get(j, "estimated"));
  span_add(r, j);
  size_t i;
  json_t *g;
  json_array_foreach(json_object_get(j, "groups"), i, g) group_add(r, g, false);
}

/* The line the log backend writes at gt_shutdown (src/exit.h): totals,
 * and the live objects when that exit counted them. */
static bool exit_ok(json_t *j, char *why, size_t n) {
  json_t *e = json_object_get(j, "exit");
  if (!json_is_object(e) || !count_ok(e, "live", false) ||
      !count_ok(e, "live_bytes", false) || !count_ok(e, "ms", false) ||
      !count_ok(e, "alloc_sample_every", false)) {
    snprintf(why, n, "\"exit\" is not an object of non-negative counts");
    return false;
  }
  json_t *live = json_object_get(j, "live");
  return !live || groups_ok(live, true, why, n);
}

static void exit_add(gt_report_state *r, json_t *j) {
  json_t *e = json_object_get(j, "exit");
  int64_t ms = (int64_t)count_of(e, "ms");
  if (ms > r->last_ms) r->last_ms = ms;
  if (!json_object_get(e, "live")) return; /* not counted at that exit */
  r->exits++;
  /* The totals count tracked objects; with gt.alloc_sample_every the live
   * groups (and every batch) are estimates: so are the totals shown. */
  uint64_t every = count_of(e, "alloc_sample_every");
  every = every ? every : 1;
  if (every > 1) r->estimated = true;
  r->live = sat(r->live, mul(count_of(e, "live"), every));
  r->live_bytes = sat(r->live_bytes, mul(count_of(e, "live_bytes"), every));
  size_t i;
  json_t *g;
  json_array_foreach(json_object_get(j, "live"), i, g) group_add(r, g, true);
}

/* Counts one line; false with why filled when it is not one of gt's. */
static bool take_line(gt_report_state *r, const char *line, size_t len,
                      char *why, size_t n) {
  const char *nul = memchr(line, '\0', len);
  if (nul) { /* jansson would call it the end of the input */
    snprintf(why, n, "binary data (a NUL byte at column %zu)",
             (size_t)(nul - line) + 1);
    return false;
  }
  json_error_t err;
  json_t *j = json_loadb(line, len, 0, &err);
  if (!j) {
    snprintf(why, n, "not JSON (%s, column %d)", err.text, err.column);
    return false;
  }
  bool ok = gt__report_take(r, j, why, n);
  json_decref(j);
  return ok;
}

bool gt__report_take(gt_report_state *r, json_t *j, char *why, size_t n) {
  bool ok = false;
  if (!json_is_object(j))
    snprintf(why, n, "not a JSON object");
  else if (json_object_get(j, "exit"))
    ok = exit_ok(j, why, n);
  else if (!json_is_integer(json_object_get(j, "batch")))
    snprintf(why, n, "not a gt batch (no \"batch\" number)");
  else
    ok = batch_ok(j, why, n);
  if (ok && json_object_get(j, "exit"))
    exit_add(r, j);
  else if (ok)
    batch_add(r, j);
  return ok;
}

static bool blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return false;
  return true;
}

bool gt_report_read(gt_report_state *r, FILE *in, const char *name,
                    FILE *warn) {
  char *line = NULL, why[256];
  size_t cap = 0, lineno = 0, bad = 0;
  ssize_t got;
  r->files++;
  while ((got = getline(&line, &cap, in)) >= 0) {
    size_t len = (size_t)got;
    bool nl = len && line[len - 1] == '\n';
    lineno++;
    if (blank(line, len - nl) || take_line(r, line, len - nl, why, sizeof why))
      continue;
    if (++bad <= MAX_WARNINGS)
      fprintf(warn, "gt report: %s:%zu: %s%s; skipped\n", name, lineno,
              nl ? "" : "truncated (no newline at its end): ", why);
  }
  bool read_ok = !ferror(in);
  if (!read_ok)
    fprintf(warn, "gt report: %s: read error after line %zu: %s\n", name,
            lineno, strerror(errno));
  if (bad > MAX_WARNINGS)
    fprintf(warn, "gt report: %s: %zu more bad lines skipped\n", name,
            bad - MAX_WARNINGS);
  r->bad += bad;
  free(line);
  return read_ok;
}

/* ---- the command ------------------------------------------------------- */

typedef struct report_args {
  gt_report_by by;
  size_t top;
  int first_file; /* index in argv */
} report_args;

static int usage_error(const char *what, const char *arg) {
  fprintf(stderr, "gt report: %s%s\nusage: %s", what, arg ? arg : "",
          gt_report_usage);
  return 2;
}

/* --by VALUE, --by=VALUE; the index of the last argument used, or -1. */
static int option_value(int argc, char **argv, int i, const char *opt,
                        const char **value) {
  size_t n = strlen(opt);
  if (strncmp(argv[i], opt, n) != 0) return -1;
  if (argv[i][n] == '=') {
    *value = argv[i] + n + 1;
    return i;
  }
  if (argv[i][n] != '\0' || i + 1 >= argc) return -1;
  *value = argv[i + 1];
  return i + 1;
}

static int parse_by(const char *v, report_args *a) {
  if (!strcmp(v, "site"))
    a->by = GT_REPORT_BY_SITE;
  else if (!strcmp(v, "name"))
    a->by = GT_REPORT_BY_NAME;
  else if (!strcmp(v, "stack"))
    a->by = GT_REPORT_BY_STACK;
  else
    return usage_error("--by wants site, name or stack, not ", v);
  return 0;
}

static int parse_top(const char *v, report_args *a) {
  char *end;
  errno = 0;
  unsigned long long n = strtoull(v, &end, 10);
  if (!*v || *end || *v == '-' || errno || n > SIZE_MAX)
    return usage_error("--top wants a number of rows (0: all), not ", v);
  a->top = (size_t)n;
  return 0;
}

static int parse(int argc, char **argv, report_args *a) {
  *a = (report_args){GT_REPORT_BY_SITE, DEFAULT_TOP, argc};
  int i = 0;
  for (; i < argc; i++) {
    const char *v = NULL;
    int j, rc;
    if (!strcmp(argv[i], "--")) {
      i++;
      break;
    } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      fputs(gt_report_usage, stdout);
      return -1;
    } else if ((j = option_value(argc, argv, i, "--by", &v)) >= 0) {
      if ((rc = parse_by(v, a))) return rc;
    } else if ((j = option_value(argc, argv, i, "--top", &v)) >= 0) {
      if ((rc = parse_top(v, a))) return rc;
    } else if (argv[i][0] == '-' && argv[i][1]) {
      return usage_error("unknown option, or one without its value: ", argv[i]);
    } else {
      break;
    }
    i = j;
  }
  a->first_file = i;
  return i < argc ? 0 : usage_error("no file to read", NULL);
}

/* Reads one file into r; false when it cannot be opened or read. */
static bool read_file(gt_report_state *r, const char *path) {
  if (!strcmp(path, "-")) return gt_report_read(r, stdin, "(stdin)", stderr);
  FILE *f = fopen(path, "re");
  if (!f) {
    fprintf(stderr, "gt report: %s: %s\n", path, strerror(errno));
    return false;
  }
  /* A profile is gzipped (its magic number); a log is text. */
  int c0 = getc(f), c1 = getc(f);
  if (c0 == 0x1f && c1 == 0x8b) {
    fclose(f);
    return gt_report_read_profile(r, path, stderr);
  }
  rewind(f);
  if (r->by == GT_REPORT_BY_STACK)
    fprintf(stderr,
            "gt report: %s: a JSON log names a site by its innermost frame "
            "only: its rows are by site (whole stacks are in profiles)\n",
            path);
  bool ok = gt_report_read(r, f, path, stderr);
  fclose(f);
  return ok;
}

int gt_report_main(int argc, char **argv) {
  report_args a;
  int rc = parse(argc, argv, &a);
  if (rc) return rc < 0 ? 0 : rc;
  gt_report_state *r = gt_report_new(a.by);
  if (!r) {
    fprintf(stderr, "gt report: out of memory\n");
    return 1;
  }
  int status = 0;
  for (int i = a.first_file; i < argc; i++)
    if (!read_file(r, argv[i])) status = 1;
  gt_report_print(r, stdout, a.top);
  gt_report_free(r);
  return status;
}
