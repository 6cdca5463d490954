/* A batch: exact counts per group since the last message, plus the details
 * of the first sampled objects. Merging two batches adds their counts, which
 * is how the rate limiter holds messages without losing anything. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "intern.h"
#include "message.h"

void gt__batch_init(gt_batch *b) {
  memset(b, 0, sizeof *b);
  b->scale = 1;
  b->leak_scale = 1;
}

void gt__batch_reset(gt_batch *b) {
  gt_group *g = b->groups;
  size_t cap = b->cap_groups, icap = b->index_cap;
  uint32_t *index = b->index;
  uint64_t scale = b->scale, leak_scale = b->leak_scale;
  bool only = b->unreleased_only;
  memset(b, 0, sizeof *b);
  b->groups = g;
  b->cap_groups = cap;
  b->index = index;
  b->index_cap = icap;
  b->scale = scale;
  b->leak_scale = leak_scale;
  b->unreleased_only = only;
}

void gt__batch_free(gt_batch *b) {
  free(b->groups);
  free(b->index);
  memset(b, 0, sizeof *b);
}

/* ---- finding a group ------------------------------------------------------
 * Events come in runs of one site: the last group answers most. A few
 * groups are scanned; past that (group_by = site with stack sites gives
 * thousands) a hash index answers. */
#define SCAN_GROUPS 8

static size_t slot_of(const gt_batch *b, uint32_t site, uint32_t name_id) {
  uint64_t h = ((uint64_t)site << 32 | name_id) * 0x9e3779b97f4a7c15ull;
  size_t mask = b->index_cap - 1, i = (size_t)(h >> 32) & mask;
  for (uint32_t at; (at = b->index[i]) != 0; i = (i + 1) & mask) {
    const gt_group *g = &b->groups[at - 1];
    if (g->site == site && g->name_id == name_id) break;
  }
  return i;
}

/* Indexes every group, in a table at most half full. */
static bool reindex(gt_batch *b, size_t groups) {
  size_t cap = b->index_cap ? b->index_cap : 64;
  while (cap < 2 * groups)
    cap *= 2;
  if (cap != b->index_cap) {
    uint32_t *ix = realloc(b->index, cap * sizeof *ix);
    if (!ix) return false;
    b->index = ix;
    b->index_cap = cap;
  }
  memset(b->index, 0, b->index_cap * sizeof *b->index);
  for (size_t i = 0; i < b->ngroups; i++) {
    const gt_group *g = &b->groups[i];
    b->index[slot_of(b, g->site, g->name_id)] = (uint32_t)i + 1;
  }
  b->indexed = b->ngroups;
  return true;
}

static gt_group *find_group(gt_batch *b, uint32_t site, uint32_t name_id,
                            size_t *slot) {
  if (b->ngroups <= SCAN_GROUPS) {
    for (size_t i = 0; i < b->ngroups; i++)
      if (b->groups[i].site == site && b->groups[i].name_id == name_id)
        return &b->groups[b->last_group = i];
    return NULL;
  }
  if ((b->indexed != b->ngroups || 2 * (b->ngroups + 1) > b->index_cap) &&
      !reindex(b, b->ngroups + 1))
    return NULL;
  *slot = slot_of(b, site, name_id);
  uint32_t at = b->index[*slot];
  return at ? &b->groups[b->last_group = at - 1] : NULL;
}

bool gt__batch_empty(const gt_batch *b) {
  return b->collected == 0 && b->freed == 0 && b->merged == 0;
}

