/* The allocation workload (see workload.h). Everything the test keeps is
 * in uncollectable memory or on a mutator's stack, never in a static: it
 * must also hold under GC_set_no_dls(1), where static data is no root. */
#include "workload.h"

#include "torture.h"

const size_t tt_sizes_all[] = {
#define S10(b)                                                                 \
  b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8, b + 9, b + 10
    S10(0),   S10(10),  S10(20),  S10(30),  S10(40),  S10(50),  S10(60),
    S10(70),  S10(80),  S10(90),  S10(100), S10(110), S10(120), S10(130),
    S10(140), S10(150), S10(160), S10(170), S10(180), S10(190), S10(200),
    S10(210), S10(220), S10(230), S10(240), S10(250), S10(260), S10(270),
    S10(280), S10(290), 1000,     4096,     10000,    70000,
#undef S10
};
const size_t tt_sizes_all_n = sizeof tt_sizes_all / sizeof *tt_sizes_all;

static const char *const fn_name[TT_NFN] = {
    "t.malloc", "t.atomic", "t.at", "t.calloc", "t.realloc", "t.strdup"};
#define CHURN_NAME "t.churn"

unsigned tt_parse_fns(const char *arg, bool *fill_all) {
  static const char *const short_name[TT_NFN] = {"malloc", "atomic",  "at",
                                                 "calloc", "realloc", "strdup"};
  unsigned set = 0;
  char buf[128];
  snprintf(buf, sizeof buf, "%s", arg);
  for (char *save, *t = strtok_r(buf, ",", &save); t;
       t = strtok_r(NULL, ",", &save)) {
    if (strcmp(t, "+req") == 0) {
      *fill_all = false;
      continue;
    }
    if (strcmp(t, "+all") == 0) {
      *fill_all = true;
      continue;
    }
    int f = 0;
    while (f < TT_NFN && strcmp(short_name[f], t) != 0)
      f++;
    if (f == TT_NFN) {
      fprintf(stderr, "unknown function '%s'\n", t);
      exit(2);
    }
    set |= 1u << f;
  }
  return set;
}

/* One live object. Only small numbers besides the pointer: the ring is
 * scanned, and a word that looks like a pointer would pin an object. */
typedef struct entry {
  void *p;
  uint32_t index, gen;
  uint32_t fill; /* bytes filled with the pattern */
  uint32_t req;  /* bytes requested */
  uint32_t fn;
} entry;

typedef struct mutator {
  const tt_work *w;
  uint32_t id;
  entry *ring; /* uncollectable */
  _Atomic int done_ops;
  uint64_t allocated[TT_NFN], freed[TT_NFN];
  uint64_t corrupt, null;
} mutator;

static _Atomic bool churn_stop;
static _Atomic uint64_t churn_allocated;
static _Atomic int corrupt_printed;

/* Verifies an object's whole filled content; prints the first few
 * corruptions in detail. */
static bool verify(mutator *m, const entry *e, const char *when) {
  uint64_t seed = tt_seed(m->id, e->index, e->gen);
  long off = tt_verify(e->p, e->fill, e->fill, seed);
  if (off < 0) return true;
  m->corrupt++;
  if (atomic_fetch_add(&corrupt_printed, 1) < 8) {
    const uint8_t *b = e->p;
    fprintf(stderr,
            "FAIL corrupt object (%s): thread %u object %u (%s, %u bytes "
            "requested, %u filled) at %p: byte %ld is 0x%02x, expected "
            "0x%02x\n",
            when, m->id, e->index, fn_name[e->fn], e->req, e->fill, e->p, off,
            b[off], tt_byte(seed, (size_t)off, e->fill));
  }
  return false;
}

static void fill(const mutator *m, entry *e) {
  e->fill = m->w->fill_all ? (uint32_t)GC_size(e->p) : e->req;
  tt_fill(e->p, e->fill, tt_seed(m->id, e->index, e->gen));
}

