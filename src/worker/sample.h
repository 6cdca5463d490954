/* Exact every-Nth sampling (sample.c). */
#ifndef GT_WORKER_SAMPLE_H
#define GT_WORKER_SAMPLE_H

#include "util.h"

typedef struct gt_sampler {
  uint64_t every;
  uint64_t seen;
} gt_sampler;
/* How many of the next n objects are sampled (exact every-Nth). */
GT_HIDDEN uint64_t gt__sampler_take(gt_sampler *s, uint64_t n);

#endif
