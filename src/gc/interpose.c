/* bdwgc entry points that libgt overrides, so that every bdwgc call a
 * program makes on a gt object does what it does on a GC_MALLOC object:
 *   GC_size      the bytes the program may use (the header is gt's)
 *   GC_free      frees it, counted as freed
 *   GC_realloc   keeps its name and site, and whether it is tracked
 *   GC_set/get_on_collection_event, GC_set/get_push_other_roots
 *                gt's hooks stay installed and call the program's
 *                (hooks.c).
 * Anything else goes to bdwgc's own function (real.c). This works when
 * libgt comes before libgc in the link order (pkg-config and CMake give
 * that order); gt_init checks it (gt__interposed). Debian's libgc calls
 * its own entry points through the PLT too, so its internal calls see the
 * same answers. */
#include <dlfcn.h>
#include <stdatomic.h>

#include <gc.h>
#include <gc/gc_mark.h>

#include "gc/gcctx.h"
#include "gc/object.h"

/* Set by `gt run`, whose preloaded library exports these names and calls
 * the functions below (attach.c). */
static _Atomic bool attached;

void gt__interpose_attached(void) {
  atomic_store(&attached, true);
}

bool gt__interposed(void) {
  bool ok = true;
  if (atomic_load(&attached)) return true;
#define CHECK(name, ret, args)                                                 \
  ok = ok && dlsym(RTLD_DEFAULT, "GC_" #name) == (void *)gt__ov_##name;
  GT_OVERRIDES(CHECK)
#undef CHECK
  return ok;
}

size_t gt__ov_size(const void *p) {
  size_t slot = gt__gt_slot(p);
  if (!slot) return gt__real_size(p);
  uint64_t h = gt__header_load(gt__header((void *)p, slot));
  return slot - (h & H_GT ? gt__tail_bytes(h) : HDR_BYTES);
}

void gt__ov_free(void *p) {
  size_t slot = gt__gt_slot(p);
  if (slot)
    gt__free_object(p, slot);
  else
    gt__real_free(p);
}

void *gt__ov_realloc(void *p, size_t n) {
  size_t slot = gt__gt_slot(p);
  if (!slot) return gt__real_realloc(p, n);
  if (n == 0) { /* as bdwgc: frees it */
    gt__free_object(p, slot);
    return NULL;
  }
  return gt__realloc_object(p, slot, n);
}

void gt__ov_set_on_collection_event(GC_on_collection_event_proc f) {
  gt__hook_set_event(f);
}

GC_on_collection_event_proc gt__ov_get_on_collection_event(void) {
  return gt__hook_get_event();
}

void gt__ov_set_push_other_roots(GC_push_other_roots_proc f) {
  gt__hook_set_push(f);
}

GC_push_other_roots_proc gt__ov_get_push_other_roots(void) {
  return gt__hook_get_push();
}

/* The exported names, bound to the functions above. */
#define EXPORT(name, ret, args)                                                \
  GT_EXTERN ret GC_##name args __attribute__((alias("gt__ov_" #name)));
GT_OVERRIDES(EXPORT)
#undef EXPORT
