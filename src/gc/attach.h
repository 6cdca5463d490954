/* Between `gt run`'s two libraries: libgt-attach.so, preloaded into the
 * program (preload.c), exports bdwgc's allocation API and forwards each
 * call here; libgt-attach-core.so (libgt plus attach.c), loaded by it at
 * the first call, answers. Only the preloaded library is in every process
 * gt run starts, so a process that never calls bdwgc loads nothing else. */
#ifndef GT_GC_ATTACH_H
#define GT_GC_ATTACH_H

#include <stddef.h>

#include <gc.h>
#include <gc/gc_mark.h>

/* Each list: (name, return type, parameters, arguments, `return` or
 * nothing for a void call). */

/* Calls that make an object where the program asked: the core's function
 * (attach.c, at_NAME) takes the caller's return address first, for the
 * allocation site. */
#define GT_ATTACH_SITED(X)                                                     \
  X(malloc, void *, (size_t n), (n), return )                                  \
  X(malloc_atomic, void *, (size_t n), (n), return )                           \
  X(malloc_ignore_off_page, void *, (size_t n), (n), return )                  \
  X(malloc_atomic_ignore_off_page, void *, (size_t n), (n), return )           \
  X(malloc_many, void *, (size_t n), (n), return )                             \
  X(strdup, char *, (const char *s), (s), return )                             \
  X(strndup, char *, (const char *s, size_t n), (s, n), return )               \
  X(realloc, void *, (void *p, size_t n), (p, n), return )

/* Calls passed to bdwgc and counted (attach.c, at_NAME). */
#define GT_ATTACH_COUNTED(X)                                                   \
  X(malloc_uncollectable, void *, (size_t n), (n), return )                    \
  X(malloc_atomic_uncollectable, void *, (size_t n), (n), return )             \
  X(memalign, void *, (size_t a, size_t n), (a, n), return )                   \
  X(posix_memalign, int, (void **pp, size_t a, size_t n), (pp, a, n), return ) \
  X(generic_malloc_many, void, (size_t n, int k, void **r), (n, k, r), )

/* libgt's own overrides (interpose.c, gt__ov_NAME). */
#define GT_ATTACH_OURS(X)                                                      \
  X(size, size_t, (const void *p), (p), return )                               \
  X(free, void, (void *p), (p), )                                              \
  X(get_on_collection_event, GC_on_collection_event_proc, (void), (), return ) \
  X(get_push_other_roots, GC_push_other_roots_proc, (void), (), return )       \
  X(set_on_collection_event, void, (GC_on_collection_event_proc f), (f), )     \
  X(set_push_other_roots, void, (GC_push_other_roots_proc f), (f), )

#define GT__WITH_RA(...) (const void *ra, __VA_ARGS__)

#define GT_ATTACH_ABI 1

typedef struct gt_attach_table {
  int abi;               /* GT_ATTACH_ABI */
  void (*gc_init)(void); /* the core's GC_init: the program's libgc? */
#define GT__SITED_FIELD(name, ret, params, args, kw)                           \
  ret(*name) GT__WITH_RA params;
#define GT__PLAIN_FIELD(name, ret, params, args, kw) ret(*name) params;
  GT_ATTACH_SITED(GT__SITED_FIELD)
  GT_ATTACH_COUNTED(GT__PLAIN_FIELD)
  GT_ATTACH_OURS(GT__PLAIN_FIELD)
#undef GT__SITED_FIELD
#undef GT__PLAIN_FIELD
} gt_attach_table;

/* The core's one entry point: `const gt_attach_table *gt_attach_core(void)`,
 * src/attach/start.c, which gets the table from attach.c. */
#define GT_ATTACH_CORE_SYMBOL "gt_attach_core"
typedef const gt_attach_table *gt_attach_core_fn(void);

#endif