static size_t pick_size(const mutator *m, uint32_t i) {
  const tt_work *w = m->w;
  return w->sizes[(i * 7 + m->id * 13) % w->nsizes];
}

static enum tt_fn pick_fn(const mutator *m, uint32_t i) {
  unsigned fns = m->w->fns ? m->w->fns : TT_ALL_FNS;
  for (uint32_t k = 0;; k++) {
    unsigned f = (i + m->id + k) % TT_NFN;
    if (fns & (1u << f)) return (enum tt_fn)f;
  }
}

/* gt_realloc: allocate, fill, move to another size, check that the
 * common prefix survived. The object counts once, under its name. */
static void *realloc_op(mutator *m, entry *e, size_t size) {
  size_t first = pick_size(m, e->index * 3 + 1);
  void *p = gt_malloc(first, fn_name[TT_REALLOC]);
  if (!p) return NULL;
  entry old = {.p = p, .index = e->index, .gen = 0, .req = (uint32_t)first};
  fill(m, &old);
  void *q = gt_realloc(p, size);
  if (!q) {
    CHECK(false, "gt_realloc(%zu -> %zu) returned NULL", first, size);
    return p; /* still ours, still counted */
  }
  size_t keep = first < size ? first : size;
  long off = tt_verify(q, keep, old.fill, tt_seed(m->id, e->index, 0));
  if (off >= 0) {
    m->corrupt++;
    CHECK(false,
          "gt_realloc(%zu -> %zu) lost content: byte %ld of %zu kept bytes "
          "differs",
          first, size, off, keep);
  }
  e->gen = 1;
  return q;
}

static void *strdup_op(mutator *m, size_t size) {
  char buf[512], *s = size <= sizeof buf ? buf : malloc(size);
  if (!s) return NULL;
  for (size_t j = 0; j + 1 < size; j++)
    s[j] = (char)('a' + (j + m->id) % 26);
  s[size - 1] = 0;
  char *q = gt_strdup(s, fn_name[TT_STRDUP]);
  if (q && memcmp(q, s, size) != 0) {
    m->corrupt++;
    CHECK(false, "gt_strdup of %zu bytes: the copy differs", size);
  }
  if (s != buf) free(s);
  return q;
}

static void *calloc_op(mutator *m, size_t size) {
  size_t n = size % 3 == 0 ? 3 : 1, each = size / n;
  unsigned char *p = gt_calloc(n, each, fn_name[TT_CALLOC]);
  if (!p) return NULL;
  for (size_t j = 0; j < n * each; j++)
    if (p[j]) {
      m->corrupt++;
      CHECK(false, "gt_calloc(%zu, %zu): byte %zu is 0x%02x, not zero", n, each,
            j, p[j]);
      break;
    }
  return p;
}

/* One allocation into e (whose index is set). */
static void allocate(mutator *m, entry *e, enum tt_fn fn) {
  size_t size = pick_size(m, e->index);
  void *p = NULL;
  e->gen = 0;
  e->fn = fn;
  e->req = (uint32_t)size;
  switch (fn) {
  case TT_MALLOC:
    p = gt_malloc(size, fn_name[fn]);
    break;
  case TT_ATOMIC:
    p = gt_malloc_atomic(size, fn_name[fn]);
    break;
  case TT_AT:
    p = gt_malloc_at(size, fn_name[fn], __FILE__, __LINE__);
    break;
  case TT_CALLOC:
    p = calloc_op(m, size);
    e->req =
        (uint32_t)(size / (size % 3 == 0 ? 3 : 1) * (size % 3 == 0 ? 3 : 1));
    break;
  case TT_REALLOC:
    p = realloc_op(m, e, size);
    break;
  case TT_STRDUP:
    p = strdup_op(m, size);
    break;
  case TT_NFN:
    break;
  }
  e->p = p;
  if (!p) {
    m->null++;
    return;
  }
  m->allocated[fn]++;
  fill(m, e);
}

