/* Message text from a batch and a template.
 *
 * Placeholders: {count} {name} {names} {bytes} {site} {sampled} {freed}
 * {batch} {unreleased} {leaks}; "{{" and "}}" are literal braces ("{{x}}"
 * reads "{x}"), and so is a lone "}". With gt.report=unreleased every batch
 * holds leaks only and uses the unreleased template ("LEAK: ..."); else one
 * object alone uses the single template (the seed's sentence by default),
 * anything else the batch one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/render.h"
#include "intern.h"

#define DEFAULT_SINGLE                                                         \
  "The object with name {name} is being removed from memory!"
#define DEFAULT_BATCH "{count} objects collected (sampled {sampled}): {names}"
#define DEFAULT_UNRELEASED "LEAK: {leaks}"
#define MAX_NAMES 10

static const char *const placeholders[] = {
    "count", "name",  "names", "bytes",      "site", "sampled",
    "freed", "batch", "leaks", "unreleased", NULL};

int gt__render_check(const char *key, const char *tpl) {
  for (const char *p = tpl; (p = strchr(p, '{'));) {
    if (p[1] == '{') {
      p += 2;
      continue;
    }
    const char *end = strchr(p, '}');
    if (!end) return gt__fail(GT_EINVAL, "%s: unclosed '{' in template", key);
    size_t n = (size_t)(end - p - 1);
    bool ok = false;
    for (size_t i = 0; placeholders[i]; i++)
      ok |= strlen(placeholders[i]) == n && !strncmp(placeholders[i], p + 1, n);
    if (!ok)
      return gt__fail(GT_EINVAL,
                      "%s: unknown placeholder {%.*s} (known: count, name, "
                      "names, bytes, site, sampled, freed, batch, leaks, "
                      "unreleased)",
                      key, (int)n, p + 1);
    p = end + 1;
  }
  return 0;
}

/* By hand: every message formats several numbers, and snprintf was a
 * visible share of the worker's time. */
const char *gt__fmt_count(uint64_t v, char *buf) {
  char tmp[32];
  int n = 0, j = 0;
  do
    tmp[n++] = (char)('0' + v % 10);
  while ((v /= 10) != 0);
  for (int i = n - 1; i >= 0; i--) {
    buf[j++] = tmp[i];
    if (i && i % 3 == 0) buf[j++] = ',';
  }
  buf[j] = 0;
  return buf;
}

const char *gt__fmt_ms(uint64_t ms, char *buf, size_t n) {
  if (ms < 1000)
    snprintf(buf, n, "%llu ms", (unsigned long long)ms);
  else if (ms < 60000)
    snprintf(buf, n, "%.1f s", (double)ms / 1000);
  else if (ms < 3600000)
    snprintf(buf, n, "%.1f min", (double)ms / 60000);
  else
    snprintf(buf, n, "%.1f h", (double)ms / 3600000);
  return buf;
}

/* A growable string; on allocation failure it stays truncated. */
typedef struct sbuf {
  char *p;
  size_t len, cap;
} sbuf;

static void put(sbuf *s, const char *t, size_t n) {
  if (s->len + n + 1 > s->cap) {
    size_t cap = (s->len + n + 1) * 2;
    char *q = realloc(s->p, cap);
    if (!q) return;
    s->p = q;
    s->cap = cap;
  }
  memcpy(s->p + s->len, t, n);
  s->len += n;
  s->p[s->len] = 0;
}

static void puts_(sbuf *s, const char *t) {
  put(s, t, strlen(t));
}

static uint32_t group_site(const gt_group *g) {
  if (g->site) return g->site;
  return g->only_site != UINT32_MAX ? g->only_site : 0;
}

static void put_count(sbuf *s, const gt_batch *b, uint64_t v) {
  char buf[32];
  uint64_t scale = gt__batch_count_scale(b);
  if (scale > 1) puts_(s, "~");
  puts_(s, gt__fmt_count(v * scale, buf));
}

/* " (file:line; age 1 ms..2 s, median 40 ms)": what a group's objects
 * share, if anything. */
static void put_detail(sbuf *s, const gt_group *g) {
  char buf[512];
  uint32_t site = group_site(g);
  bool has_site = site && gt__site(site)->file;
  if (!has_site && !g->age_ms.n) return;
  puts_(s, " (");
  if (has_site) puts_(s, gt__site_label(gt__site(site), buf, sizeof buf));
  if (g->age_ms.n) { /* gt.track_age: how long they lived */
    char lo[32], mid[32], hi[32];
    snprintf(buf, sizeof buf, "%sage %s..%s, median %s", has_site ? "; " : "",
             gt__fmt_ms(g->age_ms.min, lo, sizeof lo),
             gt__fmt_ms(g->age_ms.max, hi, sizeof hi),
             gt__fmt_ms(gt__ages_median(&g->age_ms), mid, sizeof mid));
    puts_(s, buf);
  }
  puts_(s, ")");
}

