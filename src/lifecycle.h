/* What gt.c's lifecycle offers the layer above it (`gt run`'s attach). */
#ifndef GT_LIFECYCLE_H
#define GT_LIFECYCLE_H

#include "util.h"

/* fn runs at exit after gt's own handler has shut gt down (its last
 * collection counted what was still live, delivery is over). */
GT_HIDDEN void gt__at_exit_then(void (*fn)(void));

#endif