static void *mutate(void *arg) {
  mutator *m = arg;
  const tt_work *w = m->w;
  for (int i = 0; i < w->ops; i++) {
    entry *e = &m->ring[i % w->ring];
    if (e->p) {
      verify(m, e, "leaving the ring");
      if (w->free_every && i % w->free_every == 0) {
        gt_free(e->p);
        m->freed[e->fn]++;
      }
      e->p = NULL;
    }
    e->index = (uint32_t)i;
    allocate(m, e, pick_fn(m, (uint32_t)i));
    if (w->collect_every && i % w->collect_every == w->collect_every - 1)
      gt_collect();
    atomic_store_explicit(&m->done_ops, i + 1, memory_order_relaxed);
  }
  return NULL;
}

/* Garbage of gt's kinds and of bdwgc's own, and collections (bdwgc's and
 * gt's) at any moment of the mutators' work: a collection during a cache
 * refill is what hands one slot out twice. */
static TT_NOINLINE void churn_garbage(void) {
  for (int j = 0; j < 32; j++) {
    void *p = j & 1 ? gt_malloc_atomic(16 + (size_t)j * 3, CHURN_NAME)
                    : gt_malloc(8 + (size_t)j * 5, CHURN_NAME);
    GC_reachable_here(p);
    GC_reachable_here(GC_MALLOC(64));
  }
  atomic_fetch_add(&churn_allocated, 32);
}

static void *churn(void *arg) {
  (void)arg;
  for (unsigned k = 0; !atomic_load(&churn_stop); k++) {
    churn_garbage();
    if (k % 4 == 3)
      gt_collect();
    else
      GC_gcollect();
  }
  return NULL;
}

static int cmp_entry(const void *a, const void *b) {
  uintptr_t x = (uintptr_t)((const entry *)a)->p,
            y = (uintptr_t)((const entry *)b)->p;
  return x < y ? -1 : x > y;
}

/* No two live objects may share a byte (a slot handed out twice). */
static void check_distinct(mutator *ms, int nt, int ring) {
  entry *all = malloc((size_t)nt * (size_t)ring * sizeof *all);
  size_t n = 0;
  for (int t = 0; t < nt; t++)
    for (int i = 0; i < ring; i++)
      if (ms[t].ring[i].p) all[n++] = ms[t].ring[i];
  qsort(all, n, sizeof *all, cmp_entry);
  size_t overlaps = 0;
  for (size_t i = 1; i < n; i++)
    if ((uintptr_t)all[i].p < (uintptr_t)all[i - 1].p + all[i - 1].fill) {
      if (overlaps++ < 5)
        fprintf(stderr,
                "FAIL live objects overlap: %p (%s, %u bytes) and %p (%s)\n",
                all[i - 1].p, fn_name[all[i - 1].fn], all[i - 1].fill, all[i].p,
                fn_name[all[i].fn]);
    }
  CHECK(overlaps == 0, "%zu of %zu live objects share memory with another",
        overlaps, n);
  memset(all, 0, n * sizeof *all);
  free(all);
}

/* Drops every object: the rings are cleared and freed, the mutators have
 * exited, so nothing the test holds points into gt's objects. */
static TT_NOINLINE void drop_all(mutator *ms, int nt, int ring) {
  for (int t = 0; t < nt; t++) {
    memset(ms[t].ring, 0, (size_t)ring * sizeof(entry));
    GC_FREE(ms[t].ring);
    ms[t].ring = NULL;
  }
}

