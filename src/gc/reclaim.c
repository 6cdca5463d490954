/* Reports of dying gt objects, from inside the collector: the disclaim
 * procedure (sweep), finalizers (finalizer mechanism), and the heap walk
 * that makes gt_collect complete. Also the collection itself.
 *
 * Collector context everywhere but gt__collect: read the dying object's
 * own header, push an event (emit.c), nothing else — no lock, no
 * allocation, no other object, no I/O. */
#include <pthread.h>
#include <stdatomic.h>

#include <gc.h>
#include <gc/gc_mark.h>

#include "gc/gcassume.h"
#include "gc/object.h"

static _Atomic uint64_t walk_req, walk_done;
static _Atomic bool count_live; /* the next walk counts the live ones too */
static _Atomic uint64_t live_total;
void gt__reclaim_setup(void) {
  gt__intern_setup();
}

/* The sweeper reclaims runs of objects of one site and size (a block
 * holds one size, and programs allocate in runs), so the disclaim path
 * extends a run per thread instead of pushing each object; a few runs stay
 * open at once (object.h). A run is pushed when another report takes its
 * place, and by every thread that can have swept: after each of our
 * allocation calls (lazy sweeps of our kinds happen only there) and at
 * each collection event (sweeps in collections happen in the collecting
 * thread). */
__attribute__((tls_model("initial-exec"))) _Thread_local gt_runs gt__pending;

static inline gt_run *run_for(uint32_t site, uint64_t size) {
  return &gt__pending.run[(site ^ size >> 4) & (GT_RUNS - 1)];
}

/* Its slot is reopened, or all are closed, right after: `open` is left
 * to the caller. */
static void push_run(gt_run *r) {
  gt__emit_run(r->site, r->size, r->count, r->flags);
  r->count = 0;
}

void gt__push_pending(void) {
  for (int i = 0; i < GT_RUNS; i++)
    if (gt__pending.run[i].count) push_run(&gt__pending.run[i]);
  gt__pending.open = 0;
}

/* A header the program overwrote (it wrote past GC_size) is not trusted:
 * the object is still counted, under "(corrupt header)". */
static bool sane(uint64_t h, size_t slot) {
  uint32_t site = gt__site_of(h);
  return (h & H_GT) && gt__site_valid(site) &&
         (h & H_SIZE_MASK) + gt__tail_bytes(h) <= slot;
}

/* A report that does not extend the pending run: checked, maybe aged. */
static __attribute__((noinline)) void report_slow(uint64_t *hp, uint64_t h,
                                                  size_t slot) {
  uint32_t site = gt__site_of(h);
  uint64_t size = h & H_SIZE_MASK;
  uint8_t flags = gt__flags_of(h);
  if (!sane(h, slot)) { /* its bits mean nothing: not a leak either */
    site = GT_CORRUPT_SITE;
    size = slot - HDR_BYTES;
    flags = 0;
  } else if (h & H_AGE) { /* ages are per object */
    gt__emit(site, GT_EV_COLLECTED, size, hp - 1, flags);
    return;
  }
  gt_run *r = run_for(site, size);
  if (r->count) push_run(r);
  *r = (gt_run){.site = site, .count = 1, .flags = flags, .size = size};
  gt__pending.open |= 1u << (r - gt__pending.run);
}

/* Inline into the sweeper's callback: most reports extend an open run,
 * checked when the run began. The object is dead, so
 * no mutator writes its header any more: a plain store clears LIVE. */
static inline void report(void *base, size_t slot) {
  uint64_t *hp = gt__header(base, slot), h = gt__header_load(hp);
  if (!(h & H_LIVE)) return;
  *hp = h & ~H_LIVE; /* exactly once, whoever sees it first */
  uint32_t site = gt__site_of(h);
  uint64_t size = h & H_SIZE_MASK;
  gt_run *r = run_for(site, size);
  if ((h & (H_GT | H_AGE)) == H_GT && r->count && r->site == site &&
      r->size == size && r->flags == gt__flags_of(h) && r->count < UINT16_MAX) {
    r->count++;
    return;
  }
  report_slow(hp, h, slot);
}

/* Called by the sweeper for each dead object of our kinds, lock held. */
int gt__on_disclaim(void *obj) {
  size_t slot = 0;
  GC_get_kind_and_size(obj, &slot);
  report(obj, slot);
  return 0; /* reclaim it now */
}

/* Finalizers run after a collection, in whatever thread invokes them:
 * they push at once rather than leave a run gt__pending. */
void gt__on_finalize(void *obj, void *cd) {
  (void)cd;
  size_t slot = 0;
  GC_get_kind_and_size(obj, &slot);
  report(obj, slot);
  gt__flush_pending();
}

/* bdwgc sweeps lazily and skips nearly-full blocks, so a dead object may
 * stay unswept for many collections. When gt_collect asks, we visit every
 * block of our kinds that still holds a live object, right after marking
 * (mark bits valid, lock held), and report its unmarked tracked slots.
 * Blocks with no live object are freed by the collection itself, which
 * calls the disclaim procedure for each of their objects. */
typedef struct walk_ctx {
  uintptr_t last_block;
  bool live; /* count the reachable tracked objects too */
} walk_ctx;