static gt_group *group_for(gt_batch *b, uint32_t site, uint32_t name_id) {
  if (b->last_group < b->ngroups) {
    gt_group *last = &b->groups[b->last_group];
    if (last->site == site && last->name_id == name_id) return last;
  }
  size_t slot = SIZE_MAX;
  gt_group *found = find_group(b, site, name_id, &slot);
  if (found) return found;
  if (b->ngroups > SCAN_GROUPS && slot == SIZE_MAX)
    return NULL; /* out of memory for the index */
  if (b->ngroups == b->cap_groups) {
    size_t cap = b->cap_groups ? b->cap_groups * 2 : 16;
    gt_group *g = realloc(b->groups, cap * sizeof *g);
    if (!g) return NULL;
    b->groups = g;
    b->cap_groups = cap;
  }
  b->last_group = b->ngroups;
  gt_group *g = &b->groups[b->ngroups++];
  *g = (gt_group){.site = site, .name_id = name_id, .only_site = UINT32_MAX};
  if (slot != SIZE_MAX) { /* indexed: the table had room for one more */
    b->index[slot] = (uint32_t)b->ngroups;
    b->indexed = b->ngroups;
  }
  return g;
}

static void note_site(gt_group *g, uint32_t site) {
  if (g->only_site == UINT32_MAX)
    g->only_site = site;
  else if (g->only_site != site)
    g->only_site = 0;
}

/* Half-octave buckets: 0..3 exact, then two per power of two. */
static int bucket(uint64_t v) {
  if (v < 4) return (int)v;
  int lg = 63 - __builtin_clzll(v);
  int i = 2 * lg + (int)((v >> (lg - 1)) & 1);
  return i < GT_AGE_BUCKETS ? i : GT_AGE_BUCKETS - 1;
}

/* The geometric middle of a bucket, for the median. */
static uint64_t bucket_value(int i) {
  if (i < 4) return (uint64_t)i;
  int lg = i / 2;
  uint64_t lo = (1ull << lg) | ((uint64_t)(i & 1) << (lg - 1));
  uint64_t width = 1ull << (lg - 1);
  return lo + width / 2;
}

void gt__ages_add(gt_ages *a, uint64_t v) {
  if (a->n == 0 || v < a->min) a->min = v;
  if (a->n == 0 || v > a->max) a->max = v;
  a->n++;
  a->hist[bucket(v)]++;
}

void gt__ages_merge(gt_ages *into, const gt_ages *from) {
  if (!from->n) return;
  if (!into->n || from->min < into->min) into->min = from->min;
  if (!into->n || from->max > into->max) into->max = from->max;
  into->n += from->n;
  for (int i = 0; i < GT_AGE_BUCKETS; i++)
    into->hist[i] += from->hist[i];
}

uint64_t gt__ages_median(const gt_ages *a) {
  uint64_t seen = 0;
  for (int i = 0; i < GT_AGE_BUCKETS; i++) {
    seen += a->hist[i];
    if (seen * 2 >= a->n) {
      uint64_t v = bucket_value(i);
      return v < a->min ? a->min : v > a->max ? a->max : v;
    }
  }
  return a->max;
}

int gt__batch_add(gt_batch *b, enum gt_group_by by, const gt_event *ev,
                  uint64_t n, bool sampled, int64_t now_ms) {
  gt_site *s = gt__site(ev->site);
  uint32_t site = by == GT_GROUP_SITE ? ev->site : 0;
  uint32_t name_id = by == GT_GROUP_NONE ? 0 : s->name_id;
  /* Grouping by name still remembers the site when a name has only one. */
  gt_group *g = group_for(b, site, name_id);
  if (!g) return GT_ENOMEM;
  note_site(g, ev->site);
  if (ev->kind == GT_EV_FREED) {
    g->freed += n;
    b->freed += n;
    return 0;
  }
  g->count += n;
  g->bytes += ev->size;
  b->collected += n;
  b->bytes += ev->size;
  if (ev->flags & GT_EVF_UNRELEASED) {
    g->unreleased += n;
    b->unreleased += n;
  }
  uint64_t age_ms = 0, age_gcs = 0;
  bool aged = ev->flags & GT_EVF_AGE;
  if (aged) {
    age_ms = now_ms > ev->birth_ms ? (uint64_t)(now_ms - ev->birth_ms) : 0;
    /* bdwgc counts a collection when its marking ends, before the sweep:
     * an object that dies in the first collection after its birth is
     * reported with birth + 1, having survived none. */
    uint32_t d = (ev->death_gc - ev->birth_gc) & GT_GCNO_MASK;
    age_gcs = d ? d - 1 : 0;
    gt__ages_add(&g->age_ms, age_ms);
    gt__ages_add(&g->age_gcs, age_gcs);
  }
  if (sampled) {
    b->sampled++;
    if (b->nsamples < GT_BATCH_MAX_SAMPLES)
      b->samples[b->nsamples++] = (gt_sample){.site = ev->site,
                                              .aged = aged,
                                              /* ev->size is the run's */
                                              .size = ev->size / n,
                                              .age_gcs = age_gcs,
                                              .age_ms = age_ms};
  }
  return 0;
}

