/* gt report's profile reader: gt's death profiles (gt.profile: pprof's
 * profile.proto, gzipped; docs/profiles.md) as rows, like the JSON logs'.
 * A sample is a site: --by site keys it by its innermost frame, --by stack
 * by all its frames ("fn < caller < ..."), --by name by its "name" label.
 * The profile is read whole (zlib, then protobuf-c). */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "profile.pb-c.h"
#include "report_rows.h"

#define MAX_PROFILE (1u << 30) /* uncompressed; more is not one of gt's */

static unsigned char *slurp_gz(const char *path, size_t *len, FILE *warn) {
  gzFile f = gzopen(path, "rb");
  if (!f) {
    fprintf(warn, "gt report: %s: %s\n", path, strerror(errno));
    return NULL;
  }
  size_t cap = 1 << 16, n = 0;
  unsigned char *buf = malloc(cap);
  for (int got; buf; n += (size_t)got) {
    if (n == cap) {
      unsigned char *b = cap < MAX_PROFILE ? realloc(buf, cap *= 2) : NULL;
      if (!b) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = b;
    }
    got = gzread(f, buf + n, (unsigned)(cap - n));
    if (got <= 0) break;
  }
  int err;
  const char *msg = gzerror(f, &err);
  if (buf && err != Z_OK && err != Z_BUF_ERROR) {
    fprintf(warn, "gt report: %s: %s\n", path, msg);
    free(buf);
    buf = NULL;
  }
  gzclose(f);
  *len = n;
  return buf;
}

typedef struct pprof_view {
  const Gt__Pprof__Profile *p;
  int reclaimed, space, freed, live, live_space, unreleased; /* or -1 */
} pprof_view;

static const char *str(const pprof_view *v, int64_t i) {
  return i >= 0 && (size_t)i < v->p->n_string_table ? v->p->string_table[i]
                                                    : "";
}

static int value_index(const pprof_view *v, const char *type) {
  for (size_t i = 0; i < v->p->n_sample_type; i++)
    if (!strcmp(str(v, v->p->sample_type[i]->type), type)) return (int)i;
  return -1;
}

static const Gt__Pprof__Location *location(const pprof_view *v, uint64_t id) {
  /* gt numbers them from 1 in order; anything else is searched */
  if (id && id <= v->p->n_location && v->p->location[id - 1]->id == id)
    return v->p->location[id - 1];
  for (size_t i = 0; i < v->p->n_location; i++)
    if (v->p->location[i]->id == id) return v->p->location[i];
  return NULL;
}

static const Gt__Pprof__Function *function(const pprof_view *v, uint64_t id) {
  if (id && id <= v->p->n_function && v->p->function[id - 1]->id == id)
    return v->p->function[id - 1];
  for (size_t i = 0; i < v->p->n_function; i++)
    if (v->p->function[i]->id == id) return v->p->function[i];
  return NULL;
}

/* "fn", "fn (file:line)" for frame loc's outermost line. */
static void frame_text(const pprof_view *v, uint64_t loc, bool where,
                       FILE *out) {
  const Gt__Pprof__Location *l = location(v, loc);
  const Gt__Pprof__Line *ln = l && l->n_line ? l->line[l->n_line - 1] : NULL;
  const Gt__Pprof__Function *f = ln ? function(v, ln->function_id) : NULL;
  fputs(f ? str(v, f->name) : "?", out);
  const char *file = f ? str(v, f->filename) : "";
  if (where && *file) {
    const char *base = strrchr(file, '/');
    fprintf(out, " (%s:%lld)", base ? base + 1 : file,
            (long long)(ln ? ln->line : 0));
  }
}

static int64_t value(const Gt__Pprof__Sample *s, int i) {
  return i >= 0 && (size_t)i < s->n_value && s->value[i] > 0 ? s->value[i] : 0;
}

static const char *name_label(const pprof_view *v, const Gt__Pprof__Sample *s) {
  for (size_t i = 0; i < s->n_label; i++)
    if (!strcmp(str(v, s->label[i]->key), "name"))
      return str(v, s->label[i]->str);
  return NULL;
}

/* The sample's site as text: its innermost frame, or (stack) them all. */
static char *site_text(const pprof_view *v, const Gt__Pprof__Sample *s,
                       bool stack) {
  char *buf = NULL;
  size_t n = 0;
  FILE *m = open_memstream(&buf, &n);
  if (!m) return NULL;
  size_t frames = stack ? s->n_location_id : s->n_location_id > 0;
  for (size_t i = 0; i < frames; i++) {
    if (i) fputs(" < ", m);
    frame_text(v, s->location_id[i], i == 0, m);
  }
  fclose(m);
  return buf;
}

/* A profile of gt.alloc_sample_every = N counts the tracked objects and
 * says N in its period: scaled here, as a log's batches are. */
static int64_t period_of(const pprof_view *v) {
  const Gt__Pprof__ValueType *t = v->p->period_type;
  bool tracked = t && strcmp(str(v, t->type), "tracked_allocations") == 0;
  return tracked && v->p->period > 1 ? v->p->period : 1;
}

