/* The gt_malloc family.
 *
 * Objects live in two gt-owned GC kinds (pointer-holding and pointer-free)
 * whose disclaim procedure runs when the sweeper reclaims an object: no
 * finalizer table, reclaimed in the cycle that found it dead.
 *
 * The one-word header sits in the last word of the object's slot, not in
 * front of the payload:
 *  - the user pointer is the object's base, so GC_base(p) == p and the
 *    object works with every bdwgc call (gt_watch, GC_size, finalizers);
 *  - bdwgc adds one byte to each request so that a pointer just past the
 *    end keeps the object alive; past the payload is now our header, which
 *    does the same job, so we ask for size + 8 - 1 bytes and a 24-byte node
 *    still takes a 32-byte slot, as with GC_MALLOC(24);
 *  - a free-list link overwrites the first word, never the last, and
 *    cleared kinds zero the rest, so a free slot never looks live.
 * The header always has bit 62 set, which no user-space address has, so a
 * conservative scan of a pointer-holding object never mistakes it for a
 * pointer. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gc.h>
#include <gc/gc_disclaim.h>
#include <gc/gc_inline.h>
#include <gc/gc_mark.h>

#include "gt_internal.h"

#define H_LIVE (1ull << 63)   /* tracked and not yet reported */
#define H_GT (1ull << 62)     /* a gt object (also when untracked) */
#define H_ATOMIC (1ull << 61) /* pointer-free payload */
#define H_AGE (1ull << 60)    /* a birth word precedes the header */
#define H_SITE_SHIFT 40
#define H_SITE_MASK ((1ull << GT_SITE_BITS) - 1)
#define H_SIZE_MASK ((1ull << H_SITE_SHIFT) - 1)
#define HDR_BYTES sizeof(uint64_t)
#define HBLK 4096 /* bdwgc's HBLKSIZE on Debian amd64 (LOG_HBLKSIZE 12) */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int kind_ptr = -1, kind_atomic = -1;
static size_t extra_byte; /* 1 when bdwgc pads requests for interior ptrs */
static _Atomic enum gt_mechanism mechanism = GT_MECH_DISCLAIM;
static _Atomic uint64_t alloc_every = 1;
static _Atomic bool track_age;
static _Atomic bool ready;      /* setup_kinds has run */
static _Atomic bool kinds_used; /* an object of our kinds was handed out */
static _Atomic uint64_t walk_req, walk_done;
static GC_on_collection_event_proc prev_event_proc;

/* Allocation counters are per thread so gt_malloc does no locked add;
 * gt_get_stats sums them. Records of exited threads stay in the list. */
typedef struct tcount {
  _Atomic uint64_t allocated, tracked;
  uint64_t until_tracked; /* countdown for gt.alloc_sample_every */
  struct tcount *next;
} tcount;
static pthread_mutex_t tlist_lock = PTHREAD_MUTEX_INITIALIZER;
static tcount *tlist;
static __attribute__((tls_model("initial-exec"))) _Thread_local tcount *tc;
static tcount fallback; /* if malloc fails: shared, still exact-ish */

static uint64_t *header_of(void *base, size_t slot) {
  return (uint64_t *)((char *)base + slot - HDR_BYTES);
}

static uint32_t site_of(uint64_t h) {
  return (uint32_t)((h >> H_SITE_SHIFT) & H_SITE_MASK);
}

/* The sweeper reclaims runs of objects of one site and size (a block
 * holds one size, and programs allocate in runs), so the disclaim path
 * extends a run per thread instead of pushing each object. The run is
 * pushed when the next object differs, and by every thread that can have
 * swept: after each of our allocation calls (lazy sweeps of our kinds
 * happen only there) and at each collection event (sweeps in collections
 * happen in the collecting thread). */
typedef struct run {
  uint32_t site;
  uint16_t count;
  uint64_t size;
} run;
static __attribute__((tls_model("initial-exec"))) _Thread_local run pending;

static void flush_pending(void) {
  if (pending.count) {
    gt__emit_run(pending.site, pending.size, pending.count);
    pending.count = 0;
  }
}

