/* The run's end as JSON (exit.c), written by the log backend as the last
 * line of a JSON log: every gt_stats field, and the objects still live at
 * gt_shutdown's collection grouped as batches are (docs/backends.md). */
#ifndef GT_EXIT_H
#define GT_EXIT_H

#include "config.h"
#include "util.h"

#define GT_EXIT_MAX_GROUPS 1000 /* live groups listed; the rest summed */

struct json_t;
/* live_counted: gt_shutdown's collection counted the live objects (else
 * "live" is left out: unknown, not 0). Counts are scaled by
 * gt.alloc_sample_every as batches' are. Sites holding live objects must
 * have been named (gt__worker_name_live). NULL when out of memory. */
GT_HIDDEN struct json_t *gt__exit_json(const gt_stats *st, bool live_counted,
                                       enum gt_group_by by, uint64_t scale,
                                       int64_t wall_ms);

#endif
