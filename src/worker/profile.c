/* Building a death profile: pprof's profile.proto (our subset in
 * proto/profile.proto, compiled by protoc-c) from the site records. One
 * Sample per site with something counted, its values the site's totals;
 * its locations the site's call stack (leaf first, as gt keeps it and
 * pprof wants it) or, for a gt_malloc site, one Location of its own whose
 * function is the object's name at the site's file:line. Mappings are the
 * executable segments of /proc/self/maps, the executable's first, each
 * with its file's GNU build id (pprof and symbolizers match files by it).
 *
 * Every array is sized up front from a first pass over the sites, so
 * nothing moves once a message points into it; strings, functions and
 * locations are found again through small open-addressing tables. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "intern.h"
#include "profile.pb-c.h"
#include "worker/profile.h"
#include "worker/symbols.h"

/* The values of a Sample, in this order (docs/profiles.md): type, unit,
 * the site's counter, and whether it is counted only at exit. */
#define VALUES(X)                                                              \
  X(RECLAIMED, "reclaimed_objects", "count", collected, false)                 \
  X(RECLAIMED_BYTES, "reclaimed_space", "bytes", bytes, false)                 \
  X(FREED, "freed_objects", "count", freed, false)                             \
  X(LIVE, "live_objects", "count", live, true)                                 \
  X(LIVE_BYTES, "live_space", "bytes", live_bytes, true)                       \
  X(UNRELEASED, "unreleased_objects", "count", unreleased, false)              \
  X(UNRELEASED_BYTES, "unreleased_space", "bytes", unreleased_bytes, false)
enum {
#define ENUM(e, type, unit, field, at_exit) V_##e,
  VALUES(ENUM)
#undef ENUM
      NVALUES
};
/* pprof shows this one unless told otherwise: gt counts deaths, one
 * object at a time, and a count reads the same in pprof as in gt's own
 * summary; the bytes are -sample_index=reclaimed_space away. */
#define DEFAULT_VALUE V_RECLAIMED
#define FIXED_STRINGS 32  /* types, units, label key, comments */
#define SPARE_MAPPINGS 16 /* modules gone from /proc/self/maps since */

/* key -> id (nonzero); full at half its capacity, never grown. */
typedef struct table {
  uint64_t *key;
  uint32_t *id;
  size_t mask;
} table;

typedef struct sample_rec {
  Gt__Pprof__Sample m;
  int64_t values[NVALUES];
  uint64_t locs[GT_MAX_STACK];
  Gt__Pprof__Label label, *labels[1];
} sample_rec;

typedef struct loc_rec {
  Gt__Pprof__Location m;
  Gt__Pprof__Line line, *lines[1];
} loc_rec;

/* An executable segment; a Mapping (id nonzero) once a location uses it,
 * or from the start for the executable's. */
typedef struct map_rec {
  Gt__Pprof__Mapping m;
  uintptr_t start, end, offset;
  char *path;
  size_t nlocs, nfuncs, nfiles, nlines; /* for the has_* flags */
} map_rec;

typedef struct builder {
  char **strs;
  size_t nstrs, capstrs;
  table str_ids;
  Gt__Pprof__Function *fns, **fnp;
  size_t nfns;
  table fn_ids;
  loc_rec *locs;
  Gt__Pprof__Location **locp;
  size_t nlocs, caplocs;
  table loc_ids;
  map_rec *maps;
  size_t nmaps, capmaps;
  uint64_t nmapped;
  sample_rec *samples;
  Gt__Pprof__Sample **samplep;
  size_t nsamples, capsamples;
  bool failed; /* out of memory: no profile this time */
} builder;

static uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  return h ^ (h >> 33);
}

static uint64_t hash_str(const char *s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
  return h;
}

static bool table_init(table *t, size_t entries) {
  size_t cap = 64;
  while (cap < 2 * entries)
    cap *= 2;
  t->key = calloc(cap, sizeof *t->key);
  t->id = calloc(cap, sizeof *t->id);
  t->mask = cap - 1;
  return t->key && t->id;
}

typedef bool same_fn(const builder *b, uint32_t id, const void *what);

