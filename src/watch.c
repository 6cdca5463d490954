/* gt_watch: the seed's decorator. An unordered finalizer on an existing
 * object records the event and then runs the finalizer the object already
 * had. The record is collected memory, so the old client data it holds
 * stays reachable exactly as long as the finalizer entry does. */
#include <gc.h>

#include "gt_internal.h"

typedef struct watch_rec {
  GC_finalization_proc ofn;
  void *ocd;
  uint32_t site;
  size_t size;
} watch_rec;

static void GC_CALLBACK on_watched(void *obj, void *cd) {
  watch_rec *w = cd;
  gt__emit(w->site, GT_EV_COLLECTED, w->size, NULL);
  if (w->ofn)
    w->ofn(obj, w->ocd);
}

int gt_watch(void *obj, const char *name) {
  if (!obj || GC_base(obj) != obj)
    return gt__fail(GT_EINVAL,
                    "gt_watch: not the start of a bdwgc heap object");
  uint32_t site = gt__intern_site(name, NULL, 0);
  watch_rec *w = GC_MALLOC(sizeof *w);
  if (!site || !w)
    return gt__fail(GT_ENOMEM, "gt_watch: out of memory");
  w->site = site;
  w->size = GC_size(obj);
  GC_finalization_proc ofn = NULL;
  void *ocd = NULL;
  GC_register_finalizer_no_order(obj, on_watched, w, &ofn, &ocd);
  /* obj is on our stack, so its finalizer cannot run before this store. */
  w->ofn = ofn;
  w->ocd = ocd;
  GC_reachable_here(obj);
  gt__alloc_note_watch();
  return 0;
}
