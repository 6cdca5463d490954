/* libgt-attach.so, the library `gt run` preloads: bdwgc's allocation API
 * under bdwgc's names, each call forwarded to libgt-attach-core.so (libgt
 * and attach.c), which it loads from its own directory at the first call.
 * A process that never calls bdwgc (a shell the program starts, say) loads
 * nothing more than this file and libc.
 *
 * If the core cannot be loaded, or would bring a libgc of its own (the
 * program's is another), each call goes to the program's libgc as if gt
 * were not there, after one line on stderr. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gc/attach.h"

#define EXPORT __attribute__((visibility("default")))
#define CORE "libgt-attach-core.so"

static const gt_attach_table *_Atomic core;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* bdwgc's own functions, used when the core is not there. */
#define REAL_FIELD(name, ret, params, args, kw) ret(*name) params;
static struct {
  GT_ATTACH_SITED(REAL_FIELD)
  GT_ATTACH_COUNTED(REAL_FIELD)
  GT_ATTACH_OURS(REAL_FIELD)
} real;
#undef REAL_FIELD

static void without_core(const char *why) {
  fprintf(stderr, "gt run: not attached: %s\n", why);
#define RESOLVE(name, ret, params, args, kw)                                   \
  *(void **)&real.name = dlsym(RTLD_NEXT, "GC_" #name);
  GT_ATTACH_SITED(RESOLVE)
  GT_ATTACH_COUNTED(RESOLVE)
  GT_ATTACH_OURS(RESOLVE)
#undef RESOLVE
  if (!real.malloc) {
    fprintf(stderr, "gt run: bdwgc is not loaded in this process\n");
    abort(); /* a call to bdwgc with no bdwgc: nothing can answer it */
  }
}

/* NULL once the core answers, else why it cannot. */
static const char *load_core(void) {
  Dl_info self;
  char path[4096];
  if (!dladdr((void *)load_core, &self) || !self.dli_fname ||
      !strrchr(self.dli_fname, '/'))
    return "cannot tell where libgt-attach.so is";
  int dir = (int)(strrchr(self.dli_fname, '/') - self.dli_fname);
  snprintf(path, sizeof path, "%.*s/" CORE, dir, self.dli_fname);
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) return dlerror();
  gt_attach_core_fn *fn;
  *(void **)&fn = dlsym(h, GT_ATTACH_CORE_SYMBOL);
  const gt_attach_table *t = fn ? fn() : NULL;
  if (!t || t->abi != GT_ATTACH_ABI)
    return CORE " is from another version of gt";
  if ((void *)t->gc_init != dlsym(RTLD_NEXT, "GC_init"))
    return "the program's libgc is not the one gt was built with";
  atomic_store_explicit(&core, t, memory_order_release);
  return NULL;
}

static void load(void) {
  const char *why = load_core();
  if (why) without_core(why);
}

static const gt_attach_table *table(void) {
  const gt_attach_table *t = atomic_load_explicit(&core, memory_order_acquire);
  if (__builtin_expect(t != NULL, 1)) return t;
  pthread_once(&once, load);
  return atomic_load_explicit(&core, memory_order_acquire);
}

#define GT__RA_ARGS(...) (__builtin_return_address(0), __VA_ARGS__)

#define SITED(name, ret, params, args, kw)                                     \
  EXPORT ret GC_##name params {                                                \
    const gt_attach_table *t = table();                                        \
    if (t)                                                                     \
      kw t->name GT__RA_ARGS args;                                             \
    else                                                                       \
      kw real.name args;                                                       \
  }
GT_ATTACH_SITED(SITED)
#undef SITED

#define PLAIN(name, ret, params, args, kw)                                     \
  EXPORT ret GC_##name params {                                                \
    const gt_attach_table *t = table();                                        \
    if (t)                                                                     \
      kw t->name args;                                                         \
    else                                                                       \
      kw real.name args;                                                       \
  }
GT_ATTACH_COUNTED(PLAIN)
GT_ATTACH_OURS(PLAIN)
#undef PLAIN
