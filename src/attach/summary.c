/* The summary of one attached process: totals, then the sites that
 * reclaimed the most objects and bytes and those still live at exit, each
 * named by up to four frames, and the profile this process wrote
 * (gt.profile: only the process knows where it went). Written at exit, after
 * gt_shutdown (the worker has stopped: the counts are final, the symbol cache
 * is ours). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attach/summary.h"
#include "delivery/render.h"
#include "intern.h"
#include "stats.h"
#include "worker/profile.h"
#include "worker/symbols.h"

#define TOP 10
#define FRAMES 4

typedef struct row {
  char *text; /* the site as shown; rows showing the same are merged */
  uint64_t objects, bytes;
} row;

static const char *mb(uint64_t bytes, char *buf) {
  snprintf(buf, 32, "%.1f MB", (double)bytes / 1e6);
  return buf;
}

/* The innermost frame in full, its callers by function:
 * "w3m!fn@0x9bf80+0xb < fn@0x9d0a0 < ...", "Strnew (Str.c:35) < ...";
 * a gt_malloc site as "Node file.c:42". */
static void site_text(uint32_t id, char *buf, size_t n) {
  gt_site *s = gt__site(id);
  char a[512], b[512];
  if (!s->npcs) {
    const char *l = gt__site_label(s, a, sizeof a);
    snprintf(buf, n, "%s%s%s", s->name ? s->name : "?", *l ? " " : "", l);
    return;
  }
  size_t at = 0;
  for (int i = 0; i < s->npcs && i < FRAMES && at < n; i++) {
    const gt_frame *f = gt__symbolize(s->pcs[i], i == 0);
    const char *fn = gt__frame_name(f, a, sizeof a);
    const char *label = gt__frame_label(f, b, sizeof b);
    int w = i > 0          ? snprintf(buf + at, n - at, " < %s", fn)
            : f && f->file ? snprintf(buf + at, n - at, "%s (%s)", fn, label)
                           : snprintf(buf + at, n - at, "%s", label);
    at += w > 0 ? (size_t)w : 0;
  }
}

static int by_text(const void *x, const void *y) {
  return strcmp(((const row *)x)->text, ((const row *)y)->text);
}

static int by_objects(const void *x, const void *y) {
  const row *a = x, *b = y;
  return a->objects != b->objects ? (a->objects < b->objects ? 1 : -1)
                                  : strcmp(a->text, b->text);
}

static int by_bytes(const void *x, const void *y) {
  const row *a = x, *b = y;
  return a->bytes != b->bytes ? (a->bytes < b->bytes ? 1 : -1)
                              : strcmp(a->text, b->text);
}

/* Every site with something counted, as (objects, bytes) of one kind,
 * merged by what they show; the number of rows. */
static size_t gather(row *rows, bool live) {
  size_t k = 0;
  uint32_t n = gt__site_count();
  for (uint32_t id = 1; id <= GT_OTHER_SITE; id++) {
    if (id > n && id < GT_FIRST_RESERVED) id = GT_FIRST_RESERVED;
    gt_site *s = gt__site(id);
    row r = {NULL, atomic_load(live ? &s->live : &s->collected),
             atomic_load(live ? &s->live_bytes : &s->bytes)};
    if (!r.objects) continue;
    char text[2048];
    site_text(id, text, sizeof text);
    if ((r.text = strdup(text))) rows[k++] = r;
  }
  qsort(rows, k, sizeof *rows, by_text);
  size_t m = 0;
  for (size_t i = 0; i < k; i++) {
    if (m && strcmp(rows[m - 1].text, rows[i].text) == 0) {
      rows[m - 1].objects += rows[i].objects;
      rows[m - 1].bytes += rows[i].bytes;
      free(rows[i].text);
    } else {
      rows[m++] = rows[i];
    }
  }
  return m;
}

static void drop(row *rows, size_t k) {
  for (size_t i = 0; i < k; i++)
    free(rows[i].text);
}

