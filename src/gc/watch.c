/* gt_watch: the seed's decorator. An unordered finalizer on an existing
 * object records the event and then runs the finalizer the object already
 * had. Also the leak mark of a watched object (gt_expect_release).
 *
 * Without a finalizer to chain, the client data is the site id itself
 * and the mark (tagged odd and small, so it never looks like a heap
 * pointer) and the size is read in the finalizer: nothing is allocated per
 * object. With one, a record in collected memory holds the old pair and
 * the mark, so the old client data stays reachable exactly as long as the
 * finalizer entry does.
 *
 * bdwgc has no call that reads an object's finalizer without replacing
 * it: reading is registering and putting back. `mu` makes that pair one
 * step for gt's own callers (gt_watch, gt_expect_release, gt_release), so
 * two threads marking one object never see each other's placeholder. It
 * is recursive: a GC_MALLOC under it may run finalizers in this thread,
 * and the program's own may call gt_watch. The finalizer itself takes no
 * lock: it runs once the object is unreachable, when nobody can mark it. */
#include <pthread.h>

#include <gc.h>

#include "gc/object.h"

typedef struct watch_rec {
  GC_finalization_proc ofn;
  void *ocd;
  uint32_t site;
  _Atomic bool expect; /* its death is a leak (gt_expect_release) */
} watch_rec;

static pthread_mutex_t mu = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
/* A bdwgc object was ever watched: until then no finalizer is probed. */
static _Atomic bool watched_any;

static void fork_prepare(void) {
  pthread_mutex_lock(&mu);
}
static void fork_parent(void) {
  pthread_mutex_unlock(&mu);
}
/* The child's only thread held it across fork(): a fresh one is free. */
static void fork_child(void) {
  mu = (pthread_mutex_t)PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
}
static void at_fork_once(void) {
  pthread_atfork(fork_prepare, fork_parent, fork_child);
}

static void lock(void) {
  pthread_once(&fork_once, at_fork_once);
  pthread_mutex_lock(&mu);
}

static void unlock(void) {
  pthread_mutex_unlock(&mu);
}

static void *tag(uint32_t site, bool expect) {
  return (void *)(((uintptr_t)site << 2) | ((uintptr_t)expect << 1) | 1);
}

static bool tagged(void *cd) {
  return (uintptr_t)cd & 1;
}

static bool expects(void *cd) {
  if (tagged(cd)) return (uintptr_t)cd & 2;
  return atomic_load_explicit(&((watch_rec *)cd)->expect, memory_order_relaxed);
}

static void GC_CALLBACK on_watched(void *obj, void *cd) {
  uint8_t flags = expects(cd) ? GT_EVF_UNRELEASED : 0;
  if (tagged(cd)) {
    uintptr_t v = (uintptr_t)cd;
    gt__emit((uint32_t)(v >> 2), GT_EV_COLLECTED, GC_size(obj), NULL, flags);
    return;
  }
  watch_rec *w = cd;
  gt__emit(w->site, GT_EV_COLLECTED, GC_size(obj), NULL, flags);
  if (w->ofn) w->ofn(obj, w->ocd);
}

/* A gt object already reports itself: watching it renames it (and tracks
 * it if gt.alloc_sample_every had left it untracked), once. The loop keeps
 * a mark another thread sets meanwhile. */
static int rename_gt(void *obj, size_t slot, uint32_t site) {
  uint64_t *hp = gt__header(obj, slot), h = gt__header_load(hp), n;
  do {
    if (!(h & H_GT)) return gt__fail(GT_EINVAL, "gt_watch: %p was freed", obj);
    n = (h & ~(H_SITE_MASK << H_SITE_SHIFT)) | H_LIVE |
        ((uint64_t)site << H_SITE_SHIFT);
  } while (!__atomic_compare_exchange_n(hp, &h, n, true, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED));
  if (!(h & H_LIVE)) gt__alloc_count(false, true);
  return 0;
}

/* Registers on_watched for site under mu; ofn and ocd: the finalizer to
 * chain (the program's), *expect: the mark of an earlier watch. */