int gt__batch_merge(gt_batch *into, const gt_batch *from) {
  for (size_t i = 0; i < from->ngroups; i++) {
    const gt_group *f = &from->groups[i];
    gt_group *g = group_for(into, f->site, f->name_id);
    if (!g) return GT_ENOMEM;
    if (f->only_site != UINT32_MAX) note_site(g, f->only_site);
    g->count += f->count;
    g->unreleased += f->unreleased;
    g->freed += f->freed;
    g->bytes += f->bytes;
    gt__ages_merge(&g->age_ms, &f->age_ms);
    gt__ages_merge(&g->age_gcs, &f->age_gcs);
  }
  if (gt__batch_empty(into) || from->first_wall_ms < into->first_wall_ms)
    into->first_wall_ms = from->first_wall_ms;
  if (from->last_wall_ms > into->last_wall_ms)
    into->last_wall_ms = from->last_wall_ms;
  into->collected += from->collected;
  into->unreleased += from->unreleased;
  into->freed += from->freed;
  into->sampled += from->sampled;
  into->bytes += from->bytes;
  into->overflow += from->overflow;
  into->merged += from->merged + 1;
  /* how to read the counts: the same for every batch of one pipeline, and
   * a copy (delivery.c) or a held batch starts empty */
  into->scale = from->scale;
  into->leak_scale = from->leak_scale;
  into->unreleased_only = from->unreleased_only;
  for (size_t i = 0;
       i < from->nsamples && into->nsamples < GT_BATCH_MAX_SAMPLES; i++)
    into->samples[into->nsamples++] = from->samples[i];
  return 0;
}

static int by_count(const void *a, const void *b) {
  const gt_group *x = a, *y = b;
  if (x->count != y->count) return x->count < y->count ? 1 : -1;
  if (x->name_id != y->name_id) return x->name_id < y->name_id ? -1 : 1;
  return x->site < y->site ? -1 : x->site > y->site;
}

void gt__batch_sort(gt_batch *b) {
  if (b->ngroups > 1) qsort(b->groups, b->ngroups, sizeof *b->groups, by_count);
  b->indexed = 0; /* the groups moved */
}

static json_t *ages_json(const gt_ages *a) {
  json_t *o = json_object();
  json_object_set_new(o, "min", json_integer((json_int_t)a->min));
  json_object_set_new(o, "median",
                      json_integer((json_int_t)gt__ages_median(a)));
  json_object_set_new(o, "max", json_integer((json_int_t)a->max));
  return o;
}

static json_t *site_json(const gt_site *s) {
  char buf[512];
  return json_string(gt__site_label(s, buf, sizeof buf));
}

uint64_t gt__batch_leak_scale(const gt_batch *b) {
  return b->scale * (b->leak_scale ? b->leak_scale : 1);
}

uint64_t gt__batch_count_scale(const gt_batch *b) {
  return b->unreleased_only ? gt__batch_leak_scale(b) : b->scale;
}