/* The slot holding what (hashed to h), or the empty one it goes in. The
 * table has room: it holds at most half its capacity. */
static size_t table_find(const table *t, uint64_t h, same_fn *same,
                         const builder *b, const void *what) {
  size_t j = h & t->mask;
  while (t->id[j] && !(t->key[j] == h && same(b, t->id[j], what)))
    j = (j + 1) & t->mask;
  return j;
}

static bool same_str(const builder *b, uint32_t id, const void *what) {
  return strcmp(b->strs[id], what) == 0;
}

/* The string table index of s; 0 ("") for NULL or "". */
static int64_t str(builder *b, const char *s) {
  if (!s || !*s) return 0;
  uint64_t h = hash_str(s);
  size_t j = table_find(&b->str_ids, h, same_str, b, s);
  if (b->str_ids.id[j]) return b->str_ids.id[j];
  char *copy = b->nstrs < b->capstrs ? strdup(s) : NULL;
  if (!copy) {
    b->failed = true;
    return 0;
  }
  b->strs[b->nstrs] = copy;
  b->str_ids.key[j] = h;
  b->str_ids.id[j] = (uint32_t)b->nstrs;
  return (int64_t)b->nstrs++;
}

static bool same_fn_key(const builder *b, uint32_t id, const void *what) {
  const int64_t *k = what;
  return b->fns[id - 1].name == k[0] && b->fns[id - 1].filename == k[1];
}

/* The id of the function called name in file (NULL: unknown). */
static uint64_t function(builder *b, const char *name, const char *file) {
  int64_t k[2] = {str(b, name), str(b, file)};
  uint64_t h = mix((uint64_t)k[0] * 0x9e3779b97f4a7c15ull ^ (uint64_t)k[1]);
  size_t j = table_find(&b->fn_ids, h, same_fn_key, b, k);
  if (b->fn_ids.id[j]) return b->fn_ids.id[j];
  if (b->nfns == b->caplocs) { /* at most one function per location */
    b->failed = true;
    return 0;
  }
  Gt__Pprof__Function *f = &b->fns[b->nfns];
  *f = (Gt__Pprof__Function)GT__PPROF__FUNCTION__INIT;
  f->id = ++b->nfns;
  f->name = f->system_name = k[0];
  f->filename = k[1];
  b->fnp[f->id - 1] = f;
  b->fn_ids.key[j] = h;
  b->fn_ids.id[j] = (uint32_t)f->id;
  return f->id;
}

/* Gives m an id and its file's build id: the frame's, or (the executable
 * of gt_malloc sites has no frame) that of the module at its start. */
static map_rec *use_mapping(builder *b, map_rec *m, const gt_frame *f) {
  if (!f || !f->build_id) f = gt__symbolize(m->start + 1, false);
  if (!m->m.id) {
    m->m = (Gt__Pprof__Mapping)GT__PPROF__MAPPING__INIT;
    m->m.id = ++b->nmapped;
    m->m.memory_start = m->start;
    m->m.memory_limit = m->end;
    m->m.file_offset = m->offset;
    m->m.filename = str(b, m->path);
  }
  if (!m->m.build_id && f && f->build_id && f->module_path && m->path &&
      strcmp(f->module_path, m->path) == 0)
    m->m.build_id = str(b, f->build_id);
  return m;
}

/* The segment holding addr; for a module no longer in /proc/self/maps
 * (unloaded since), what the symbolizer knew of it. */
static map_rec *mapping_of(builder *b, uintptr_t addr, const gt_frame *f) {
  for (size_t i = 0; i < b->nmaps; i++)
    if (addr >= b->maps[i].start && addr < b->maps[i].end)
      return use_mapping(b, &b->maps[i], f);
  if (!f || !f->module_path || b->nmaps == b->capmaps) return NULL;
  map_rec *m = &b->maps[b->nmaps];
  *m = (map_rec){.start = f->module_start, .end = f->module_end};
  if (!(m->path = strdup(f->module_path))) return NULL;
  b->nmaps++;
  return use_mapping(b, m, f);
}

