/* The summary `gt run` prints after the program exits (summary.c). */
#ifndef GT_ATTACH_SUMMARY_H
#define GT_ATTACH_SUMMARY_H

#include "util.h"

/* Writes it to $GT_RUN_SUMMARY/<pid>.txt (stderr if unset): what the
 * program allocated, what was reclaimed, freed and still live, and the top
 * sites, and where its profile went. At exit, after gt_shutdown. */
GT_HIDDEN void gt__attach_summary(void);

/* The events' file (log.path of a log backend; not stderr), named in the
 * summary's last line. Set before gt_init; NULL: none. */
GT_HIDDEN void gt__attach_summary_log(const char *path);

#endif
