/* Token bucket and daily cap (ratelimit.c). */
#ifndef GT_DELIVERY_RATELIMIT_H
#define GT_DELIVERY_RATELIMIT_H

#include "util.h"

typedef struct gt_ratelimit {
  double per_minute; /* <= 0: unlimited */
  double tokens;
  int64_t last_ms;
  uint64_t daily_cap; /* 0: none */
  uint64_t today;
  int64_t day; /* days since epoch of `today` */
} gt_ratelimit;
GT_HIDDEN void gt__ratelimit_init(gt_ratelimit *r, double per_minute,
                                  uint64_t daily_cap, int64_t now_ms);
enum gt_rl_verdict { GT_RL_SEND, GT_RL_HOLD, GT_RL_CAP_LAST, GT_RL_CAPPED };
GT_HIDDEN enum gt_rl_verdict
gt__ratelimit_take(gt_ratelimit *r, int64_t mono_ms, int64_t wall_ms);
/* Milliseconds until a token is available (0 if now). */
GT_HIDDEN int64_t gt__ratelimit_wait_ms(const gt_ratelimit *r, int64_t mono_ms);

#endif
