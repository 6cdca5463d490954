#include <criterion/criterion.h>

#include "../internal.h"

#define DAY 86400000LL

Test(ratelimit, bucket_allows_a_burst_then_holds) {
  gt_ratelimit r;
  gt__ratelimit_init(&r, 6, 0, 0);
  for (int i = 0; i < 6; i++)
    cr_assert_eq(gt__ratelimit_take(&r, 0, 0), GT_RL_SEND);
  cr_assert_eq(gt__ratelimit_take(&r, 0, 0), GT_RL_HOLD);
  cr_assert_eq(gt__ratelimit_wait_ms(&r, 0), 10001);
  cr_assert_eq(gt__ratelimit_take(&r, 10000, 0), GT_RL_SEND,
               "one token per 10 s at 6/min");
}

Test(ratelimit, zero_rate_is_unlimited) {
  gt_ratelimit r;
  gt__ratelimit_init(&r, 0, 0, 0);
  for (int i = 0; i < 1000; i++)
    cr_assert_eq(gt__ratelimit_take(&r, 0, 0), GT_RL_SEND);
}

Test(ratelimit, daily_cap_says_last_then_capped_then_resets) {
  gt_ratelimit r;
  gt__ratelimit_init(&r, 0, 3, 0);
  cr_assert_eq(gt__ratelimit_take(&r, 0, 5), GT_RL_SEND);
  cr_assert_eq(gt__ratelimit_take(&r, 0, 5), GT_RL_SEND);
  cr_assert_eq(gt__ratelimit_take(&r, 0, 5), GT_RL_CAP_LAST);
  cr_assert_eq(gt__ratelimit_take(&r, 0, 5), GT_RL_CAPPED);
  cr_assert_eq(gt__ratelimit_take(&r, 0, DAY + 5), GT_RL_SEND, "new day");
}