static void put_leak_count(sbuf *s, const gt_batch *b, uint64_t v) {
  char buf[32];
  if (gt__batch_leak_scale(b) > 1) puts_(s, "~");
  puts_(s, gt__fmt_count(v * gt__batch_leak_scale(b), buf));
}

static void put_more(sbuf *s, const char *sep, size_t more) {
  char buf[64];
  if (!more) return;
  snprintf(buf, sizeof buf, "%s+%zu more", sep, more);
  puts_(s, buf);
}

static void put_names(sbuf *s, const gt_batch *b) {
  char buf[64];
  size_t shown = 0, rest = 0;
  for (size_t i = 0; i < b->ngroups && shown < MAX_NAMES; i++) {
    const gt_group *g = &b->groups[i];
    if (!g->count) continue;
    if (shown++) puts_(s, ", ");
    puts_(s, g->name_id ? gt__name(g->name_id) : "objects");
    puts_(s, " x");
    put_count(s, b, g->count);
    put_detail(s, g);
  }
  for (size_t i = 0; i < b->ngroups; i++)
    rest += b->groups[i].count != 0;
  put_more(s, ", ", rest - shown);
  if (b->freed) {
    snprintf(buf, sizeof buf, "; %s freed explicitly",
             gt__fmt_count(b->freed, (char[32]){0}));
    puts_(s, buf);
  }
  if (b->unreleased && !b->unreleased_only) { /* gt.report=all: say so */
    puts_(s, "; ");
    put_leak_count(s, b, b->unreleased);
    puts_(s, " reclaimed without release");
  }
}

/* "Conn reclaimed without release (conn.c:42) x17; Buf ... x2": the
 * groups that hold leaks, the count last (it reads as a tally). */
static void put_leaks(sbuf *s, const gt_batch *b) {
  size_t shown = 0, rest = 0;
  for (size_t i = 0; i < b->ngroups && shown < MAX_NAMES; i++) {
    const gt_group *g = &b->groups[i];
    if (!g->unreleased) continue;
    if (shown++) puts_(s, "; ");
    puts_(s, g->name_id ? gt__name(g->name_id) : "objects");
    puts_(s, " reclaimed without release");
    put_detail(s, g);
    if (g->unreleased * gt__batch_leak_scale(b) > 1) {
      puts_(s, " x");
      put_leak_count(s, b, g->unreleased);
    }
  }
  for (size_t i = 0; i < b->ngroups; i++)
    rest += b->groups[i].unreleased != 0;
  if (!rest) puts_(s, "none");
  put_more(s, "; ", rest - shown);
}

static void expand(sbuf *s, const char *ph, size_t n, const gt_batch *b) {
  char buf[512];
  const gt_group *top = b->ngroups ? &b->groups[0] : NULL;
#define IS(x) (n == sizeof(x) - 1 && !strncmp(ph, x, n))
  if (IS("count"))
    put_count(s, b, b->collected);
  else if (IS("name"))
    puts_(s, top && top->name_id ? gt__name(top->name_id) : "objects");
  else if (IS("names"))
    put_names(s, b);
  else if (IS("bytes"))
    put_count(s, b, b->bytes);
  else if (IS("site"))
    puts_(s, top && group_site(top)
                 ? gt__site_label(gt__site(group_site(top)), buf, sizeof buf)
                 : "");
  else if (IS("sampled"))
    puts_(s, gt__fmt_count(b->sampled, buf));
  else if (IS("freed"))
    puts_(s, gt__fmt_count(b->freed, buf));
  else if (IS("batch"))
    puts_(s, gt__fmt_count(b->seq, buf));
  else if (IS("leaks"))
    put_leaks(s, b);
  else if (IS("unreleased"))
    put_leak_count(s, b, b->unreleased);
#undef IS
}

char *gt__render(const gt_config *cfg, const gt_batch *b) {
  bool single = b->collected == 1 && b->freed == 0 && b->scale == 1;
  const char *tpl = single ? cfg->template_single : cfg->template_batch;
  if (!tpl || !*tpl) tpl = single ? DEFAULT_SINGLE : DEFAULT_BATCH;
  if (b->unreleased_only) { /* gt.report=unreleased: leaks only */
    tpl = cfg->template_unreleased;
    if (!tpl || !*tpl) tpl = DEFAULT_UNRELEASED;
  }
  sbuf s = {0};
  puts_(&s, "");
  for (const char *p = tpl; *p;) {
    const char *open = strpbrk(p, "{}");
    if (!open) {
      puts_(&s, p);
      break;
    }
    put(&s, p, (size_t)(open - p));
    if (open[0] == '}' || open[1] == '{') { /* "}}", "{{" or a lone "}" */
      put(&s, open, 1);
      p = open + 1 + (open[1] == open[0]);
      continue;
    }
    const char *close = strchr(open, '}');
    if (!close) { /* templates are checked at gt_init; be safe anyway */
      puts_(&s, open);
      break;
    }
    expand(&s, open + 1, (size_t)(close - open - 1), b);
    p = close + 1;
  }
  return s.p;
}