static void report(void *obj, size_t slot) {
  uint64_t *hp = header_of(obj, slot), h = *hp;
  if (!(h & H_LIVE)) return;
  *hp = h & ~H_LIVE; /* exactly once, whoever sees it first */
  uint32_t site = site_of(h);
  uint64_t size = h & H_SIZE_MASK;
  if (h & H_AGE) { /* ages are per object */
    gt__emit(site, GT_EV_COLLECTED, size, hp - 1);
    return;
  }
  if (pending.count && pending.site == site && pending.size == size &&
      pending.count < UINT16_MAX) {
    pending.count++;
    return;
  }
  flush_pending();
  pending = (run){.site = site, .count = 1, .size = size};
}

/* Called by the sweeper, allocation lock held: read our own header, push,
 * nothing else (no lock, no allocation, no other object). */
static int GC_CALLBACK on_disclaim(void *obj) {
  report(obj, GC_size(obj));
  return 0; /* reclaim it now */
}

/* Finalizers run after a collection, in whatever thread invokes them:
 * they push at once rather than leave a run pending. */
static void GC_CALLBACK on_finalize(void *obj, void *cd) {
  (void)cd;
  report(obj, GC_size(obj));
  flush_pending();
}

/* bdwgc sweeps lazily and skips nearly-full blocks, so a dead object may
 * stay unswept for many collections. When gt_collect asks, we visit every
 * block of our kinds that still holds a live object, right after marking
 * (mark bits valid, lock held), and report its unmarked tracked slots. */
typedef struct walk_ctx {
  uintptr_t last_block;
} walk_ctx;

static void GC_CALLBACK visit(void *obj, size_t bytes, void *cd) {
  walk_ctx *w = cd;
  uintptr_t blk = (uintptr_t)obj & ~(uintptr_t)(HBLK - 1);
  if (blk == w->last_block) return;
  w->last_block = blk;
  if (bytes > HBLK / 2)
    return; /* a large object has its block alone: marked, hence alive */
  int k = GC_get_kind_and_size(obj, NULL);
  if (k != kind_ptr && k != kind_atomic) return;
  for (char *p = (char *)blk; p + bytes <= (char *)blk + HBLK; p += bytes)
    if ((*header_of(p, bytes) & H_LIVE) && !GC_is_marked(p)) report(p, bytes);
}

static void GC_CALLBACK on_collection(GC_EventType e) {
  flush_pending(); /* this thread may have swept */
  if (e == GC_EVENT_RECLAIM_END) {
    uint64_t want = atomic_load(&walk_req);
    if (want != atomic_load(&walk_done)) {
      walk_ctx w = {0};
      GC_enumerate_reachable_objects_inner(visit, &w);
      flush_pending();
      atomic_store(&walk_done, want);
    }
  }
  if (prev_event_proc) prev_event_proc(e);
}

/* Per-thread caches of free slots of our kinds, refilled a block at a time
 * with GC_generic_malloc_many: bdwgc keeps thread-local free lists only for
 * its own kinds, and taking the allocation lock for every object cost more
 * than the rest of gt_malloc together.
 * Each cache is collected memory on a list whose head is a static (our data
 * segment is a root), so every cached slot is reachable and the collector
 * never sweeps or hands out one we still hold. A thread's exit only unlinks
 * its cache (bdwgc has unregistered the thread by then, so no GC call), and
 * the next collections reclaim the cache and its slots. */
#define TL_CLASSES 16      /* slots of 16..256 bytes */
#define TL_CAP (HBLK / 16) /* one block of the smallest slots */
typedef struct tl_cache {
  struct tl_cache *prev, *next;
  void *slots[2][TL_CLASSES + 1][TL_CAP];
  uint16_t n[2][TL_CLASSES + 1];
} tl_cache;
static __attribute__((tls_model("initial-exec"))) _Thread_local tl_cache *tl;
static tl_cache *tl_all; /* the root */
static pthread_mutex_t tl_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t tl_key;

static void tl_release(void *cache) {
  tl_cache *c = cache;
  pthread_mutex_lock(&tl_lock);
  if (c->prev)
    c->prev->next = c->next;
  else
    tl_all = c->next;
  if (c->next) c->next->prev = c->prev;
  pthread_mutex_unlock(&tl_lock);
}