static int64_t scaled(const Gt__Pprof__Sample *s, int i, int64_t period) {
  int64_t x = value(s, i);
  return x > INT64_MAX / period ? INT64_MAX : x * period;
}

static json_t *group(const pprof_view *v, const Gt__Pprof__Sample *s,
                     bool stack, int64_t count, int64_t bytes, int64_t freed,
                     int64_t unreleased) {
  const char *name = name_label(v, s);
  char *site = site_text(v, s, stack);
  json_t *g = json_pack("{s:s?,s:s?,s:I,s:I,s:I,s:I}", "name", name, "site",
                        site && *site ? site : NULL, "count", (json_int_t)count,
                        "bytes", (json_int_t)bytes, "freed", (json_int_t)freed,
                        "unreleased", (json_int_t)unreleased);
  free(site);
  return g;
}

static json_int_t clamp(uint64_t v) {
  return v > INT64_MAX ? INT64_MAX : (json_int_t)v;
}

/* The profile as the two lines a log would hold: one batch with every
 * sample's reclaimed and freed objects, and an exit line with the live. */
static void as_lines(const pprof_view *v, bool stack, json_t *batch,
                     json_t *exit_line) {
  json_t *groups = json_array(), *live = json_array();
  uint64_t collected = 0, bytes = 0, freed = 0, lc = 0, lb = 0, un = 0;
  int64_t n = period_of(v);
  for (size_t i = 0; i < v->p->n_sample; i++) {
    const Gt__Pprof__Sample *s = v->p->sample[i];
    int64_t c = scaled(s, v->reclaimed, n), b = scaled(s, v->space, n),
            f = scaled(s, v->freed, n), l = scaled(s, v->live, n),
            ls = scaled(s, v->live_space, n), u = scaled(s, v->unreleased, n);
    if (c || f) json_array_append_new(groups, group(v, s, stack, c, b, f, u));
    if (l) json_array_append_new(live, group(v, s, stack, l, ls, 0, 0));
    collected = sat(collected, (uint64_t)c), bytes = sat(bytes, (uint64_t)b);
    freed = sat(freed, (uint64_t)f), lc = sat(lc, (uint64_t)l);
    lb = sat(lb, (uint64_t)ls), un = sat(un, (uint64_t)u);
  }
  int64_t t0 = v->p->time_nanos > 0 ? v->p->time_nanos / 1000000 : 0;
  int64_t d = v->p->duration_nanos > 0 ? v->p->duration_nanos / 1000000 : 0;
  json_object_set_new(batch, "batch", json_integer(1));
  json_object_set_new(batch, "collected", json_integer(clamp(collected)));
  json_object_set_new(batch, "bytes", json_integer(clamp(bytes)));
  json_object_set_new(batch, "freed", json_integer(clamp(freed)));
  json_object_set_new(batch, "unreleased", json_integer(clamp(un)));
  if (n > 1) json_object_set_new(batch, "estimated", json_true());
  json_object_set_new(batch, "first_ms", json_integer(t0));
  json_object_set_new(batch, "last_ms", json_integer(t0 ? t0 + d : 0));
  json_object_set_new(batch, "groups", groups);
  json_object_set_new(
      exit_line, "exit",
      json_pack("{s:I,s:I}", "live", clamp(lc), "live_bytes", clamp(lb)));
  json_object_set_new(exit_line, "live", live);
}

bool gt_report_read_profile(gt_report_state *r, const char *path, FILE *warn) {
  size_t len = 0;
  unsigned char *buf = slurp_gz(path, &len, warn);
  if (!buf) return false;
  Gt__Pprof__Profile *p = gt__pprof__profile__unpack(NULL, len, buf);
  free(buf);
  if (!p) {
    fprintf(warn, "gt report: %s: not a profile (profile.proto)\n", path);
    return false;
  }
  pprof_view v = {.p = p};
  v.reclaimed = value_index(&v, "reclaimed_objects");
  v.space = value_index(&v, "reclaimed_space");
  v.freed = value_index(&v, "freed_objects");
  v.live = value_index(&v, "live_objects");
  v.live_space = value_index(&v, "live_space");
  v.unreleased = value_index(&v, "unreleased_objects"); /* since 2026-11-30 */
  bool ok = v.reclaimed >= 0;
  if (!ok)
    fprintf(warn,
            "gt report: %s: not one of gt's death profiles (no "
            "reclaimed_objects)\n",
            path);
  json_t *batch = json_object(), *exit_line = json_object();
  char why[256] = "out of memory";
  if (ok && batch && exit_line) {
    as_lines(&v, r->by == GT_REPORT_BY_STACK, batch, exit_line);
    ok = gt__report_take(r, batch, why, sizeof why) &&
         (v.live < 0 || gt__report_take(r, exit_line, why, sizeof why));
    if (!ok) fprintf(warn, "gt report: %s: %s\n", path, why);
  }
  if (ok) { /* a profile, not a batch */
    r->files++;
    r->batches--;
    r->profiles++;
  }
  json_decref(batch);
  json_decref(exit_line);
  gt__pprof__profile__free_unpacked(p, NULL);
  return ok;
}