static void register_tag(void *obj, uint32_t site, GC_finalization_proc *ofn,
                         void **ocd, bool *expect) {
  *ofn = NULL;
  *ocd = NULL;
  GC_register_finalizer_no_order(obj, on_watched, tag(site, false), ofn, ocd);
  *expect = false;
  if (*ofn == on_watched) { /* watched again: renamed, still chained */
    *expect = expects(*ocd);
    watch_rec *old = tagged(*ocd) ? NULL : *ocd;
    *ofn = old ? old->ofn : NULL;
    *ocd = old ? old->ocd : NULL;
  }
  if (*expect && !*ofn) /* keep the mark */
    GC_register_finalizer_no_order(obj, on_watched, tag(site, true), NULL,
                                   NULL);
}

static int watch_bdwgc(void *obj, uint32_t site) {
  GC_finalization_proc ofn;
  void *ocd;
  bool expect;
  lock();
  atomic_store(&watched_any, true);
  register_tag(obj, site, &ofn, &ocd, &expect);
  int rc = 0;
  if (ofn) {
    watch_rec *w = GC_MALLOC(sizeof *w);
    if (!w) { /* put the old finalizer back: never lose the user's */
      GC_register_finalizer_no_order(obj, ofn, ocd, NULL, NULL);
      rc = gt__fail(GT_ENOMEM, "gt_watch: out of memory");
    } else {
      *w = (watch_rec){.ofn = ofn, .ocd = ocd, .site = site};
      atomic_init(&w->expect, expect);
      /* obj is on our stack, so its finalizer cannot run in between. */
      GC_register_finalizer_no_order(obj, on_watched, w, NULL, NULL);
    }
  }
  unlock();
  GC_reachable_here(obj);
  return rc;
}

int gt_watch(void *obj, const char *name) {
  if (!obj || GC_base(obj) != obj)
    return gt__fail(GT_EINVAL,
                    "gt_watch: not the start of a bdwgc heap object");
  uint32_t site = gt__intern_site(name, NULL, 0);
  size_t slot = gt__gt_slot(obj);
  if (slot) return rename_gt(obj, slot, site);
  int rc = watch_bdwgc(obj, site);
  if (rc == 0) gt__alloc_count(true, true);
  return rc;
}

/* Puts back what a probe replaced on an object gt_watch never saw. bdwgc
 * cannot say which kind of finalizer the program had registered: it gets
 * GC_register_finalizer's (ordered), the kind GC_REGISTER_FINALIZER and
 * most programs use. */
static void unprobe(void *obj, GC_finalization_proc ofn, void *ocd) {
  if (ofn)
    GC_register_finalizer(obj, ofn, ocd, NULL, NULL);
  else
    GC_register_finalizer_no_order(obj, NULL, NULL, NULL, NULL);
}

/* obj is the start of a bdwgc object that is not a gt object. */
int gt__watch_mark(void *obj, enum gt_mark_op op, const char *fn) {
  if (!atomic_load(&watched_any))
    return gt__fail(GT_EINVAL, "%s(%p): neither a gt object nor watched", fn,
                    obj);
  GC_finalization_proc ofn = NULL;
  void *ocd = NULL;
  lock();
  /* The placeholder (site 0) is never seen: obj is reachable from here,
   * and every other reader of its finalizer takes mu. */
  GC_register_finalizer_no_order(obj, on_watched, tag(0, false), &ofn, &ocd);
  if (ofn != on_watched) {
    unprobe(obj, ofn, ocd);
    unlock();
    GC_reachable_here(obj);
    return gt__fail(GT_EINVAL, "%s(%p): neither a gt object nor watched", fn,
                    obj);
  }
  bool want = op == GT_MARK_CHECK ? expects(ocd) : op == GT_MARK_SET;
  void *cd = ocd;
  if (tagged(ocd))
    cd = tag((uint32_t)((uintptr_t)ocd >> 2), want);
  else
    atomic_store_explicit(&((watch_rec *)ocd)->expect, want,
                          memory_order_relaxed);
  GC_register_finalizer_no_order(obj, on_watched, cd, NULL, NULL);
  unlock();
  GC_reachable_here(obj);
  return GT_OK;
}
