/* Every assumption gt makes about how bdwgc was built, in one place.
 * gt__gc_check_assumptions() (alloc.c) verifies them against the running
 * collector when gt sets up, and refuses to run on one that differs. */
#ifndef GT_GCASSUME_H
#define GT_GCASSUME_H

/* HBLKSIZE: bdwgc's heap block (LOG_HBLKSIZE 12 on Debian amd64). Objects
 * of more than half a block are "large": alone in their blocks. */
#define GT_HBLK 4096
/* GRANULE_BYTES: object sizes are multiples of it. */
#define GT_GRANULE 16
/* The bits of GC_get_gc_no() kept in a birth word: event.h. */

#endif
