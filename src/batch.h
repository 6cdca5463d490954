/* A batch (batch.c): exact counts per group since the last message, and
 * the details of the first sampled objects. The unit the worker closes and
 * every sink renders, holds, merges and spools. */
#ifndef GT_BATCH_H
#define GT_BATCH_H

#include "config.h"
#include "event.h"
#include "util.h"

/* Ages of a group's objects: exact extremes, median from a histogram of
 * half-octave buckets (within about 20%). */
#define GT_AGE_BUCKETS 96
typedef struct gt_ages {
  uint64_t n, min, max;
  uint32_t hist[GT_AGE_BUCKETS];
} gt_ages;
GT_HIDDEN void gt__ages_add(gt_ages *a, uint64_t v);
GT_HIDDEN void gt__ages_merge(gt_ages *into, const gt_ages *from);
GT_HIDDEN uint64_t gt__ages_median(const gt_ages *a);

typedef struct gt_group {
  uint32_t site;       /* 0 when grouped by name or not at all */
  uint32_t name_id;    /* 0 when group_by=none */
  uint32_t only_site;  /* the site if every object shares one, else 0 */
  uint64_t count;      /* collected */
  uint64_t unreleased; /* of those, reclaimed while expecting release */
  uint64_t freed;
  uint64_t bytes;
  gt_ages age_ms, age_gcs; /* of the objects that carried a birth word */
} gt_group;

typedef struct gt_sample {
  uint32_t site;
  bool aged;
  uint64_t size;
  uint64_t age_gcs; /* collections survived */
  uint64_t age_ms;
} gt_sample;

#define GT_BATCH_MAX_SAMPLES 32 /* details kept per batch; counts are exact */

typedef struct gt_batch {
  uint64_t seq;
  uint64_t collected;
  uint64_t unreleased; /* of collected, reclaimed expecting release */
  uint64_t freed;
  uint64_t sampled;
  uint64_t bytes;
  uint64_t scale;       /* alloc_sample_every: counts are estimates when > 1 */
  uint64_t leak_scale;  /* leak_sample_every: unreleased is scale x this */
  bool unreleased_only; /* gt.report=unreleased: only leaks were added */
  uint64_t overflow;    /* events that arrived as counts only */
  uint32_t merged;      /* batches folded in by the rate limiter */
  int64_t first_wall_ms, last_wall_ms;
  gt_group *groups; /* sorted by count, descending */
  size_t ngroups, cap_groups, last_group;
  /* (site, name) -> group + 1, open addressing; for the first `indexed`
   * groups (sorting moves them: it sets indexed to 0). */
  uint32_t *index;
  size_t index_cap, indexed;
  gt_sample samples[GT_BATCH_MAX_SAMPLES];
  size_t nsamples;
} gt_batch;

GT_HIDDEN void gt__batch_init(gt_batch *b);
GT_HIDDEN void gt__batch_reset(gt_batch *b);
GT_HIDDEN void gt__batch_free(gt_batch *b);
GT_HIDDEN bool gt__batch_empty(const gt_batch *b);
/* now_ms: CLOCK_MONOTONIC, to turn an event's birth into an age. */
GT_HIDDEN int gt__batch_add(gt_batch *b, enum gt_group_by by,
                            const gt_event *ev, uint64_t n, bool sampled,
                            int64_t now_ms);
GT_HIDDEN int gt__batch_merge(gt_batch *into, const gt_batch *from);
GT_HIDDEN void gt__batch_sort(gt_batch *b);
/* What a batch's counts stand for: unreleased ones scale by both
 * samplings (gt.alloc_sample_every x gt.leak_sample_every); the others by
 * gt.alloc_sample_every, or by both in a batch of leaks only
 * (gt.report=unreleased: each object in it is a marked one). */
GT_HIDDEN uint64_t gt__batch_leak_scale(const gt_batch *b);
GT_HIDDEN uint64_t gt__batch_count_scale(const gt_batch *b);
/* The batch as a JSON object (jansson json_t *, caller decrefs). */
struct json_t;
GT_HIDDEN struct json_t *gt__batch_json(const gt_batch *b);
/* Collected count of a batch JSON (gt__batch_json's shape), for totals. */
GT_HIDDEN uint64_t gt__batch_json_collected(struct json_t *j);

#endif
