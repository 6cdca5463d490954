/* The process's counters (stats.c): one per GT_STATS field counted by
 * the pipeline (gt.h), so the list exists once. */
#ifndef GT_STATS_H
#define GT_STATS_H

#include "util.h"

enum gt_counter {
#define GT__COUNTER_ENUM_PIPELINE(field) GT_C_##field,
#define GT__COUNTER_ENUM_ALLOC(field)
#define GT__COUNTER_ENUM_DERIVED(field)
#define GT__COUNTER_ENUM(field, who, meaning) GT__COUNTER_ENUM_##who(field)
  GT_STATS(GT__COUNTER_ENUM)
#undef GT__COUNTER_ENUM
      GT_C_COUNT
};

GT_HIDDEN void gt__count(enum gt_counter c, uint64_t n);
GT_HIDDEN uint64_t gt__counter(enum gt_counter c);
/* gt.alloc_sample_every in force, for the estimates. */
GT_HIDDEN void gt__stats_scale(uint64_t alloc_sample_every);
GT_HIDDEN uint64_t gt__stats_scale_get(void);
/* A forked child counts its own objects. */
GT_HIDDEN void gt__stats_fork_child(void);

#endif
