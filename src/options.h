/* Building the configuration from gt_options and the environment
 * (options.c). */
#ifndef GT_OPTIONS_H
#define GT_OPTIONS_H

#include "config.h"

/* Defaults, $GT_CONFIG, opts (may be NULL) and GT_* variables, checked;
 * fails naming the key and where its value came from. */
GT_HIDDEN int gt__options_build(const gt_options *opts, gt_config *out);
/* A default of the caller's (gt run's), below every other source; origin
 * names it in errors ("gt run's default"). */
GT_HIDDEN int gt__options_set_default(gt_options *o, const char *key,
                                      const char *value, const char *origin);

/* One warning for each GT_* environment variable that names no key (a
 * typo), with the closest key's name; GT_CONFIG, GT_TEST_* and GT_BENCH_*
 * are not keys and stay quiet. Each name is warned about once a process.
 * gt_init and the gt tool call it. */
GT_HIDDEN void gt__options_warn_env(void);

#endif