static loc_rec *new_location(builder *b) {
  if (b->nlocs == b->caplocs) {
    b->failed = true;
    return NULL;
  }
  loc_rec *l = &b->locs[b->nlocs];
  l->m = (Gt__Pprof__Location)GT__PPROF__LOCATION__INIT;
  l->line = (Gt__Pprof__Line)GT__PPROF__LINE__INIT;
  l->lines[0] = &l->line;
  l->m.line = l->lines;
  l->m.n_line = 1;
  l->m.id = ++b->nlocs;
  b->locp[l->m.id - 1] = &l->m;
  return l;
}

static bool same_pc(const builder *b, uint32_t id, const void *what) {
  return b->locs[id - 1].m.address + 1 == *(const uintptr_t *)what;
}

/* The location of a return address: the call before it. */
static uint64_t pc_location(builder *b, uintptr_t ra) {
  uint64_t h = mix(ra);
  size_t j = table_find(&b->loc_ids, h, same_pc, b, &ra);
  if (b->loc_ids.id[j]) return b->loc_ids.id[j];
  loc_rec *l = new_location(b);
  if (!l) return 0;
  l->m.address = ra - 1;
  const gt_frame *f = gt__symbolize(ra, true);
  char name[512];
  if (f)
    gt__frame_name(f, name, sizeof name);
  else
    snprintf(name, sizeof name, "0x%lx", (unsigned long)(ra - 1));
  const char *file = f ? f->file : NULL;
  l->line.function_id = function(b, name, file);
  l->line.line = file ? f->line : 0;
  map_rec *m = mapping_of(b, ra - 1, f);
  if (m) {
    l->m.mapping_id = m->m.id;
    m->nlocs++;
    m->nfuncs += f && f->function;
    m->nfiles += file != NULL;
    m->nlines += file && f->line > 0;
  }
  b->loc_ids.key[j] = h;
  b->loc_ids.id[j] = (uint32_t)l->m.id;
  return l->m.id;
}

/* A gt_malloc site: its name is the function, at its file:line. */
static uint64_t site_location(builder *b, const gt_site *s) {
  loc_rec *l = new_location(b);
  if (!l) return 0;
  l->line.function_id = function(b, s->name, s->file);
  l->line.line = s->file ? s->line : 0;
  return l->m.id;
}

/* The site's values: 0 for live ones that were not counted. */
static bool site_values(const gt_site *s, bool final, int64_t *v) {
#define LOAD(e, type, unit, field, at_exit)                                    \
  v[V_##e] =                                                                   \
      at_exit && !final                                                        \
          ? 0                                                                  \
          : (int64_t)atomic_load_explicit(&s->field, memory_order_relaxed);
  VALUES(LOAD)
#undef LOAD
  for (int i = 0; i < NVALUES; i++)
    if (v[i]) return true;
  return false;
}

static void add_sample(builder *b, uint32_t id, bool final) {
  const gt_site *s = gt__site(id);
  int64_t v[NVALUES];
  if (!site_values(s, final, v)) return;
  size_t nlocs = s->npcs ? s->npcs : 1;
  if (b->nsamples == b->capsamples || b->caplocs - b->nlocs < nlocs)
    return; /* first counted after the first pass: the next profile has it */
  sample_rec *r = &b->samples[b->nsamples];
  r->m = (Gt__Pprof__Sample)GT__PPROF__SAMPLE__INIT;
  memcpy(r->values, v, sizeof v);
  r->m.value = r->values;
  r->m.n_value = NVALUES;
  for (int i = 0; i < s->npcs; i++)
    r->locs[i] = pc_location(b, s->pcs[i]);
  if (!s->npcs) r->locs[0] = site_location(b, s);
  r->m.location_id = r->locs;
  r->m.n_location_id = nlocs;
  /* A stack site's name is the worker's to set: read once it is. */
  if (gt__site_resolved(id) && s->name) {
    r->label = (Gt__Pprof__Label)GT__PPROF__LABEL__INIT;
    r->label.key = str(b, "name");
    r->label.str = str(b, s->name);
    r->labels[0] = &r->label;
    r->m.label = r->labels;
    r->m.n_label = 1;
  }
  b->samplep[b->nsamples++] = &r->m;
}

/* Every site: the regular ones (1..n), then the reserved ones. */
#define EACH_SITE(id, n)                                                       \
  for (uint32_t id = (n) ? 1 : GT_FIRST_RESERVED; id <= GT_OTHER_SITE;         \
       id = id == (n) ? GT_FIRST_RESERVED : id + 1)

/* The executable segments of loaded files; the executable's index, or
 * -1. Room is left for SPARE_MAPPINGS more. */
static long read_maps(builder *b) {
  char exe[PATH_MAX] = "", line[PATH_MAX + 128];
  ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
  exe[k > 0 ? k : 0] = '\0';
  long exe_at = -1;
  FILE *f = fopen("/proc/self/maps", "re");
  while (f && fgets(line, sizeof line, f)) {
    unsigned long start, end, off;
    char perms[8];
    int at = 0;
    if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %n", &start, &end, perms, &off,
               &at) < 4 ||
        !strchr(perms, 'x') || !at || !line[at])
      continue;
    line[strcspn(line, "\n")] = '\0';
    if (b->nmaps + SPARE_MAPPINGS == b->capmaps) {
      map_rec *more = realloc(b->maps, 2 * b->capmaps * sizeof *more);
      if (!more) break;
      b->maps = more;
      b->capmaps *= 2;
    }
    map_rec *m = &b->maps[b->nmaps];
    *m = (map_rec){.start = start, .end = end, .offset = off};
    if (!(m->path = strdup(line + at))) break;
    if (exe_at < 0 && strcmp(m->path, exe) == 0) exe_at = (long)b->nmaps;
    b->nmaps++;
  }
  if (f) fclose(f);
  return exe_at;
}

