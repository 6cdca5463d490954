/* For programs built from source that allocate with bdwgc's macros:
 * include after <gc.h> (or instead of it) in the files whose GC_MALLOC
 * family should become gt objects, named after the calling function and
 * sited at file:line. GC_NEW and GC_NEW_ATOMIC follow, as gc.h defines
 * them through GC_MALLOC. Uncollectable, typed and GC_STRNDUP allocations
 * stay bdwgc's. (`gt run` does the same for a program as built, with call
 * stacks instead of file:line: docs/attach.md.) */
#ifndef GT_GC_REDIRECT_H
#define GT_GC_REDIRECT_H

#include <gc.h>
#include <gt/gt.h>

#undef GC_MALLOC
#undef GC_MALLOC_ATOMIC
#undef GC_MALLOC_IGNORE_OFF_PAGE
#undef GC_MALLOC_ATOMIC_IGNORE_OFF_PAGE
#undef GC_REALLOC
#undef GC_STRDUP
#undef GC_FREE
#define GC_MALLOC(n) gt_malloc_at((n), __func__, __FILE__, __LINE__)
#define GC_MALLOC_ATOMIC(n)                                                    \
  gt_malloc_atomic_at((n), __func__, __FILE__, __LINE__)
#define GC_MALLOC_IGNORE_OFF_PAGE(n) GC_MALLOC(n)
#define GC_MALLOC_ATOMIC_IGNORE_OFF_PAGE(n) GC_MALLOC_ATOMIC(n)
#define GC_REALLOC(p, n) gt_realloc((p), (n))
#define GC_STRDUP(s) gt_strdup((s), __func__)
#define GC_FREE(p) gt_free(p)

#endif
