/* The gt_malloc family: gt's two kinds, the header word, explicit free and
 * realloc, and the misuse checks.
 *
 * Objects live in two gt-owned bdwgc kinds (pointer-holding, pointer-free)
 * whose disclaim procedure (reclaim.c) runs when the sweeper reclaims an
 * object: no finalizer table, reported in the cycle that found it dead.
 * The header sits in the last word of the slot (object.h):
 *  - the user pointer is the object's base, so GC_base(p) == p and the
 *    object works with every bdwgc call;
 *  - bdwgc adds one byte to each request so that a pointer just past the
 *    end keeps the object alive; past the payload is now our header, which
 *    does the same job, so we ask for size + 8 - 1 bytes and a 24-byte node
 *    still takes a 32-byte slot, as with GC_MALLOC(24);
 *  - GC_size() of a gt object stops before the header (interpose.c), so
 *    the program may use every byte it reports;
 *  - a free slot is cleared (both kinds clear), so it never shows a header.
 * The header always has bit 62 set, which no user-space address has, so a
 * conservative scan never mistakes it for a pointer.
 *
 * Nothing here runs in collector context. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gc.h>
#include <gc/gc_disclaim.h>
#include <gc/gc_mark.h>

#include "gc/gcassume.h"
#include "gc/object.h"
#include "gc/stack.h"
#include "gc/tlcache.h"
#include "stats.h"

static _Atomic enum gt_mechanism mechanism = GT_MECH_DISCLAIM;
static _Atomic uint64_t alloc_every = 1;
static _Atomic bool track_age;
_Atomic uint64_t gt__leak_every = 1;

/* Allocation counters are per thread so gt_malloc does no locked add;
 * gt_get_stats sums them. Records of exited threads stay in the list. */
typedef struct tcount {
  _Atomic uint64_t allocated, tracked, bypassed;
  uint64_t until_tracked; /* countdown for gt.alloc_sample_every */
  struct tcount *next;
} tcount;
static pthread_mutex_t tlist_lock = PTHREAD_MUTEX_INITIALIZER;
static tcount *tlist;
static __attribute__((tls_model("initial-exec"))) _Thread_local tcount *tc;
static tcount fallback; /* if malloc fails: shared, still exact-ish */

int gt__alloc_setup(const gt_config *cfg) {
  int rc = gt__gc_setup();
  if (rc) return rc;
  atomic_store(&mechanism, cfg->mechanism);
  atomic_store(&alloc_every, cfg->alloc_sample_every);
  atomic_store(&track_age, cfg->track_age);
  gt__stack_config((int)cfg->stack_depth, cfg->stack_sample_every);
  atomic_store(&gt__leak_every, cfg->leak_sample_every);
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
  if (phase == GT_FORK_PREPARE) {
    pthread_mutex_lock(&tlist_lock);
    return;
  }
  if (phase == GT_FORK_CHILD) /* the child counts its own allocations */
    for (tcount *p = tlist; p; p = p->next) {
      atomic_store(&p->allocated, 0);
      atomic_store(&p->tracked, 0);
      atomic_store(&p->bypassed, 0);
    }
  pthread_mutex_unlock(&tlist_lock);
}

void gt__alloc_count(bool allocated, bool tracked) {
  tcount *t = counts();
  if (allocated) bump(&t->allocated);
  if (tracked) bump(&t->tracked);
}

void gt__alloc_count_bypassed(uint64_t n) {
  tcount *t = counts();
  atomic_store_explicit(
      &t->bypassed,
      atomic_load_explicit(&t->bypassed, memory_order_relaxed) + n,
      memory_order_relaxed);
}

#define SUM(c) atomic_load_explicit(&c, memory_order_relaxed)
void gt__alloc_stats(gt_stats *out) {
  uint64_t a = SUM(fallback.allocated), t = SUM(fallback.tracked),
           b = SUM(fallback.bypassed);
  pthread_mutex_lock(&tlist_lock);
  for (tcount *p = tlist; p; p = p->next) {
    a += SUM(p->allocated);
    t += SUM(p->tracked);
    b += SUM(p->bypassed);
  }
  pthread_mutex_unlock(&tlist_lock);
  out->allocated = a;
  out->tracked = t;
  out->bypassed = b;
  out->live = gt__live_total();
  /* gt_get_stats fills the pipeline's fields (unreleased) before ours. */
  out->estimated_unreleased =
      out->unreleased * gt__stats_scale_get() * atomic_load(&gt__leak_every);
}
#undef SUM

static bool decide_tracked(tcount *t) {
  uint64_t every = atomic_load_explicit(&alloc_every, memory_order_relaxed);
  if (every <= 1) return true;
  if (t->until_tracked-- != 0) return false;
  t->until_tracked = every - 1;
  return true;
}

