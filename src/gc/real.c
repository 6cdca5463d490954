/* bdwgc's own entry points that libgt overrides (interpose.c, and attach.c
 * in `gt run`), found in the library that defines GC_init (which nobody
 * overrides): its own definitions, whatever the lookup order says. With
 * libgc linked statically there is no such handle: the next definition
 * after ours, or, if libgc comes first in the link order, the first one.
 * Everything in gt that means bdwgc's function calls it through here. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <gc.h>
#include <gc/gc_mark.h>

#include "gc/object.h"

#define DECLARE(name, ret, args) static ret(*real_##name) args;
GT_REAL_CALLS(DECLARE)
#undef DECLARE

static pthread_once_t resolved = PTHREAD_ONCE_INIT;

/* True if f is defined in the object (libgt, or the program libgt.a is
 * linked into) this file is part of: one of gt's overrides. */
static bool ours(void *f) {
  Dl_info self, it;
  return dladdr((void *)ours, &self) && dladdr(f, &it) &&
         self.dli_fbase == it.dli_fbase;
}

/* The shared libgc the program runs with, or NULL. */
static void *libgc(void) {
  Dl_info it;
  void *init = dlsym(RTLD_DEFAULT, "GC_init");
  if (!init || !dladdr(init, &it) || !it.dli_fname) return NULL;
  return dlopen(it.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
}

static void *find(void *lib, const char *name) {
  void *f = lib ? dlsym(lib, name) : NULL;
  if (!f) f = dlsym(RTLD_NEXT, name);
  if (!f || ours(f)) f = dlsym(RTLD_DEFAULT, name); /* libgc first */
  if (!f || ours(f)) {
    fprintf(stderr, "gt: cannot find bdwgc's %s\n", name);
    abort();
  }
  return f;
}

static void resolve(void) {
  void *lib = libgc();
#define RESOLVE(name, ret, args)                                               \
  real_##name = (ret(*) args)find(lib, "GC_" #name);
  GT_REAL_CALLS(RESOLVE)
#undef RESOLVE
  /* The handle only pins a library the program has loaded anyway. */
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

/* The allocation calls `gt run` takes over, for what it passes on. */
#define GETTER(name, ret, args)                                                \
  ret(*gt__real_##name(void)) args {                                           \
    return REAL(name);                                                         \
  }
GT_REAL_ALLOC_CALLS(GETTER)
#undef GETTER
