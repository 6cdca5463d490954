/* bdwgc entry points that libgt overrides, so that every bdwgc call a
 * program makes on a gt object does what it does on a GC_MALLOC object:
 *   GC_size      the bytes the program may use (the header is gt's)
 *   GC_free      frees it, counted as freed
 *   GC_realloc   keeps its name and site, and whether it is tracked
 *   GC_set/get_on_collection_event, GC_set/get_push_other_roots
 *                bdwgc keeps one hook of each; gt's stays installed and
 *                calls the program's, which the getters return.
 * Anything else goes to the real function (dlsym RTLD_NEXT). This works
 * when libgt comes before libgc in the link order (pkg-config and CMake
 * give that order); gt_init checks it (gt__interposed). Debian's libgc
 * calls its own entry points through the PLT too, so its internal calls
 * see the same answers. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <gc.h>
#include <gc/gc_mark.h>

#include "object.h"
#include "tlcache.h"

/* One list of every symbol, real and ours. */
#define OVERRIDES(X)                                                           \
  X(size, size_t, (const void *))                                              \
  X(free, void, (void *))                                                      \
  X(realloc, void *, (void *, size_t))                                         \
  X(set_on_collection_event, void, (GC_on_collection_event_proc))              \
  X(get_on_collection_event, GC_on_collection_event_proc, (void))              \
  X(set_push_other_roots, void, (GC_push_other_roots_proc))                    \
  X(get_push_other_roots, GC_push_other_roots_proc, (void))

#define DECLARE_REAL(name, ret, args) static ret(*real_##name) args;
OVERRIDES(DECLARE_REAL)
#define DECLARE_OURS(name, ret, args) static ret my_##name args;
OVERRIDES(DECLARE_OURS)

static pthread_once_t resolved = PTHREAD_ONCE_INIT;
static _Atomic bool hooked; /* gt's hooks are installed */
static _Atomic GC_on_collection_event_proc user_event;
static _Atomic GC_push_other_roots_proc user_push;

/* The next definition after ours; if libgc comes first in the link order
 * there is none after us, and the first one is libgc's. */
static void *real(const char *name, void *ours) {
  void *f = dlsym(RTLD_NEXT, name);
  if (!f || f == ours) f = dlsym(RTLD_DEFAULT, name);
  if (!f || f == ours) {
    fprintf(stderr, "gt: cannot find bdwgc's %s\n", name);
    abort();
  }
  return f;
}

static void resolve(void) {
#define RESOLVE(name, ret, args)                                               \
  real_##name = (ret(*) args)real("GC_" #name, (void *)my_##name);
  OVERRIDES(RESOLVE)
}

#define REAL(name) (pthread_once(&resolved, resolve), real_##name)

bool gt__interposed(void) {
  pthread_once(&resolved, resolve);
  bool ok = true;
#define CHECK(name, ret, args)                                                 \
  ok = ok && dlsym(RTLD_DEFAULT, "GC_" #name) == (void *)my_##name;
  OVERRIDES(CHECK)
  return ok;
}

void gt__real_free(void *p) {
  REAL(free)(p);
}

void *gt__real_realloc(void *p, size_t n) {
  return REAL(realloc)(p, n);
}

static size_t my_size(const void *p) {
  size_t slot = gt__gt_slot(p);
  if (!slot) return REAL(size)(p);
  uint64_t h = *gt__header((void *)p, slot);
  return slot - (h & H_GT ? gt__tail_bytes(h) : HDR_BYTES);
}

static void my_free(void *p) {
  size_t slot = gt__gt_slot(p);
  if (slot)
    gt__free_object(p, slot);
  else
    REAL(free)(p);
}

static void *my_realloc(void *p, size_t n) {
  size_t slot = gt__gt_slot(p);
  if (!slot) return REAL(realloc)(p, n);
  if (n == 0) { /* as bdwgc: frees it */
    gt__free_object(p, slot);
    return NULL;
  }
  return gt__realloc_object(p, slot, n);
}

static void GC_CALLBACK on_event(GC_EventType e) {
  gt__on_collection_event((int)e);
  GC_on_collection_event_proc f = atomic_load(&user_event);
  if (f) f(e);
}

static void GC_CALLBACK on_push(void) {
  gt__tl_push_refills();
  GC_push_other_roots_proc f = atomic_load(&user_push);
  if (f) f(); /* bdwgc's default pushes the thread stacks */
}

static void my_set_on_collection_event(GC_on_collection_event_proc f) {
  if (atomic_load(&hooked))
    atomic_store(&user_event, f);
  else
    REAL(set_on_collection_event)(f);
}

static GC_on_collection_event_proc my_get_on_collection_event(void) {
  return atomic_load(&hooked) ? atomic_load(&user_event)
                              : REAL(get_on_collection_event)();
}

static void my_set_push_other_roots(GC_push_other_roots_proc f) {
  if (atomic_load(&hooked))
    atomic_store(&user_push, f);
  else
    REAL(set_push_other_roots)(f);
}

static GC_push_other_roots_proc my_get_push_other_roots(void) {
  return atomic_load(&hooked) ? atomic_load(&user_push)
                              : REAL(get_push_other_roots)();
}

void gt__install_hooks(void) {
  atomic_store(&user_event, REAL(get_on_collection_event)());
  REAL(set_on_collection_event)(on_event);
  atomic_store(&user_push, REAL(get_push_other_roots)());
  REAL(set_push_other_roots)(on_push);
  atomic_store(&hooked, true);
}

/* The exported names, bound to the functions above. */
#define EXPORT(name, ret, args)                                                \
  GT_EXTERN ret GC_##name args __attribute__((alias("my_" #name)));
OVERRIDES(EXPORT)
