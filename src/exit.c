/* The run's end as JSON (exit.h): gt_shutdown's totals and, when its last
 * collection counted them, the objects still live, grouped as batches are
 * (gt.group_by). The log backend writes it as the last line of a JSON log,
 * so that a reader (gt report) knows what was never reclaimed. */
#include <jansson.h>
#include <stdlib.h>

#include "exit.h"
#include "intern.h"

typedef struct live_group {
  uint32_t site;    /* shown with the group, or 0 */
  uint32_t name_id; /* 0: no name (group_by = none) */
  uint64_t count, bytes;
} live_group;

static int by_count(const void *a, const void *b) {
  const live_group *x = a, *y = b;
  if (x->count != y->count) return x->count < y->count ? 1 : -1;
  return x->site < y->site ? -1 : x->site > y->site;
}

/* Sites and names when the count began: a thread still running may add
 * more, which are left out (they hold nothing counted). */
typedef struct extent {
  uint32_t sites, names;
} extent;

/* The group of site id in g: its own by site; by name, g is indexed by
 * name id (sites without a regular name get their own); g[0] for none. */
static live_group *group_of(live_group *g, size_t *n, enum gt_group_by by,
                            extent x, uint32_t id) {
  gt_site *s = gt__site(id);
  bool alone = by == GT_GROUP_SITE ||
               (by == GT_GROUP_NAME && (!s->name_id || s->name_id > x.names));
  if (alone) {
    g[*n] = (live_group){.site = id, .name_id = s->name_id};
    return &g[(*n)++];
  }
  live_group *at = &g[by == GT_GROUP_NONE ? 0 : s->name_id - 1];
  /* a name with one site shows it, as batches do */
  at->site = at->count ? (at->site == id ? id : 0) : id;
  at->name_id = by == GT_GROUP_NONE ? 0 : s->name_id;
  return at;
}

static void gather(live_group *g, size_t *n, enum gt_group_by by, extent x) {
  for (uint32_t id = 1; id <= GT_OTHER_SITE; id++) {
    if (id > x.sites && id < GT_FIRST_RESERVED) id = GT_FIRST_RESERVED;
    gt_site *s = gt__site(id);
    uint64_t c = atomic_load(&s->live), b = atomic_load(&s->live_bytes);
    if (!c) continue;
    live_group *at = group_of(g, n, by, x, id);
    at->count += c;
    at->bytes += b;
  }
}

static json_t *group_json(const live_group *g, uint64_t scale) {
  json_t *o = json_object();
  json_object_set_new(
      o, "name", g->name_id ? json_string(gt__name(g->name_id)) : json_null());
  gt_site *s = g->site ? gt__site(g->site) : NULL;
  char buf[512];
  if (s && s->file)
    json_object_set_new(o, "site",
                        json_string(gt__site_label(s, buf, sizeof buf)));
  json_object_set_new(o, "count", json_integer((json_int_t)(g->count * scale)));
  json_object_set_new(o, "bytes", json_integer((json_int_t)(g->bytes * scale)));
  return o;
}

/* The live groups, most objects first; past GT_EXIT_MAX_GROUPS they are
 * summed in "live_omitted". */
static void live_json(json_t *o, enum gt_group_by by, uint64_t scale,
                      extent x) {
  size_t cap = (size_t)x.sites + x.names + 3, n = 0;
  live_group *g = calloc(cap, sizeof *g);
  if (!g) return;
  if (by != GT_GROUP_SITE) /* one slot per name, or one for all */
    n = by == GT_GROUP_NONE ? 1 : x.names;
  gather(g, &n, by, x);
  size_t used = 0;
  for (size_t i = 0; i < n; i++)
    if (g[i].count) g[used++] = g[i];
  qsort(g, used, sizeof *g, by_count);
  json_t *arr = json_array();
  live_group rest = {0};
  for (size_t i = 0; i < used; i++) {
    if (i < GT_EXIT_MAX_GROUPS) {
      json_array_append_new(arr, group_json(&g[i], scale));
      continue;
    }
    rest.count += g[i].count;
    rest.bytes += g[i].bytes;
  }
  json_object_set_new(o, "live", arr);
  json_t *omitted = group_json(&rest, scale);
  json_object_del(omitted, "name");
  json_object_set_new(o, "live_omitted", omitted);
  free(g);
}

json_t *gt__exit_json(const gt_stats *st, bool live_counted,
                      enum gt_group_by by, uint64_t scale, int64_t wall_ms) {
  json_t *e = json_object(), *o = json_object();
  if (!e || !o) {
    json_decref(e);
    json_decref(o);
    return NULL;
  }
  json_object_set_new(e, "ms", json_integer(wall_ms));
  json_object_set_new(e, "live_counted", json_boolean(live_counted));
#define STAT_JSON(field, who, meaning)                                         \
  json_object_set_new(e, #field, json_integer((json_int_t)st->field));
  GT_STATS(STAT_JSON)
#undef STAT_JSON
  /* the live groups below are estimates (x scale), as batches are; the
   * totals above are gt_get_stats' own */
  json_object_set_new(e, "alloc_sample_every",
                      json_integer((json_int_t)(scale ? scale : 1)));
  json_object_set_new(o, "exit", e);
  if (!live_counted) {
    json_object_del(e, "live"); /* not counted: unknown, not 0 */
    return o;
  }
  extent x = {gt__site_count(), gt__name_count()};
  uint64_t live_bytes = 0;
  for (uint32_t id = 1; id <= GT_OTHER_SITE; id++) {
    if (id > x.sites && id < GT_FIRST_RESERVED) id = GT_FIRST_RESERVED;
    live_bytes += atomic_load(&gt__site(id)->live_bytes);
  }
  json_object_set_new(e, "live_bytes", json_integer((json_int_t)live_bytes));
  live_json(o, by, scale ? scale : 1, x);
  return o;
}