/* Sizes every array from the sites counted so far (n of them); a site
 * counted between this pass and the next is left out. */
static bool builder_init(builder *b, uint32_t n, bool final) {
  size_t samples = 0, locs = 0;
  int64_t v[NVALUES];
  EACH_SITE(id, n) {
    const gt_site *s = gt__site(id);
    if (!site_values(s, final, v)) continue;
    samples++;
    locs += s->npcs ? s->npcs : 1;
  }
  b->capsamples = samples;
  b->caplocs = locs;
  b->capmaps = 64;
  if (!(b->maps = calloc(b->capmaps, sizeof *b->maps))) return false;
  long exe = read_maps(b);
  /* a name and a file per location, a path and a build id per mapping */
  b->capstrs = FIXED_STRINGS + samples + 2 * locs + 2 * b->capmaps;
  b->samples = calloc(samples + 1, sizeof *b->samples);
  b->samplep = calloc(samples + 1, sizeof *b->samplep);
  b->locs = calloc(locs + 1, sizeof *b->locs);
  b->locp = calloc(locs + 1, sizeof *b->locp);
  b->fns = calloc(locs + 1, sizeof *b->fns);
  b->fnp = calloc(locs + 1, sizeof *b->fnp);
  b->strs = calloc(b->capstrs, sizeof *b->strs);
  if (!b->samples || !b->samplep || !b->locs || !b->locp || !b->fns ||
      !b->fnp || !b->strs || !table_init(&b->str_ids, b->capstrs) ||
      !table_init(&b->fn_ids, locs) || !table_init(&b->loc_ids, locs))
    return false;
  b->strs[b->nstrs++] = "";
  if (exe >= 0) use_mapping(b, &b->maps[exe], NULL); /* mapping[0] */
  return true;
}

static void builder_free(builder *b) {
  for (size_t i = 1; i < b->nstrs; i++)
    free(b->strs[i]);
  for (size_t i = 0; i < b->nmaps; i++)
    free(b->maps[i].path);
  free(b->strs);
  free(b->str_ids.key);
  free(b->str_ids.id);
  free(b->fns);
  free(b->fnp);
  free(b->fn_ids.key);
  free(b->fn_ids.id);
  free(b->locs);
  free(b->locp);
  free(b->loc_ids.key);
  free(b->loc_ids.id);
  free(b->maps);
  free(b->samples);
  free(b->samplep);
}

