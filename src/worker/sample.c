/* Exact every-Nth sampling: the Nth, 2Nth, ... collected object becomes a
 * notification, however the objects arrive (one event or a counted run). */
#include "worker/sample.h"

uint64_t gt__sampler_take(gt_sampler *s, uint64_t n) {
  uint64_t every = s->every ? s->every : 1;
  uint64_t before = s->seen / every;
  s->seen += n;
  return s->seen / every - before;
}