json_t *gt__batch_json(const gt_batch *b) {
  json_t *groups = json_array(), *samples = json_array();
  uint64_t leak = gt__batch_leak_scale(b), scale = gt__batch_count_scale(b);
  for (size_t i = 0; i < b->ngroups; i++) {
    const gt_group *g = &b->groups[i];
    json_t *o = json_object();
    json_object_set_new(o, "name",
                        g->name_id ? json_string(gt__name(g->name_id))
                                   : json_null());
    uint32_t site = g->site ? g->site : g->only_site;
    if (site && site != UINT32_MAX && gt__site(site)->file)
      json_object_set_new(o, "site", site_json(gt__site(site)));
    json_object_set_new(o, "count",
                        json_integer((json_int_t)(g->count * scale)));
    json_object_set_new(o, "unreleased",
                        json_integer((json_int_t)(g->unreleased * leak)));
    json_object_set_new(o, "freed", json_integer((json_int_t)g->freed));
    json_object_set_new(o, "bytes",
                        json_integer((json_int_t)(g->bytes * scale)));
    if (g->age_ms.n) {
      json_object_set_new(o, "age_ms", ages_json(&g->age_ms));
      json_object_set_new(o, "age_gcs", ages_json(&g->age_gcs));
    }
    json_array_append_new(groups, o);
  }
  for (size_t i = 0; i < b->nsamples; i++) {
    const gt_sample *s = &b->samples[i];
    const gt_site *site = gt__site(s->site);
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(site->name));
    json_object_set_new(o, "site", site_json(site));
    json_object_set_new(o, "size", json_integer((json_int_t)s->size));
    if (s->aged) {
      json_object_set_new(o, "age_gcs", json_integer((json_int_t)s->age_gcs));
      json_object_set_new(o, "age_ms", json_integer((json_int_t)s->age_ms));
    }
    json_array_append_new(samples, o);
  }
  json_t *o = json_object();
  json_object_set_new(o, "batch", json_integer((json_int_t)b->seq));
  json_object_set_new(o, "collected",
                      json_integer((json_int_t)(b->collected * scale)));
  json_object_set_new(o, "estimated", json_boolean(scale > 1));
  /* objects reclaimed while expecting release, and what was reported */
  json_object_set_new(o, "unreleased",
                      json_integer((json_int_t)(b->unreleased * leak)));
  json_object_set_new(o, "unreleased_estimated", json_boolean(leak > 1));
  json_object_set_new(o, "report",
                      json_string(b->unreleased_only ? "unreleased" : "all"));
  json_object_set_new(o, "freed", json_integer((json_int_t)b->freed));
  json_object_set_new(o, "sampled", json_integer((json_int_t)b->sampled));
  json_object_set_new(o, "bytes", json_integer((json_int_t)(b->bytes * scale)));
  json_object_set_new(o, "merged", json_integer(b->merged));
  /* objects that came as counts only (the ring was full): no size, no age */
  json_object_set_new(o, "overflowed", json_integer((json_int_t)b->overflow));
  json_object_set_new(o, "first_ms", json_integer(b->first_wall_ms));
  json_object_set_new(o, "last_ms", json_integer(b->last_wall_ms));
  json_object_set_new(o, "groups", groups);
  /* Details are kept for the first GT_BATCH_MAX_SAMPLES sampled objects
   * that came with them; the rest are counted in "sampled" only. */
  json_object_set_new(o, "samples", samples);
  json_object_set_new(o, "samples_omitted",
                      json_integer((json_int_t)(b->sampled > b->nsamples
                                                    ? b->sampled - b->nsamples
                                                    : 0)));
  return o;
}

uint64_t gt__batch_json_collected(json_t *j) {
  json_int_t n = json_integer_value(json_object_get(j, "collected"));
  return n > 0 ? (uint64_t)n : 0;
}

json_t *gt__message_json(const gt_message *m, json_t **owned) {
  *owned = NULL;
  if (m->json) return m->json;
  if (!m->batch) return *owned = json_object();
  return *owned = gt__batch_json(m->batch);
}