/* A cleared slot for a payload of `size` bytes and `tail` header bytes. */
static void *get_slot(size_t size, size_t tail, bool atomic, size_t *slot) {
  size_t extra_byte = gt__extra_byte();
  size_t granules = (size + tail - extra_byte + GT_GRANULE) / GT_GRANULE;
  void *p = NULL;
  if (granules <= TL_CLASSES) p = gt__tl_take(granules, atomic, slot);
  if (!p) {
    p = GC_generic_malloc(size + tail - extra_byte,
                          atomic ? gt__kind_atomic : gt__kind_ptr);
    if (p) GC_get_kind_and_size(p, slot);
  }
  return p;
}

static uint64_t birth_word(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  uint64_t ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
  return ((uint64_t)(GC_get_gc_no() & GT_GCNO_MASK) << GT_BIRTH_MS_BITS) |
         (ms & GT_BIRTH_MS_MASK);
}

/* Allocates a gt object for `site`. `track` < 0: decide by
 * gt.alloc_sample_every; `count`: false when it replaces one (realloc). */
static void *alloc_obj(size_t size, uint32_t site, bool atomic, int track,
                       bool count) {
  if (size > GT_MAX_OBJECT) {
    gt__fail(GT_ENOMEM, "gt_malloc: %zu bytes is more than gt can track", size);
    return NULL;
  }
  if (!gt__alloc_ready() && gt__gc_setup() != GT_OK) return NULL;
  tcount *t = counts();
  bool tracked = track < 0 ? decide_tracked(t) : track > 0;
  /* Only gt.track_age pays for a clock read and a second header word. */
  bool aged = tracked && atomic_load_explicit(&track_age, memory_order_relaxed);
  size_t tail = aged ? 2 * HDR_BYTES : HDR_BYTES, slot = 0;
  void *p = get_slot(size, tail, atomic, &slot);
  if (!p) return NULL;
  gt__kinds_note_used();
  uint64_t *hp = gt__header(p, slot);
  if (aged) hp[-1] = birth_word();
  bool fin =
      tracked && atomic_load_explicit(&mechanism, memory_order_relaxed) ==
                     GT_MECH_FINALIZER;
  *hp = (tracked ? H_LIVE : 0) | H_GT | (atomic ? H_ATOMIC : 0) |
        (aged ? H_AGE : 0) | (fin ? H_FIN : 0) |
        ((uint64_t)site << H_SITE_SHIFT) | size;
  if (fin) GC_register_finalizer_no_order(p, gt__on_finalize, NULL, NULL, NULL);
  if (count) {
    bump(&t->allocated);
    if (tracked) bump(&t->tracked);
  }
  gt__flush_pending(); /* our allocation may have swept */
  return p;
}

/* The site of a gt_malloc call: its stack when gt.stack_depth asks for
 * one (ra: the program's return address), else name and file:line. */
static uint32_t site_of_call(const char *name, const char *file, int line,
                             const void *ra) {
  if (gt__stack_depth() > 0) return gt__stack_site(name ? name : "object", ra);
  return gt__intern_site(name, file, line);
}

#define RA __builtin_return_address(0)

void *gt__alloc_named(size_t size, const char *name, const char *file, int line,
                      bool atomic, const void *ra) {
  return alloc_obj(size, site_of_call(name, file, line, ra), atomic, -1, true);
}

void *gt__alloc_at_site(size_t size, uint32_t site, bool atomic) {
  return alloc_obj(size, site, atomic, -1, true);
}

/* gt run's allocation that gt.alloc_sample_every leaves out stays
 * bdwgc's own object: counted here as allocated, and nothing more (no gt
 * kind, header, site or report). Those it takes go to gt__alloc_attached,
 * already decided. */
bool gt__alloc_untracked(void) {
  if (atomic_load_explicit(&alloc_every, memory_order_relaxed) <= 1)
    return false;
  tcount *t = counts();
  if (decide_tracked(t)) return false;
  bump(&t->allocated);
  return true;
}

void *gt__alloc_attached(size_t size, bool atomic, const void *ra) {
  return alloc_obj(size, gt__stack_site(NULL, ra), atomic, 1, true);
}

void *gt_malloc_at(size_t size, const char *name, const char *file, int line) {
  return gt__alloc_named(size, name, file, line, false, RA);
}

void *gt_malloc_atomic_at(size_t size, const char *name, const char *file,
                          int line) {
  return gt__alloc_named(size, name, file, line, true, RA);
}

void *gt_malloc(size_t size, const char *name) {
  return gt__alloc_named(size, name, NULL, 0, false, RA);
}

void *gt_malloc_atomic(size_t size, const char *name) {
  return gt__alloc_named(size, name, NULL, 0, true, RA);
}