static void check_counts(const mutator *ms, int nt) {
  uint64_t alloc[TT_NFN] = {0}, freed[TT_NFN] = {0}, all = 0, all_freed = 0;
  for (int t = 0; t < nt; t++)
    for (int f = 0; f < TT_NFN; f++) {
      alloc[f] += ms[t].allocated[f];
      freed[f] += ms[t].freed[f];
    }
  for (int f = 0; f < TT_NFN; f++) {
    all += alloc[f];
    all_freed += freed[f];
  }
  uint64_t churned = atomic_load(&churn_allocated);
  all += churned;
  gt_stats s;
  gt_get_stats(&s);
  bool ok = CHECK_EQ(s.allocated, all, "stats.allocated (every call counted)");
  ok &= CHECK_EQ(s.tracked, s.allocated, "stats.tracked (default: all)");
  ok &= CHECK_EQ(s.freed, all_freed, "stats.freed (gt_free calls)");
  ok &= CHECK_EQ(s.collected + s.freed, all,
                 "stats.collected + stats.freed after dropping everything");
  for (int f = 0; f < TT_NFN; f++) {
    if (!alloc[f]) continue;
    gt_name_stats n = tt_name(fn_name[f]);
    char what[96];
    snprintf(what, sizeof what, "name %s: collected + freed", fn_name[f]);
    ok &= CHECK_EQ(n.collected + n.freed, alloc[f], what);
    snprintf(what, sizeof what, "name %s: freed", fn_name[f]);
    ok &= CHECK_EQ(n.freed, freed[f], what);
  }
  if (churned) {
    gt_name_stats n = tt_name(CHURN_NAME);
    ok &= CHECK_EQ(n.collected + n.freed, churned,
                   "name " CHURN_NAME ": collected + freed");
  }
  if (!ok) {
    tt_print_stats("after dropping everything");
    tt_note_heap_growth();
  }
}

void tt_work_run(const tt_work *w) {
  mutator *ms = calloc((size_t)w->threads, sizeof *ms);
  pthread_t *th = calloc((size_t)w->threads, sizeof *th);
  atomic_store(&churn_stop, false);
  atomic_store(&churn_allocated, 0);
  tt_step("mutators running");
  for (int t = 0; t < w->threads; t++) {
    ms[t].w = w;
    ms[t].id = (uint32_t)t + 1;
    ms[t].ring = GC_MALLOC_UNCOLLECTABLE((size_t)w->ring * sizeof(entry));
    th[t] = tt_spawn(mutate, &ms[t]);
  }
  pthread_t ch = w->churn ? tt_spawn(churn, NULL) : (pthread_t)0;
  if (w->midway) {
    for (;;) {
      long done = 0;
      for (int t = 0; t < w->threads; t++)
        done += atomic_load_explicit(&ms[t].done_ops, memory_order_relaxed);
      if (done >= (long)w->threads * w->ops / 2) break;
      tt_sleep_ms(1);
    }
    w->midway();
  }
  for (int t = 0; t < w->threads; t++)
    tt_join(th[t]);
  atomic_store(&churn_stop, true);
  if (w->churn) tt_join(ch);

  tt_step("verifying live objects");
  uint64_t corrupt = 0, nulls = 0, objects = 0;
  for (int t = 0; t < w->threads; t++)
    for (int i = 0; i < w->ring; i++)
      if (ms[t].ring[i].p) verify(&ms[t], &ms[t].ring[i], "at the end");
  for (int t = 0; t < w->threads; t++) {
    corrupt += ms[t].corrupt;
    nulls += ms[t].null;
    for (int f = 0; f < TT_NFN; f++)
      objects += ms[t].allocated[f];
  }
  CHECK(corrupt == 0, "%llu of %llu objects were corrupted",
        (unsigned long long)corrupt, (unsigned long long)objects);
  CHECK(nulls == 0, "%llu allocations returned NULL",
        (unsigned long long)nulls);
  check_distinct(ms, w->threads, w->ring);

  tt_step("dropping everything and collecting");
  drop_all(ms, w->threads, w->ring);
  tt_collect_settle(5);
  tt_step("checking counts");
  check_counts(ms, w->threads);
  free(ms);
  free(th);
}