static tl_cache *tl_get(void) {
  if (__builtin_expect(tl != NULL, 1)) return tl;
  tl_cache *c = GC_MALLOC(sizeof *c); /* on our stack until linked */
  if (!c) return NULL;
  pthread_mutex_lock(&tl_lock);
  c->next = tl_all;
  if (tl_all) tl_all->prev = c;
  tl_all = c;
  pthread_mutex_unlock(&tl_lock);
  pthread_setspecific(tl_key, c);
  return tl = c;
}

/* A cleared slot of kind k (0 ptr, 1 atomic) of `granules` granules, or
 * NULL; *slot gets its size. */
static void *tl_alloc(size_t granules, int k, size_t *slot) {
  tl_cache *c = tl_get();
  if (!c) return NULL;
  uint16_t *n = &c->n[k][granules];
  *slot = granules * 16;
  if (*n == 0) {
    void *list = NULL;
    /* It takes the slot size itself (extra byte included), as
     * GC_malloc_many passes it, not a request size. */
    GC_generic_malloc_many(granules * 16, k ? kind_atomic : kind_ptr, &list);
    if (list && !*(void **)list && GC_size(list) != *slot) {
      /* When the heap is full it falls back to one object allocated as a
       * request of that size, which gets a larger slot: use it as such. */
      *slot = GC_size(list);
      return list;
    }
    while (list) {
      /* Unlinked now: a cached slot is scanned (the cache is a root), and
       * its link would keep the slot handed out after it alive. */
      void *next = *(void **)list;
      *(void **)list = NULL;
      if (*n < TL_CAP)
        c->slots[k][granules][(*n)++] = list;
      else
        GC_FREE(list);
      list = next;
    }
    if (*n == 0) return NULL;
  }
  void *p = c->slots[k][granules][--*n];
  c->slots[k][granules][*n] = NULL;
  return p;
}

static void setup_kinds(void) {
  if (!GC_is_init_called()) GC_INIT();
  extra_byte = GC_get_all_interior_pointers() ? 1 : 0;
  /* Scanned like GC_MALLOC memory: the whole object is a length. */
  kind_ptr = (int)GC_new_kind(GC_new_free_list(), GC_DS_LENGTH, 1, 1);
  /* Length 0, not adjusted: never scanned, like GC_MALLOC_ATOMIC; cleared
   * so that a reused block cannot show a stale live header. */
  kind_atomic = (int)GC_new_kind(GC_new_free_list(), GC_DS_LENGTH, 0, 1);
  GC_register_disclaim_proc(kind_ptr, on_disclaim, 0);
  GC_register_disclaim_proc(kind_atomic, on_disclaim, 0);
  /* bdwgc creates a kind's reclaim list only in GC_generic_malloc, not in
   * GC_generic_malloc_many, and a collection leaves the free lists of a
   * kind without one in place, pointing into blocks it then frees. One
   * ordinary allocation per kind creates the lists. */
  GC_reachable_here(GC_generic_malloc(1, kind_ptr));
  GC_reachable_here(GC_generic_malloc(1, kind_atomic));
  pthread_key_create(&tl_key, tl_release);
  prev_event_proc = GC_get_on_collection_event();
  GC_set_on_collection_event(on_collection);
  atomic_store_explicit(&ready, true, memory_order_release);
}

int gt__alloc_setup(const gt_config *cfg) {
  pthread_once(&once, setup_kinds);
  atomic_store(&mechanism, cfg->mechanism);
  atomic_store(&alloc_every, cfg->alloc_sample_every);
  atomic_store(&track_age, cfg->track_age);
  return 0;
}

static tcount *counts(void) {
  if (__builtin_expect(tc != NULL, 1)) return tc;
  tcount *t = calloc(1, sizeof *t);
  if (!t) return &fallback;
  pthread_mutex_lock(&tlist_lock);
  t->next = tlist;
  tlist = t;
  pthread_mutex_unlock(&tlist_lock);
  return tc = t;
}

static void bump(_Atomic uint64_t *c) {
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                        memory_order_relaxed);
}

