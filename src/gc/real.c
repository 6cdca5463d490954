/* bdwgc's own entry points that libgt overrides (interpose.c), found with
 * dlsym: the next definition after ours, or, if libgc comes first in the
 * link order, the first one. Everything in gt that means bdwgc's function
 * calls it through here. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <gc.h>
#include <gc/gc_mark.h>

#include "gc/object.h"

#define REAL_LIST(X)                                                           \
  X(size, size_t, (const void *))                                              \
  X(free, void, (void *))                                                      \
  X(realloc, void *, (void *, size_t))                                         \
  X(set_on_collection_event, void, (GC_on_collection_event_proc))              \
  X(get_on_collection_event, GC_on_collection_event_proc, (void))              \
  X(set_push_other_roots, void, (GC_push_other_roots_proc))                    \
  X(get_push_other_roots, GC_push_other_roots_proc, (void))

#define DECLARE(name, ret, args) static ret(*real_##name) args;
REAL_LIST(DECLARE)
#undef DECLARE

static pthread_once_t resolved = PTHREAD_ONCE_INIT;

/* True if f is defined in the object (libgt, or the program libgt.a is
 * linked into) this file is part of: one of gt's overrides. */
static bool ours(void *f) {
  Dl_info self, it;
  return dladdr((void *)ours, &self) && dladdr(f, &it) &&
         self.dli_fbase == it.dli_fbase;
}

static void *find(const char *name) {
  void *f = dlsym(RTLD_NEXT, name);
  if (!f) f = dlsym(RTLD_DEFAULT, name); /* libgc first in the link order */
  if (!f || ours(f)) {
    fprintf(stderr, "gt: cannot find bdwgc's %s\n", name);
    abort();
  }
  return f;
}

static void resolve(void) {
#define RESOLVE(name, ret, args) real_##name = (ret(*) args)find("GC_" #name);
  REAL_LIST(RESOLVE)
#undef RESOLVE
}

#define REAL(name) (pthread_once(&resolved, resolve), real_##name)

size_t gt__real_size(const void *p) {
  return REAL(size)(p);
}

void gt__real_free(void *p) {
  REAL(free)(p);
}

void *gt__real_realloc(void *p, size_t n) {
  return REAL(realloc)(p, n);
}

void gt__real_set_event(GC_on_collection_event_proc f) {
  REAL(set_on_collection_event)(f);
}

GC_on_collection_event_proc gt__real_get_event(void) {
  return REAL(get_on_collection_event)();
}

void gt__real_set_push(GC_push_other_roots_proc f) {
  REAL(set_push_other_roots)(f);
}

GC_push_other_roots_proc gt__real_get_push(void) {
  return REAL(get_push_other_roots)();
}