void *gt_calloc(size_t n, size_t size, const char *name) {
  if (size && n > SIZE_MAX / size) {
    gt__fail(GT_ENOMEM, "gt_calloc: %zu x %zu bytes overflows", n, size);
    return NULL;
  }
  /* both kinds hand out cleared memory */
  return gt__alloc_named(n * size, name, NULL, 0, false, RA);
}

char *gt_strdup(const char *s, const char *name) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  char *p = gt__alloc_named(n, name, NULL, 0, true, RA);
  if (p) memcpy(p, s, n);
  return p;
}

/* The slot and header of a pointer passed to gt_free/gt_realloc/GC_free;
 * refuses what gt cannot have handed out. Returns 0 for a bdwgc object
 * that is not gt's (the caller lets bdwgc handle it). */
static size_t checked_slot(const char *fn, void *p, uint64_t *h) {
  void *base = GC_base(p);
  if (!base) gt__misuse(fn, p, "not a bdwgc heap object");
  if (base != p) gt__misuse(fn, p, "points inside an object, not at its start");
  size_t slot = gt__gt_slot(p);
  if (!slot) return 0;
  *h = gt__header_load(gt__header(p, slot));
  if (!(*h & H_GT)) gt__misuse(fn, p, "not a live gt object (double free?)");
  return slot;
}

/* Gives a slot back without a report: the header is cleared first so no
 * sweep sees it, and a finalizer that would report it is removed. */
static void drop(void *p, size_t slot, uint64_t h) {
  *gt__header(p, slot) = 0;
  if (h & H_FIN) GC_register_finalizer_no_order(p, NULL, NULL, NULL, NULL);
  gt__real_free(p);
}

/* Frees a gt object: counted as freed if tracked, never reported again
 * (its header is cleared first, so no sweep or finalizer sees it). Freeing
 * is an explicit end of life: a release, never a leak, so the event
 * carries no GT_EVF_UNRELEASED whatever H_EXPECT said. */
static void free_obj(void *p, size_t slot, uint64_t h) {
  if (h & H_LIVE)
    gt__emit(gt__site_of(h), GT_EV_FREED, h & H_SIZE_MASK, NULL, 0);
  drop(p, slot, h);
}

void gt__free_object(void *p, size_t slot) {
  uint64_t h = *gt__header(p, slot);
  if (!(h & H_GT))
    gt__misuse("GC_free", p, "not a live gt object (double free?)");
  free_obj(p, slot, h);
}

void gt_free(void *p) {
  if (!p) return;
  uint64_t h = 0;
  size_t slot = checked_slot("gt_free", p, &h);
  if (!slot)
    gt__real_free(p); /* bdwgc's own object: freed as asked */
  else
    free_obj(p, slot, h);
}

/* Moves an object to a larger slot; it keeps its name, site, age, whether
 * it is tracked and whether it expects release, and is never counted
 * twice. */
static void *move(void *p, size_t slot, uint64_t h, size_t size) {
  void *q = alloc_obj(size, gt__site_of(h), h & H_ATOMIC, (h & H_LIVE) ? 1 : 0,
                      false);
  if (!q) return NULL;
  size_t used = slot - gt__tail_bytes(h); /* GC_size: all the program's */
  memcpy(q, p, used < size ? used : size);
  size_t qslot = gt__gt_slot(q);
  uint64_t *qh = gt__header(q, qslot);
  if ((h & H_AGE) && (*qh & H_AGE)) qh[-1] = gt__header(p, slot)[-1];
  *qh |= h & H_EXPECT; /* q is not the program's yet: a plain store */
  drop(p, slot, h);
  return q;
}

void *gt__realloc_object(void *p, size_t slot, size_t size) {
  uint64_t *hp = gt__header(p, slot), h = gt__header_load(hp);
  if (!(h & H_GT)) gt__misuse("gt_realloc", p, "not a live gt object (freed?)");
  if (size > GT_MAX_OBJECT) {
    gt__fail(GT_ENOMEM, "gt_realloc: %zu bytes is more than gt can track",
             size);
    return NULL;
  }
  if (size <= slot - gt__tail_bytes(h)) {
    /* fits: only the recorded size; the loop keeps a mark another thread
     * sets meanwhile */
    while (!__atomic_compare_exchange_n(hp, &h, (h & ~H_SIZE_MASK) | size, true,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
      ;
    return p;
  }
  return move(p, slot, h, size);
}

void *gt_realloc(void *p, size_t size) {
  if (!p) return gt__alloc_named(size, NULL, NULL, 0, false, RA);
  if (size == 0) {
    gt_free(p);
    return NULL;
  }
  uint64_t h = 0;
  size_t slot = checked_slot("gt_realloc", p, &h);
  if (!slot) return gt__real_realloc(p, size); /* bdwgc's own object */
  return gt__realloc_object(p, slot, size);
}
