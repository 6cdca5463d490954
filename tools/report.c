/* gt report: reads gt's JSON logs (the log backend with log.format = json,
 * gt run's gt-run.PROG.PID.jsonl) line by line and prints, per site or
 * per name, the objects and bytes reclaimed, their share, their ages when
 * gt.track_age was on, and what was live at exit when the log says.
 *
 * A log is trusted for nothing: each line is parsed (jansson) and checked
 * whole before anything of it is counted, so a bad line counts nothing;
 * it is reported with its number and skipped. Sums saturate instead of
 * wrapping. Memory follows the rows (sites or names), not the file,
 * except for ages: one (median, weight) pair per group and line. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report.h"
#include "text.h"

#define MAX_WARNINGS 10 /* bad lines reported per file; the rest counted */
#define DEFAULT_TOP 20

const char gt_report_usage[] =
    "gt report [--top N] [--by site|name|stack] FILE...\n"
    "  reads gt's JSON logs (log.format = json; gt run writes\n"
    "  gt-run.PROG.PID.jsonl) and prints per site (default) or per name the\n"
    "  objects and bytes reclaimed, their share, ages when gt.track_age was\n"
    "  on and objects live at exit when the log says; the top N rows\n"
    "  (default 20, 0 for all). FILE - is standard input. Bad lines are\n"
    "  reported with their number and skipped (docs/report.md).\n";

/* One batch's median age for a group and the objects behind it. */
typedef struct point {
  uint64_t v, w;
} point;

typedef struct ages {
  uint64_t min, max, med; /* med: found once the rows are all read */
  point *p;
  size_t n, cap;
} ages;

typedef struct row {
  char *name, *site; /* printable (text.h), site NULL when none */
  uint64_t objects, bytes, freed, live, live_bytes;
  ages ms, gcs;
} row;

struct gt_report {
  gt_report_by by;
  json_t *index; /* row key -> index in rows */
  row *rows;
  size_t nrows, cap;
  uint64_t batches, objects, bytes, freed, overflowed;
  uint64_t live, live_bytes, exits;
  bool estimated, aged;
  int64_t first_ms, last_ms; /* wall clock; 0: none seen */
  size_t files, bad;
};

static uint64_t sat(uint64_t a, uint64_t b) {
  return a + b < a ? UINT64_MAX : a + b;
}

gt_report *gt_report_new(gt_report_by by) {
  gt_report *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->by = by;
  if (!(r->index = json_object())) {
    free(r);
    return NULL;
  }
  return r;
}

void gt_report_free(gt_report *r) {
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
      !count_ok(g, "freed", !live))
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
      !count_ok(j, "merged", false) || !count_ok(j, "first_ms", false) ||
      !count_ok(j, "last_ms", false)) {
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
static row *row_for(gt_report *r, json_t *g) {
  json_t *jn = json_object_get(g, "name"), *js = json_object_get(g, "site");
  char *name = json_is_string(jn) ? printable(jn) : strdup("(unnamed)");
  char *site = r->by == GT_REPORT_BY_SITE && js ? printable(js) : NULL;
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

static void group_add(gt_report *r, json_t *g, bool live) {
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
  json_t *ms = json_object_get(g, "age_ms");
  r->aged |= ms != NULL;
  ages_add(&w->ms, ms, count);
  ages_add(&w->gcs, json_object_get(g, "age_gcs"), count);
}

static void span_add(gt_report *r, json_t *j) {
  int64_t first = (int64_t)count_of(j, "first_ms");
  int64_t last = (int64_t)count_of(j, "last_ms");
  if (first && (!r->first_ms || first < r->first_ms)) r->first_ms = first;
  if (last > r->last_ms) r->last_ms = last;
}

static void batch_add(gt_report *r, json_t *j) {
  r->batches = sat(r->batches, sat(count_of(j, "merged"), 1));
  r->objects = sat(r->objects, count_of(j, "collected"));
  r->bytes = sat(r->bytes, count_of(j, "bytes"));
  r->freed = sat(r->freed, count_of(j, "freed"));
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
      !count_ok(e, "live_bytes", false) || !count_ok(e, "ms", false)) {
    snprintf(why, n, "\"exit\" is not an object of non-negative counts");
    return false;
  }
  json_t *live = json_object_get(j, "live");
  return !live || groups_ok(live, true, why, n);
}

static void exit_add(gt_report *r, json_t *j) {
  json_t *e = json_object_get(j, "exit");
  int64_t ms = (int64_t)count_of(e, "ms");
  if (ms > r->last_ms) r->last_ms = ms;
  if (!json_object_get(e, "live")) return; /* not counted at that exit */
  r->exits++;
  r->live = sat(r->live, count_of(e, "live"));
  r->live_bytes = sat(r->live_bytes, count_of(e, "live_bytes"));
  size_t i;
  json_t *g;
  json_array_foreach(json_object_get(j, "live"), i, g) group_add(r, g, true);
}

/* Counts one line; false with why filled when it is not one of gt's. */
static bool take_line(gt_report *r, const char *line, size_t len, char *why,
                      size_t n) {
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
  json_decref(j);
  return ok;
}

static bool blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return false;
  return true;
}

