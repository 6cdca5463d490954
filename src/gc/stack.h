/* Allocation sites from call stacks (stack.c). */
#ifndef GT_GC_STACK_H
#define GT_GC_STACK_H

#include "util.h"

/* gt.stack_depth frames (0: none), one stack in `every` allocations. */
GT_HIDDEN void gt__stack_config(int frames, uint64_t every);
GT_HIDDEN int gt__stack_depth(void);
/* The site of an allocation whose caller's return address is ra: its
 * stack (or, below 2 frames, ra alone), for name (NULL: named by the
 * worker from the innermost frame). */
GT_HIDDEN uint32_t gt__stack_site(const char *name, const void *ra);

#endif
