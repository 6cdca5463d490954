#include <criterion/criterion.h>

#include "../internal.h"

Test(sample, every_nth_exact_one_at_a_time) {
  gt_sampler s = {.every = 1000};
  uint64_t taken = 0;
  for (int i = 0; i < 10000; i++)
    taken += gt__sampler_take(&s, 1);
  cr_assert_eq(taken, 10);
}

Test(sample, runs_of_counts_give_the_same_total) {
  gt_sampler a = {.every = 7}, b = {.every = 7};
  uint64_t ta = 0, tb = 0;
  for (int i = 0; i < 100; i++)
    ta += gt__sampler_take(&a, 1);
  tb += gt__sampler_take(&b, 33);
  tb += gt__sampler_take(&b, 67);
  cr_assert_eq(ta, 14);
  cr_assert_eq(tb, ta);
}

Test(sample, every_one_takes_all) {
  gt_sampler s = {.every = 1};
  cr_assert_eq(gt__sampler_take(&s, 5), 5);
}