bool gt_report_read(gt_report *r, FILE *in, const char *name, FILE *warn) {
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

/* ---- printing ---------------------------------------------------------- */

#define CELL 48

/* 1234567 as "1,234,567". */
static const char *num(uint64_t v, char *buf) {
  char raw[32];
  int n = snprintf(raw, sizeof raw, "%" PRIu64, v), o = 0;
  for (int i = 0; i < n; i++) {
    if (i && (n - i) % 3 == 0) buf[o++] = ',';
    buf[o++] = raw[i];
  }
  buf[o] = '\0';
  return buf;
}

static const char *size_text(uint64_t b, char *buf) {
  static const char *const units[] = {"KB", "MB", "GB", "TB", "PB", "EB"};
  if (b < 1000) {
    snprintf(buf, CELL, "%" PRIu64 " B", b);
    return buf;
  }
  double v = (double)b / 1000;
  size_t u = 0;
  for (; v >= 999.95 && u + 1 < sizeof units / sizeof *units; u++)
    v /= 1000;
  snprintf(buf, CELL, "%.1f %s", v, units[u]);
  return buf;
}

static const char *share(uint64_t part, uint64_t whole, char *buf) {
  if (!whole) return "-";
  snprintf(buf, CELL, "%.1f%%", 100.0 * (double)part / (double)whole);
  return buf;
}

static const char *duration(int64_t ms, char *buf, size_t n) {
  if (ms < 1000)
    snprintf(buf, n, "%" PRId64 " ms", ms);
  else if (ms < 120000)
    snprintf(buf, n, "%.1f s", (double)ms / 1e3);
  else if (ms < 7200000)
    snprintf(buf, n, "%.1f min", (double)ms / 6e4);
  else
    snprintf(buf, n, "%.1f h", (double)ms / 3.6e6);
  return buf;
}

static int by_value(const void *x, const void *y) {
  const point *a = x, *b = y;
  return a->v < b->v ? -1 : a->v > b->v;
}

/* The median of the batches' medians, each weighted by its objects. */
static uint64_t median(ages *a) {
  if (!a->n) return 0;
  qsort(a->p, a->n, sizeof *a->p, by_value);
  uint64_t total = 0, seen = 0;
  for (size_t i = 0; i < a->n; i++)
    total = sat(total, a->p[i].w);
  for (size_t i = 0; i < a->n; i++) {
    seen = sat(seen, a->p[i].w);
    if (seen >= total / 2 + total % 2) return a->p[i].v;
  }
  return a->max;
}

/* Part of a row's ages: 0 min, 1 the median estimate, 2 max. */
static const char *age_cell(const ages *a, int part, char *buf) {
  if (!a->n) return "";
  uint64_t v = part == 0 ? a->min : part == 1 ? a->med : a->max;
  snprintf(buf, CELL, "%s%" PRIu64, part == 1 ? "~" : "", v);
  return buf;
}

/* The rows' order: most objects first, then most live, most bytes. */
static int by_objects(const void *x, const void *y) {
  const row *a = x, *b = y;
  if (a->objects != b->objects) return a->objects < b->objects ? 1 : -1;
  if (a->live != b->live) return a->live < b->live ? 1 : -1;
  if (a->bytes != b->bytes) return a->bytes < b->bytes ? 1 : -1;
  int c = strcmp(a->name, b->name);
  return c ? c : strcmp(a->site ? a->site : "", b->site ? b->site : "");
}

/* A site's label: its name and where, the name alone when the site
 * already starts with it (a stack site: "w3m!fn@0x9bf80+0xb"). */
static const char *label(const row *w, char *buf, size_t n) {
  if (!w->site || !*w->site) return w->name;
  if (!strncmp(w->site, w->name, strlen(w->name))) return w->site;
  snprintf(buf, n, "%s (%s)", w->name, w->site);
  return buf;
}

/* The table's columns: (title, shown when, the cell of row w). */
#define COLUMNS(X)                                                             \
  X("objects", true, num(w->objects, c))                                       \
  X("share", true, share(w->objects, r->objects, c))                           \
  X("bytes", true, size_text(w->bytes, c))                                     \
  X("share", true, share(w->bytes, r->bytes, c))                               \
  X("freed", r->freed > 0, num(w->freed, c))                                   \
  X("live at exit", r->exits > 0, num(w->live, c))                             \
  X("age ms: min", r->aged, age_cell(&w->ms, 0, c))                            \
  X("~med", r->aged, age_cell(&w->ms, 1, c))                                   \
  X("max", r->aged, age_cell(&w->ms, 2, c))                                    \
  X("GCs: min", r->aged, age_cell(&w->gcs, 0, c))                              \
  X("~med", r->aged, age_cell(&w->gcs, 1, c))                                  \
  X("max", r->aged, age_cell(&w->gcs, 2, c))

enum {
#define COL_ENUM(title, shown, cell) +1
  NCOLS = 0 COLUMNS(COL_ENUM)
#undef COL_ENUM
};

static void cells(gt_report *r, row *w, char out[NCOLS][CELL]) {
  char c[CELL];
  int i = 0;
#define COL_CELL(title, shown, cell) snprintf(out[i++], CELL, "%s", (cell));
  COLUMNS(COL_CELL)
#undef COL_CELL
}

static void shown_columns(gt_report *r, bool shown[NCOLS],
                          size_t width[NCOLS]) {
  int i = 0;
#define COL_SHOWN(title, show, cell)                                           \
  shown[i] = (show), width[i++] = strlen(title);
  COLUMNS(COL_SHOWN)
#undef COL_SHOWN
}

static void print_row(FILE *out, char c[NCOLS][CELL], const bool shown[NCOLS],
                      const size_t width[NCOLS], const char *text) {
  for (int i = 0; i < NCOLS; i++)
    if (shown[i]) fprintf(out, "%*s  ", (int)width[i], c[i]);
  fprintf(out, "%s\n", text);
}

/* ", 2026-11-30 14:23:48 to 14:23:49 UTC (1.2 s)"; nothing without
 * times, or with times no calendar holds. */
static void print_span(gt_report *r, FILE *out) {
  if (!r->first_ms || r->last_ms < r->first_ms) return;
  char from[64], to[64], d[CELL];
  time_t t0 = (time_t)(r->first_ms / 1000), t1 = (time_t)(r->last_ms / 1000);
  struct tm tm0, tm1;
  if (!gmtime_r(&t0, &tm0) || !gmtime_r(&t1, &tm1)) return;
  bool same_day = tm0.tm_yday == tm1.tm_yday && tm0.tm_year == tm1.tm_year;
  if (!strftime(from, sizeof from, "%Y-%m-%d %H:%M:%S", &tm0) ||
      !strftime(to, sizeof to, same_day ? "%H:%M:%S" : "%Y-%m-%d %H:%M:%S",
                &tm1))
    return;
  fprintf(out, ", %s to %s UTC (%s)", from, to,
          duration(r->last_ms - r->first_ms, d, sizeof d));
}

static void print_header(gt_report *r, FILE *out) {
  char a[CELL], b[CELL], f[CELL], l[CELL], lb[CELL], n[CELL];
  fprintf(out, "gt report: %s object%s reclaimed (%s), %s freed",
          num(r->objects, a), r->objects == 1 ? "" : "s",
          size_text(r->bytes, b), num(r->freed, f));
  if (r->exits)
    fprintf(out, ", %s live at exit (%s)", num(r->live, l),
            size_text(r->live_bytes, lb));
  if (r->batches)
    fprintf(out, "; %s batch%s", num(r->batches, n),
            r->batches == 1 ? "" : "es");
  else
    fprintf(out, "; no batches");
  fprintf(out, " in %zu file%s", r->files, r->files == 1 ? "" : "s");
  print_span(r, out);
  if (r->estimated) fprintf(out, "; estimates (gt.alloc_sample_every)");
  if (r->overflowed && r->aged)
    fprintf(out, "; %s objects came without their age (ring full)",
            num(r->overflowed, a));
  if (r->bad)
    fprintf(out, "; %zu bad line%s skipped", r->bad, r->bad == 1 ? "" : "s");
  fprintf(out, "\n");
}

/* The first n rows (sorted), the top of them and one for the rest. */
static void print_table(gt_report *r, FILE *out, size_t n, size_t top) {
  size_t shown_rows = top && top < n ? top : n;
  bool shown[NCOLS];
  size_t width[NCOLS];
  shown_columns(r, shown, width);
  char(*c)[NCOLS][CELL] = calloc(shown_rows + 1, sizeof *c);
  if (!c) return;
  row rest = {.name = ""};
  for (size_t i = shown_rows; i < n; i++) {
    rest.objects = sat(rest.objects, r->rows[i].objects);
    rest.bytes = sat(rest.bytes, r->rows[i].bytes);
    rest.freed = sat(rest.freed, r->rows[i].freed);
    rest.live = sat(rest.live, r->rows[i].live);
  }
  for (size_t i = 0; i <= shown_rows; i++) {
    cells(r, i < shown_rows ? &r->rows[i] : &rest, c[i]);
    for (int k = 0; k < NCOLS; k++)
      if (strlen(c[i][k]) > width[k]) width[k] = strlen(c[i][k]);
  }
  char titles[NCOLS][CELL];
  int k = 0;
#define COL_TITLE(title, show, cell) snprintf(titles[k++], CELL, "%s", title);
  COLUMNS(COL_TITLE)
#undef COL_TITLE
  const char *what = r->by == GT_REPORT_BY_SITE ? "site" : "name";
  print_row(out, titles, shown, width, what);
  for (size_t i = 0; i < shown_rows; i++) {
    const row *w = &r->rows[i];
    size_t len = strlen(w->name) + (w->site ? strlen(w->site) : 0) + 4;
    char *text = malloc(len);
    print_row(out, c[i], shown, width, text ? label(w, text, len) : w->name);
    free(text);
  }
  if (shown_rows < n) {
    char buf[2 * CELL];
    snprintf(buf, sizeof buf, "(%zu more %ss)", n - shown_rows, what);
    print_row(out, c[shown_rows], shown, width, buf);
  }
  free(c);
}

/* Most live first: the rows holding live objects come first. */
static int by_live(const void *x, const void *y) {
  const row *a = x, *b = y;
  if (a->live != b->live) return a->live < b->live ? 1 : -1;
  return by_objects(x, y);
}

void gt_report_print(gt_report *r, FILE *out, size_t top) {
  print_header(r, out);
  if (!r->nrows) return;
  for (size_t i = 0; i < r->nrows; i++) {
    r->rows[i].ms.med = median(&r->rows[i].ms);
    r->rows[i].gcs.med = median(&r->rows[i].gcs);
  }
  qsort(r->rows, r->nrows, sizeof *r->rows, by_objects);
  print_table(r, out, r->nrows, top);
  if (!r->live) return;
  /* What was never reclaimed has its own table: those sites often
   * reclaim little and would not show above. */
  qsort(r->rows, r->nrows, sizeof *r->rows, by_live);
  size_t n = 0;
  while (n < r->nrows && r->rows[n].live)
    n++;
  fprintf(out, "\nlive at exit, most first:\n");
  print_table(r, out, n, top);
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
    return usage_error("--by stack needs a profile (gt.profile, .pb.gz); a "
                       "JSON log names each site by its innermost frame "
                       "only: use --by site",
                       NULL);
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
static bool read_file(gt_report *r, const char *path) {
  if (!strcmp(path, "-")) return gt_report_read(r, stdin, "(stdin)", stderr);
  FILE *f = fopen(path, "re");
  if (!f) {
    fprintf(stderr, "gt report: %s: %s\n", path, strerror(errno));
    return false;
  }
  bool ok = gt_report_read(r, f, path, stderr);
  fclose(f);
  return ok;
}

int gt_report_main(int argc, char **argv) {
  report_args a;
  int rc = parse(argc, argv, &a);
  if (rc) return rc < 0 ? 0 : rc;
  gt_report *r = gt_report_new(a.by);
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
