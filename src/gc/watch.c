/* gt_watch: the seed's decorator. An unordered finalizer on an existing
 * object records the event and then runs the finalizer the object already
 * had.
 *
 * Without a finalizer to chain, the client data is the site id itself
 * (tagged odd and small, so it never looks like a heap pointer) and the
 * size is read in the finalizer: nothing is allocated per object. With one,
 * a record in collected memory holds the old pair, so the old client data
 * stays reachable exactly as long as the finalizer entry does. */
#include <gc.h>

#include "gc/object.h"

typedef struct watch_rec {
  GC_finalization_proc ofn;
  void *ocd;
  uint32_t site;
} watch_rec;

static void *tag(uint32_t site) {
  return (void *)(((uintptr_t)site << 1) | 1);
}

static void GC_CALLBACK on_watched(void *obj, void *cd) {
  uintptr_t v = (uintptr_t)cd;
  if (v & 1) {
    gt__emit((uint32_t)(v >> 1), GT_EV_COLLECTED, GC_size(obj), NULL);
    return;
  }
  watch_rec *w = cd;
  gt__emit(w->site, GT_EV_COLLECTED, GC_size(obj), NULL);
  if (w->ofn) w->ofn(obj, w->ocd);
}

/* A gt object already reports itself: watching it renames it (and tracks
 * it if gt.alloc_sample_every had left it untracked), once. */
static int rename_gt(void *obj, size_t slot, uint32_t site) {
  uint64_t *hp = gt__header(obj, slot), h = *hp;
  if (!(h & H_GT)) return gt__fail(GT_EINVAL, "gt_watch: %p was freed", obj);
  if (!(h & H_LIVE)) gt__alloc_count(false, true);
  *hp = (h & ~(H_SITE_MASK << H_SITE_SHIFT)) | H_LIVE |
        ((uint64_t)site << H_SITE_SHIFT);
  return 0;
}

int gt_watch(void *obj, const char *name) {
  if (!obj || GC_base(obj) != obj)
    return gt__fail(GT_EINVAL,
                    "gt_watch: not the start of a bdwgc heap object");
  uint32_t site = gt__intern_site(name, NULL, 0);
  size_t slot = gt__gt_slot(obj);
  if (slot) return rename_gt(obj, slot, site);
  GC_finalization_proc ofn = NULL;
  void *ocd = NULL;
  GC_register_finalizer_no_order(obj, on_watched, tag(site), &ofn, &ocd);
  if (ofn == on_watched) { /* watched again: renamed, still chained */
    watch_rec *old = ((uintptr_t)ocd & 1) ? NULL : ocd;
    ofn = old ? old->ofn : NULL;
    ocd = old ? old->ocd : NULL;
  }
  if (ofn) {
    watch_rec *w = GC_MALLOC(sizeof *w);
    if (!w) { /* put the old finalizer back: never lose the user's */
      GC_register_finalizer_no_order(obj, ofn, ocd, NULL, NULL);
      return gt__fail(GT_ENOMEM, "gt_watch: out of memory");
    }
    *w = (watch_rec){.ofn = ofn, .ocd = ocd, .site = site};
    /* obj is on our stack, so its finalizer cannot run in between. */
    GC_register_finalizer_no_order(obj, on_watched, w, NULL, NULL);
  }
  GC_reachable_here(obj);
  gt__alloc_count(true, true);
  return 0;
}
