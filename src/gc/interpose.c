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

#include <gc.h>
#include <gc/gc_mark.h>

#include "gc/gcctx.h"
#include "gc/object.h"

/* One list of the overrides: (name, return type, parameters). */
#define OVERRIDES(X)                                                           \
  X(size, size_t, (const void *))                                              \
  X(free, void, (void *))                                                      \
  X(realloc, void *, (void *, size_t))                                         \
  X(set_on_collection_event, void, (GC_on_collection_event_proc))              \
  X(get_on_collection_event, GC_on_collection_event_proc, (void))              \
  X(set_push_other_roots, void, (GC_push_other_roots_proc))                    \
  X(get_push_other_roots, GC_push_other_roots_proc, (void))

#define DECLARE_OURS(name, ret, args) static ret my_##name args;
OVERRIDES(DECLARE_OURS)
#undef DECLARE_OURS

bool gt__interposed(void) {
  bool ok = true;
#define CHECK(name, ret, args)                                                 \
  ok = ok && dlsym(RTLD_DEFAULT, "GC_" #name) == (void *)my_##name;
  OVERRIDES(CHECK)
#undef CHECK
  return ok;
}

static size_t my_size(const void *p) {
  size_t slot = gt__gt_slot(p);
  if (!slot) return gt__real_size(p);
  uint64_t h = *gt__header((void *)p, slot);
  return slot - (h & H_GT ? gt__tail_bytes(h) : HDR_BYTES);
}

static void my_free(void *p) {
  size_t slot = gt__gt_slot(p);
  if (slot)
    gt__free_object(p, slot);
  else
    gt__real_free(p);
}

static void *my_realloc(void *p, size_t n) {
  size_t slot = gt__gt_slot(p);
  if (!slot) return gt__real_realloc(p, n);
  if (n == 0) { /* as bdwgc: frees it */
    gt__free_object(p, slot);
    return NULL;
  }
  return gt__realloc_object(p, slot, n);
}

static void my_set_on_collection_event(GC_on_collection_event_proc f) {
  gt__hook_set_event(f);
}

static GC_on_collection_event_proc my_get_on_collection_event(void) {
  return gt__hook_get_event();
}

static void my_set_push_other_roots(GC_push_other_roots_proc f) {
  gt__hook_set_push(f);
}

static GC_push_other_roots_proc my_get_push_other_roots(void) {
  return gt__hook_get_push();
}

/* The exported names, bound to the functions above. */
#define EXPORT(name, ret, args)                                                \
  GT_EXTERN ret GC_##name args __attribute__((alias("my_" #name)));
OVERRIDES(EXPORT)
#undef EXPORT