static void table(FILE *f, const char *title, row *rows, size_t k,
                  int (*order)(const void *, const void *), uint64_t every) {
  if (!k) return;
  qsort(rows, k, sizeof *rows, order);
  if (every > 1)
    fprintf(f, "%s, estimated (tracked x%llu):\n", title,
            (unsigned long long)every);
  else
    fprintf(f, "%s:\n", title);
  for (size_t i = 0; i < k && i < TOP; i++) {
    char o[32], b[32];
    fprintf(f, "  %12s %10s  %s\n", gt__fmt_count(rows[i].objects * every, o),
            mb(rows[i].bytes * every, b), rows[i].text);
  }
}

/* With gt.alloc_sample_every = N only one allocation in N is tracked:
 * the totals say so, and the tables show estimates (tracked x N). */
static void totals(FILE *f, uint64_t every) {
  gt_stats st;
  gt_get_stats(&st);
  char a[32], t[32], c[32], fr[32], l[32], by[32], b[32];
  uint64_t seen = st.collected + st.freed + st.live;
  fprintf(f, "gt run: %s (pid %d): ", program_invocation_short_name,
          (int)getpid());
  if (every > 1)
    fprintf(f,
            "%s objects allocated through bdwgc, %s of them tracked (1 in "
            "%llu, gt.alloc_sample_every): ",
            gt__fmt_count(st.allocated, a), gt__fmt_count(st.tracked, t),
            (unsigned long long)every);
  else
    fprintf(f, "%s objects allocated through bdwgc, ",
            gt__fmt_count(st.tracked, a));
  fprintf(f, "%s reclaimed (%s), %s freed, %s live at exit",
          gt__fmt_count(st.collected, c), mb(st.bytes, b),
          gt__fmt_count(st.freed, fr), gt__fmt_count(st.live, l));
  if (st.tracked)
    fprintf(f, "; %.1f%% accounted for",
            100.0 * (double)seen / (double)st.tracked);
  if (st.bypassed)
    fprintf(f,
            "; %s more not tracked (uncollectable, aligned, inline free "
            "lists, or made by libgc)",
            gt__fmt_count(st.bypassed, by));
  fprintf(f, "\n");
}

static char events[4096]; /* absolute, or empty */

void gt__attach_summary_log(const char *path) {
  events[0] = '\0';
  if (!path || !*path || strcmp(path, "-") == 0) return;
  if (path[0] == '/') {
    snprintf(events, sizeof events, "%s", path);
  } else { /* relative to where the program started; it may chdir */
    char cwd[2048];
    if (getcwd(cwd, sizeof cwd))
      snprintf(events, sizeof events, "%s/%s", cwd, path);
  }
}

static FILE *open_summary(void) {
  const char *dir = getenv("GT_RUN_SUMMARY");
  if (!dir || !*dir) return stderr;
  char path[4096];
  snprintf(path, sizeof path, "%s/%d.txt", dir, (int)getpid());
  FILE *f = fopen(path, "we");
  if (!f)
    fprintf(stderr, "gt run: cannot write the summary to %s: %s\n", path,
            strerror(errno));
  return f ? f : stderr;
}

void gt__attach_summary(void) {
  size_t cap = (size_t)gt__site_count() + 2;
  row *rows = malloc(cap * sizeof *rows);
  FILE *f = open_summary();
  uint64_t every = gt__stats_scale_get();
  totals(f, every);
  if (rows) {
    size_t k = gather(rows, false);
    table(f, "reclaimed, by site (objects, bytes)", rows, k, by_objects, every);
    if (k > TOP) /* the same list again only if bytes order it otherwise */
      table(f, "reclaimed, by bytes", rows, k, by_bytes, every);
    drop(rows, k);
    k = gather(rows, true);
    table(f, "live at exit, by site", rows, k, by_objects, every);
    drop(rows, k);
  }
  free(rows);
  char profile[4096];
  if (gt__profile_written(profile, sizeof profile))
    fprintf(f, "gt run: profile in %s\n", profile);
  if (events[0] && access(events, F_OK) == 0)
    fprintf(f, "gt run: events in %s\n", events);
  if (f != stderr) fclose(f);
}