void gt__alloc_fork(enum gt_fork_phase phase) {
  if (phase == GT_FORK_PREPARE)
    pthread_mutex_lock(&tlist_lock);
  else
    pthread_mutex_unlock(&tlist_lock);
}

void gt__alloc_note_watch(void) {
  tcount *t = counts();
  bump(&t->allocated);
  bump(&t->tracked);
}

void gt__alloc_counts(uint64_t *allocated, uint64_t *tracked) {
  uint64_t a = atomic_load(&fallback.allocated),
           t = atomic_load(&fallback.tracked);
  pthread_mutex_lock(&tlist_lock);
  for (tcount *p = tlist; p; p = p->next) {
    a += atomic_load_explicit(&p->allocated, memory_order_relaxed);
    t += atomic_load_explicit(&p->tracked, memory_order_relaxed);
  }
  pthread_mutex_unlock(&tlist_lock);
  *allocated = a;
  *tracked = t;
}

/* Allocates a gt object for `site`; counts it unless it replaces one
 * (realloc). `track` < 0 means: decide by gt.alloc_sample_every. */
static void *alloc_obj(size_t size, uint32_t site, bool atomic, int track,
                       bool count) {
  if (!site || size > H_SIZE_MASK - 64) return NULL;
  if (!atomic_load_explicit(&ready, memory_order_acquire))
    pthread_once(&once, setup_kinds);
  tcount *t = counts();
  bool tracked = track > 0;
  if (track < 0) {
    uint64_t every = atomic_load_explicit(&alloc_every, memory_order_relaxed);
    tracked = every <= 1 || t->until_tracked-- == 0;
    if (tracked && every > 1) t->until_tracked = every - 1;
  }
  /* Only gt.track_age pays for a clock read and a second header word. */
  bool aged = tracked && atomic_load_explicit(&track_age, memory_order_relaxed);
  size_t hdr = aged ? 2 * HDR_BYTES : HDR_BYTES;
  size_t req = size + hdr - extra_byte;
  bool fin = atomic_load_explicit(&mechanism, memory_order_relaxed) ==
             GT_MECH_FINALIZER;
  void *p = NULL;
  size_t slot = 0, granules = (size + hdr + 15) / 16;
  if (!fin && granules <= TL_CLASSES) p = tl_alloc(granules, atomic, &slot);
  if (!p) {
    p = fin ? (atomic ? GC_MALLOC_ATOMIC(req) : GC_MALLOC(req))
            : GC_generic_malloc(req, atomic ? kind_atomic : kind_ptr);
    if (!p) return NULL;
    slot = GC_size(p);
  }
  if (!fin && !atomic_load_explicit(&kinds_used, memory_order_relaxed))
    atomic_store_explicit(&kinds_used, true, memory_order_relaxed);
  if (fin && atomic)
    memset(p, 0, slot); /* gt_malloc_atomic memory is zeroed in every mode */
  uint64_t *hp = header_of(p, slot);
  if (aged) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    uint64_t ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    hp[-1] = ((uint64_t)(GC_get_gc_no() & 0xFFFFFF) << GT_BIRTH_MS_BITS) |
             (ms & GT_BIRTH_MS_MASK);
  }
  *hp = (tracked ? H_LIVE : 0) | H_GT | (atomic ? H_ATOMIC : 0) |
        (aged ? H_AGE : 0) | ((uint64_t)site << H_SITE_SHIFT) | size;
  if (fin && tracked)
    GC_register_finalizer_no_order(p, on_finalize, NULL, NULL, NULL);
  if (count) {
    bump(&t->allocated);
    if (tracked) bump(&t->tracked);
  }
  if (pending.count) /* our allocation may have swept */
    flush_pending();
  return p;
}

void *gt_malloc_at(size_t size, const char *name, const char *file, int line) {
  return alloc_obj(size, gt__intern_site(name, file, line), false, -1, true);
}

void *gt_malloc_atomic_at(size_t size, const char *name, const char *file,
                          int line) {
  return alloc_obj(size, gt__intern_site(name, file, line), true, -1, true);
}

void *gt_malloc(size_t size, const char *name) {
  return gt_malloc_at(size, name, NULL, 0);
}

