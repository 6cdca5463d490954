/* Token bucket for messages plus a daily cap. The pipeline holds and merges
 * a batch that finds no token, so limiting never loses a count. */
#include "delivery/ratelimit.h"

#define DAY_MS 86400000

void gt__ratelimit_init(gt_ratelimit *r, double per_minute, uint64_t daily_cap,
                        int64_t now_ms) {
  r->per_minute = per_minute;
  /* A full bucket holds one minute's worth, at least one message. */
  r->tokens = per_minute >= 1 ? per_minute : 1;
  r->last_ms = now_ms;
  r->daily_cap = daily_cap;
  r->today = 0;
  r->day = -1;
}

static void refill(gt_ratelimit *r, int64_t now) {
  if (r->per_minute <= 0) return;
  double cap = r->per_minute >= 1 ? r->per_minute : 1;
  r->tokens += (double)(now - r->last_ms) * r->per_minute / 60000.0;
  if (r->tokens > cap) r->tokens = cap;
  r->last_ms = now;
}

enum gt_rl_verdict gt__ratelimit_take(gt_ratelimit *r, int64_t mono_ms,
                                      int64_t wall_ms) {
  int64_t day = wall_ms / DAY_MS;
  if (day != r->day) {
    r->day = day;
    r->today = 0;
  }
  if (r->daily_cap && r->today >= r->daily_cap) return GT_RL_CAPPED;
  refill(r, mono_ms);
  if (r->per_minute > 0) {
    if (r->tokens < 1) return GT_RL_HOLD;
    r->tokens -= 1;
  }
  r->today++;
  return r->daily_cap && r->today == r->daily_cap ? GT_RL_CAP_LAST : GT_RL_SEND;
}

int64_t gt__ratelimit_wait_ms(const gt_ratelimit *r, int64_t mono_ms) {
  if (r->per_minute <= 0) return 0;
  double tokens =
      r->tokens + (double)(mono_ms - r->last_ms) * r->per_minute / 60000.0;
  if (tokens >= 1) return 0;
  return (int64_t)((1 - tokens) * 60000.0 / r->per_minute) + 1;
}
