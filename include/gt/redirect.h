/* Drop-in replacement: include after the system headers in a file whose
 * malloc, calloc, realloc, strdup and free should become gt objects named
 * after the file (override with #define GT_REDIRECT_NAME "Name" first).
 * The memory is then bdwgc memory: never pass it to a real free(). */
#ifndef GT_REDIRECT_H
#define GT_REDIRECT_H

#include <gt/gt.h>

#ifndef GT_REDIRECT_NAME
#define GT_REDIRECT_NAME __FILE_NAME__
#endif

#undef malloc
#undef calloc
#undef realloc
#undef strdup
#undef free
#define malloc(n) gt_malloc_at((n), GT_REDIRECT_NAME, __FILE__, __LINE__)
#define calloc(n, s) gt_calloc((n), (s), GT_REDIRECT_NAME)
#define realloc(p, n) gt_realloc((p), (n))
#define strdup(s) gt_strdup((s), GT_REDIRECT_NAME)
#define free(p) gt_free(p)

#endif