static int64_t clock_ns(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The mappings with an id, in id order; the has_* flags say whether
 * every location in each has a function, a file and a line: pprof looks
 * for the others' binaries to symbolize them itself. */
static Gt__Pprof__Mapping **mappings(builder *b) {
  Gt__Pprof__Mapping **out = calloc(b->nmapped + 1, sizeof *out);
  for (size_t i = 0; out && i < b->nmaps; i++) {
    map_rec *m = &b->maps[i];
    if (!m->m.id) continue;
    m->m.has_functions = m->nfuncs == m->nlocs;
    m->m.has_filenames = m->nfiles == m->nlocs;
    m->m.has_line_numbers = m->nlines == m->nlocs;
    m->m.has_inline_frames = false; /* not expanded: one line each */
    out[m->m.id - 1] = &m->m;
  }
  return out;
}

typedef struct head {
  Gt__Pprof__ValueType types[NVALUES], *typep[NVALUES], period;
  int64_t comments[2];
} head;

/* Everything but the tables: value types, times, comments. */
static void fill_head(builder *b, Gt__Pprof__Profile *p, head *h,
                      int64_t start_ns, uint64_t period, bool final) {
  static const char *const names[NVALUES][2] = {
#define NAME(e, type, unit, field, at_exit) {type, unit},
      VALUES(NAME)
#undef NAME
  };
  for (int i = 0; i < NVALUES; i++) {
    h->types[i] = (Gt__Pprof__ValueType)GT__PPROF__VALUE_TYPE__INIT;
    h->types[i].type = str(b, names[i][0]);
    h->types[i].unit = str(b, names[i][1]);
    h->typep[i] = &h->types[i];
  }
  p->sample_type = h->typep;
  p->n_sample_type = NVALUES;
  p->default_sample_type = h->types[DEFAULT_VALUE].type;
  p->time_nanos = clock_ns(CLOCK_REALTIME);
  p->duration_nanos = clock_ns(CLOCK_MONOTONIC) - start_ns;
  h->period = (Gt__Pprof__ValueType)GT__PPROF__VALUE_TYPE__INIT;
  h->period.type = str(b, "tracked_allocations");
  h->period.unit = str(b, "count");
  p->period_type = &h->period;
  p->period = (int64_t)period;
  p->comment = h->comments;
  h->comments[p->n_comment++] =
      str(b, final ? "garbage-texts: objects reclaimed, freed and live at "
                     "exit, by allocation site"
                   : "garbage-texts: objects reclaimed and freed so far, by "
                     "allocation site (live objects are counted at exit)");
  if (period > 1)
    h->comments[p->n_comment++] =
        str(b, "gt.alloc_sample_every: only 1 allocation in `period` "
               "was tracked; values count tracked objects");
}

int gt__profile_encode(int64_t start_ns, uint64_t period, bool final,
                       uint8_t **out, size_t *len) {
  gt__intern_setup();
  uint32_t n = gt__site_count();
  builder b = {0};
  Gt__Pprof__Profile p = GT__PPROF__PROFILE__INIT;
  head h;
  *out = NULL;
  b.failed = !builder_init(&b, n, final);
  if (!b.failed) {
    fill_head(&b, &p, &h, start_ns, period, final);
    EACH_SITE(id, n) add_sample(&b, id, final);
  }
  Gt__Pprof__Mapping **maps = b.failed ? NULL : mappings(&b);
  if (maps) {
    p.sample = b.samplep;
    p.n_sample = b.nsamples;
    p.mapping = maps;
    p.n_mapping = b.nmapped;
    p.location = b.locp;
    p.n_location = b.nlocs;
    p.function = b.fnp;
    p.n_function = b.nfns;
    p.string_table = b.strs;
    p.n_string_table = b.nstrs;
    *len = gt__pprof__profile__get_packed_size(&p);
    if ((*out = malloc(*len ? *len : 1))) gt__pprof__profile__pack(&p, *out);
  }
  free(maps);
  builder_free(&b);
  return *out ? 0 : GT_ENOMEM;
}