/* A reachable tracked object: live, counted under its site. Only the walk
 * writes these counters, one collection at a time. */
static void count_if_live(void *obj, size_t bytes) {
  uint64_t h = gt__header_load(gt__header(obj, bytes));
  if (!(h & H_LIVE)) return;
  bool ok = sane(h, bytes);
  gt_site *s = gt__site(ok ? gt__site_of(h) : GT_CORRUPT_SITE);
  uint64_t size = ok ? h & H_SIZE_MASK : bytes - HDR_BYTES;
  atomic_store_explicit(
      &s->live, atomic_load_explicit(&s->live, memory_order_relaxed) + 1,
      memory_order_relaxed);
  atomic_store_explicit(
      &s->live_bytes,
      atomic_load_explicit(&s->live_bytes, memory_order_relaxed) + size,
      memory_order_relaxed);
}

static void GC_CALLBACK visit(void *obj, size_t bytes, void *cd) {
  walk_ctx *w = cd;
  if (w->live && gt__is_gt_kind(GC_get_kind_and_size(obj, NULL)))
    count_if_live(obj, bytes);
  uintptr_t blk = (uintptr_t)obj & ~(uintptr_t)(GT_HBLK - 1);
  if (blk == w->last_block) return;
  w->last_block = blk;
  if (bytes > GT_HBLK / 2)
    return; /* a large object has its block alone: marked, hence alive */
  if (!gt__is_gt_kind(GC_get_kind_and_size(obj, NULL))) return;
  for (char *p = (char *)blk; p + bytes <= (char *)blk + GT_HBLK; p += bytes)
    if ((gt__header_load(gt__header(p, bytes)) & H_LIVE) && !GC_is_marked(p))
      report(p, bytes);
}

static _Atomic bool world_stopped;

bool gt__world_stopped(void) {
  return atomic_load_explicit(&world_stopped, memory_order_relaxed);
}

/* Collection events, lock held (interpose.c chains the program's own). */
void gt__on_collection_event(int e) {
  if (e == GC_EVENT_POST_STOP_WORLD || e == GC_EVENT_PRE_START_WORLD)
    atomic_store_explicit(&world_stopped, e == GC_EVENT_POST_STOP_WORLD,
                          memory_order_relaxed);
  gt__flush_pending(); /* this thread may have swept */
  if (e != GC_EVENT_RECLAIM_END) return;
  uint64_t want = atomic_load(&walk_req);
  if (want == atomic_load(&walk_done)) return;
  walk_ctx w = {.live = atomic_exchange(&count_live, false)};
  GC_enumerate_reachable_objects_inner(visit, &w);
  gt__flush_pending();
  atomic_store(&walk_done, want);
}

/* One gt_collect at a time: each returns what its own run reported, and
 * concurrent callers do not count each other's objects. */
static pthread_mutex_t collect_mu = PTHREAD_MUTEX_INITIALIZER;

static void live_reset(void) {
  uint32_t n = gt__site_count();
  for (uint32_t id = 1; id <= GT_OTHER_SITE; id++) {
    if (id > n && id < GT_FIRST_RESERVED) id = GT_FIRST_RESERVED;
    atomic_store(&gt__site(id)->live, 0);
    atomic_store(&gt__site(id)->live_bytes, 0);
  }
}

static uint64_t live_sum(void) {
  uint64_t sum = 0, n = gt__site_count();
  for (uint32_t id = 1; id <= GT_OTHER_SITE; id++) {
    if (id > n && id < GT_FIRST_RESERVED) id = GT_FIRST_RESERVED;
    sum += atomic_load(&gt__site(id)->live);
  }
  return sum;
}

uint64_t gt__live_total(void) {
  return atomic_load(&live_total);
}

size_t gt__collect_counting_live(void) {
  if (!gt__alloc_ready() || !gt__alloc_kinds_used()) return gt__collect();
  pthread_mutex_lock(&collect_mu); /* no other walk while we reset */
  live_reset();
  atomic_store(&count_live, true);
  pthread_mutex_unlock(&collect_mu);
  size_t n = gt__collect();
  /* A walk started by another thread's collection may have taken the
   * request first: counted all the same, before ours returned. */
  atomic_store(&live_total, live_sum());
  return n;
}

size_t gt__collect(void) {
  if (!gt__alloc_ready()) return 0;
  pthread_mutex_lock(&collect_mu);
  uint64_t before = gt__reported();
  /* The walk costs a pass over the heap: only when our kinds hold objects
   * (not for gt_watch alone). A collection started by another thread may
   * consume the request before ours marks; at most two more settle it. */
  if (gt__alloc_kinds_used()) {
    uint64_t want = atomic_fetch_add(&walk_req, 1) + 1;
    for (int i = 0; i < 3 && atomic_load(&walk_done) < want; i++) {
      GC_gcollect();
      if (GC_is_disabled()) break; /* the program said no: nothing to do */
    }
  } else {
    GC_gcollect();
  }
  while (GC_should_invoke_finalizers())
    GC_invoke_finalizers();
  gt__flush_pending();
  size_t n = (size_t)(gt__reported() - before);
  pthread_mutex_unlock(&collect_mu);
  return n;
}