void *gt_malloc_atomic(size_t size, const char *name) {
  return gt_malloc_atomic_at(size, name, NULL, 0);
}

void *gt_calloc(size_t n, size_t size, const char *name) {
  if (size && n > SIZE_MAX / size) return NULL;
  return gt_malloc(n * size, name); /* both kinds hand out zeroed memory */
}

char *gt_strdup(const char *s, const char *name) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  char *p = gt_malloc_atomic(n, name);
  if (p) memcpy(p, s, n);
  return p;
}

/* Frees without reporting: the header is cleared first so no sweep or
 * finalizer can see the object again. */
static void release(void *p, size_t slot, uint64_t h) {
  *header_of(p, slot) = 0;
  if (atomic_load(&mechanism) == GT_MECH_FINALIZER && (h & H_LIVE))
    GC_register_finalizer_no_order(p, NULL, NULL, NULL, NULL);
  GC_FREE(p);
}

void gt_free(void *p) {
  if (!p) return;
  size_t slot = GC_size(p);
  uint64_t h = *header_of(p, slot);
  if (h & H_LIVE) gt__emit(site_of(h), GT_EV_FREED, h & H_SIZE_MASK, NULL);
  release(p, slot, h);
}

void *gt_realloc(void *p, size_t size) {
  if (!p) return gt_malloc(size, NULL);
  if (size == 0) {
    gt_free(p);
    return NULL;
  }
  size_t slot = GC_size(p);
  uint64_t *hp = header_of(p, slot), h = *hp;
  uint64_t old = h & H_SIZE_MASK;
  size_t hdr = h & H_AGE ? 2 * HDR_BYTES : HDR_BYTES;
  if (size + hdr <= slot) {
    /* Fits in the slot: only the recorded size changes. */
    if (size < old) memset((char *)p + size, 0, old - size);
    *hp = (h & ~H_SIZE_MASK) | size;
    return p;
  }
  uint32_t site = (uint32_t)((h >> H_SITE_SHIFT) & H_SITE_MASK);
  void *q = alloc_obj(size, site, h & H_ATOMIC, (h & H_LIVE) != 0, false);
  if (!q) return NULL;
  memcpy(q, p, old < size ? old : size);
  uint64_t *qh = header_of(q, GC_size(q));
  if ((h & H_AGE) && (*qh & H_AGE))
    qh[-1] = hp[-1]; /* the object keeps its age across a move */
  release(p, slot, h);
  return q;
}

/* Overwrites the dead part of the stack below us, so that stale copies of
 * pointers left by earlier calls do not keep dead objects alive when the
 * collector scans this thread conservatively. */
/* Not instrumented: ASan may move an instrumented array to its "fake
 * stack" on the heap, which would leave the real stack as it was. */
static __attribute__((noinline, no_sanitize_address)) void clear_stack(void) {
  uintptr_t buf[8192]; /* 64 KiB */
  memset(buf, 0, sizeof buf);
  __asm__ volatile("" : : "r"(buf) : "memory"); /* keep the memset */
}

size_t gt__collect_inner(void) {
  gt_stats before, after;
  gt__pipeline_sync(-1);
  gt__pipeline_stats(&before);
  pthread_once(&once, setup_kinds);
  /* The walk costs a pass over the heap: only when our kinds hold objects
   * (not for gt_watch or the finalizer mechanism alone). */
  if (atomic_load(&kinds_used)) {
    uint64_t want = atomic_fetch_add(&walk_req, 1) + 1;
    /* A collection started by another thread may consume the request
     * before ours marks; one more full collection then settles it. */
    for (int i = 0; i < 3 && atomic_load(&walk_done) < want; i++)
      GC_gcollect();
  } else {
    GC_gcollect();
  }
  while (GC_should_invoke_finalizers())
    GC_invoke_finalizers();
  gt__pipeline_sync(-1);
  gt__pipeline_stats(&after);
  return (size_t)(after.collected - before.collected);
}

/* Kept tiny: its frame must not cover the caller's dead frames, so that
 * clear_stack wipes them before the collector scans this stack. */
size_t gt_collect(void) {
  clear_stack();
  return gt__collect_inner();
}
