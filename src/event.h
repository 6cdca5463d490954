/* An event: what the collector's context reports and the worker counts. 32
 * bytes, fixed size, so the ring never allocates. */
#ifndef GT_EVENT_H
#define GT_EVENT_H

#include <stdint.h>

enum gt_event_kind { GT_EV_COLLECTED = 1, GT_EV_FREED = 2 };

enum {
  GT_EVF_AGE = 1,       /* birth fields are set (gt.track_age) */
  GT_EVF_UNRELEASED = 2 /* reclaimed while expecting release (a leak) */
};

typedef struct gt_event {
  uint32_t site;
  uint8_t kind;
  uint8_t flags;
  uint16_t count;    /* identical objects this event stands for (>= 1) */
  uint32_t birth_gc; /* GC numbers, low bits (gc/gcassume.h) */
  uint32_t death_gc;
  uint64_t size;    /* of one object */
  int64_t birth_ms; /* CLOCK_MONOTONIC ms at allocation */
} gt_event;

/* The birth word of gt.track_age: the low bits of the GC number (what
 * bdwgc's counter wraps to there) and monotonic ms. */
#define GT_GCNO_BITS 24
#define GT_GCNO_MASK ((1u << GT_GCNO_BITS) - 1)
#define GT_BIRTH_MS_BITS 40
#define GT_BIRTH_MS_MASK ((1ull << GT_BIRTH_MS_BITS) - 1)

#endif
