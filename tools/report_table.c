/* gt report's table (report.h): the header line with the totals and the
 * time span, then a row per site or name, most objects first, and a
 * second table of what was live at exit. Columns are one list (COLUMNS);
 * a column is shown only when the logs had something for it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "delivery/render.h"
#include "report_rows.h"

#define CELL 48

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
  X("objects", true, gt__fmt_count(w->objects, c))                             \
  X("share", true, share(w->objects, r->objects, c))                           \
  X("bytes", true, size_text(w->bytes, c))                                     \
  X("share", true, share(w->bytes, r->bytes, c))                               \
  X("freed", r->freed > 0, gt__fmt_count(w->freed, c))                         \
  X("unreleased", r->unreleased > 0, gt__fmt_count(w->unreleased, c))          \
  X("live at exit", r->exits > 0, gt__fmt_count(w->live, c))                   \
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

static void cells(gt_report_state *r, row *w, char out[NCOLS][CELL]) {
  char c[CELL];
  int i = 0;
#define COL_CELL(title, shown, cell) snprintf(out[i++], CELL, "%s", (cell));
  COLUMNS(COL_CELL)
#undef COL_CELL
}

static void shown_columns(gt_report_state *r, bool shown[NCOLS],
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
static void print_span(gt_report_state *r, FILE *out) {
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
          gt__fmt_ms(r->last_ms > r->first_ms
                         ? (uint64_t)(r->last_ms - r->first_ms)
                         : 0,
                     d, sizeof d));
}

static void print_header(gt_report_state *r, FILE *out) {
  char a[CELL], b[CELL], f[CELL], l[CELL], lb[CELL], n[CELL], u[CELL];
  fprintf(out, "gt report: %s object%s reclaimed (%s), %s freed",
          gt__fmt_count(r->objects, a), r->objects == 1 ? "" : "s",
          size_text(r->bytes, b), gt__fmt_count(r->freed, f));
  if (r->unreleased)
    fprintf(out, ", %s reclaimed without release",
            gt__fmt_count(r->unreleased, u));
  if (r->exits)
    fprintf(out, ", %s live at exit (%s)", gt__fmt_count(r->live, l),
            size_text(r->live_bytes, lb));
  if (r->batches || !r->profiles)
    fprintf(out, "; %s batch%s",
            r->batches ? gt__fmt_count(r->batches, n) : "no",
            r->batches == 1 ? "" : "es");
  if (r->profiles)
    fprintf(out, "%s%zu profile%s", r->batches ? ", " : "; ", r->profiles,
            r->profiles == 1 ? "" : "s");
  fprintf(out, " in %zu file%s", r->files, r->files == 1 ? "" : "s");
  print_span(r, out);
  if (r->estimated) fprintf(out, "; estimates (gt.alloc_sample_every)");
  if (r->overflowed && r->aged)
    fprintf(out, "; %s objects came without their age (ring full)",
            gt__fmt_count(r->overflowed, a));
  if (r->bad)
    fprintf(out, "; %zu bad line%s skipped", r->bad, r->bad == 1 ? "" : "s");
  fprintf(out, "\n");
}

/* The first n rows (sorted), the top of them and one for the rest. */
static void print_table(gt_report_state *r, FILE *out, size_t n, size_t top) {
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
    rest.unreleased = sat(rest.unreleased, r->rows[i].unreleased);
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
  const char *what = r->by == GT_REPORT_BY_NAME    ? "name"
                     : r->by == GT_REPORT_BY_STACK ? "stack"
                                                   : "site";
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
    snprintf(buf, sizeof buf, "(%zu more %s%s)", n - shown_rows, what,
             n - shown_rows == 1 ? "" : "s");
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

void gt_report_print(gt_report_state *r, FILE *out, size_t top) {
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
