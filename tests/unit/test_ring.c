#include <criterion/criterion.h>
#include <pthread.h>

#include "../internal.h"

Test(ring, rounds_capacity_to_power_of_two) {
  gt_ring *r = gt__ring_new(100);
  cr_assert_eq(gt__ring_capacity(r), 128);
  gt__ring_free(r);
}

Test(ring, fifo_and_full) {
  gt_ring *r = gt__ring_new(16);
  gt_event ev = {0}, out;
  for (uint32_t i = 0; i < 16; i++) {
    ev.site = i + 1;
    cr_assert(gt__ring_push(r, &ev));
  }
  ev.site = 99;
  cr_assert_not(gt__ring_push(r, &ev), "a full ring must refuse, not block");
  for (uint32_t i = 0; i < 16; i++) {
    cr_assert(gt__ring_pop(r, &out));
    cr_assert_eq(out.site, i + 1);
  }
  cr_assert_not(gt__ring_pop(r, &out));
  cr_assert(gt__ring_push(r, &ev), "space is reusable after draining");
  gt__ring_free(r);
}

#define PRODUCERS 4
#define PER_PRODUCER 200000

typedef struct prod {
  gt_ring *r;
  uint32_t id;
  uint64_t refused;
} prod;

static void *produce(void *arg) {
  prod *p = arg;
  for (uint64_t i = 0; i < PER_PRODUCER; i++) {
    gt_event ev = {.site = p->id, .size = i};
    while (!gt__ring_push(p->r, &ev))
      p->refused++;
  }
  return NULL;
}

Test(ring, concurrent_producers_lose_nothing_and_keep_order) {
  gt_ring *r = gt__ring_new(1024);
  pthread_t t[PRODUCERS];
  prod p[PRODUCERS];
  for (int i = 0; i < PRODUCERS; i++) {
    p[i] = (prod){.r = r, .id = (uint32_t)i};
    pthread_create(&t[i], NULL, produce, &p[i]);
  }
  uint64_t next[PRODUCERS] = {0}, total = 0;
  gt_event ev;
  int64_t last = gt__now_ms(); /* a lost event must fail, not hang */
  while (total < (uint64_t)PRODUCERS * PER_PRODUCER) {
    if (!gt__ring_pop(r, &ev)) {
      cr_assert_lt(gt__now_ms() - last, 5000,
                   "nothing to pop for 5 s after %llu of %llu events",
                   (unsigned long long)total,
                   (unsigned long long)PRODUCERS * PER_PRODUCER);
      continue;
    }
    last = gt__now_ms();
    cr_assert_lt(ev.site, PRODUCERS);
    cr_assert_eq(ev.size, next[ev.site], "producer %u out of order", ev.site);
    next[ev.site]++;
    total++;
  }
  for (int i = 0; i < PRODUCERS; i++)
    pthread_join(t[i], NULL);
  cr_assert_not(gt__ring_pop(r, &ev));
  gt__ring_free(r);
}
