/* A program with known allocation sites for pprof_check.sh: objects
 * dropped ("Dropped", reclaimed), kept to the end ("Kept", live at exit)
 * and freed ("Freed"), each allocated by workload_leaf, called by
 * workload_middle; and "Leaked", reclaimed while expecting a release. The profile goes where GT_PROFILE says; with
 * GT_STACK_DEPTH=4 the sites are those call stacks. Prints gt's totals
 * once gt has shut down, for the check to compare with pprof's. */
#include <gc.h>
#include <gt/gt.h>
#include <stdio.h>

/* Frames that stay themselves: not inlined, and not cloned under another
 * name (GCC's workload_leaf.isra.0). */
#ifdef __clang__
#define FRAME __attribute__((noinline))
#else
#define FRAME __attribute__((noinline, noclone))
#endif

#define KEPT 300
static void *kept[KEPT]; /* a root: scanned by the collector */

static FRAME void *workload_leaf(size_t size, const char *name) {
  void *p = GT_MALLOC(size, name);
  __asm__ volatile("" : : "r"(p) : "memory"); /* not a tail call */
  return p;
}

static FRAME void workload_middle(int drop, int free_) {
  for (int i = 0; i < drop; i++)
    workload_leaf(24 + (size_t)(i % 5) * 8, "Dropped");
  for (int i = 0; i < KEPT; i++)
    kept[i] = workload_leaf(40, "Kept");
  for (int i = 0; i < free_; i++)
    gt_free(workload_leaf(16, "Freed"));
  __asm__ volatile("" ::: "memory");
}

/* Objects that expect a release and never get one: "Leaked". */
static FRAME void workload_leak(int n) {
  for (int i = 0; i < n; i++) {
    void *p = GT_MALLOC(32, "Leaked");
    gt_expect_release(p);
    __asm__ volatile("" : : "r"(p) : "memory");
  }
}

int main(void) {
  GC_INIT();
  if (gt_init(NULL) != 0) {
    fprintf(stderr, "workload: gt_init: %s\n", gt_last_error());
    return 1;
  }
  workload_middle(5000, 70);
  workload_leak(40);
  gt_collect();
  if (gt_shutdown(5000) != 0) {
    fprintf(stderr, "workload: gt_shutdown: %s\n", gt_last_error());
    return 1;
  }
  gt_stats st;
  gt_get_stats(&st);
  printf("collected=%llu bytes=%llu freed=%llu live=%llu unreleased=%llu\n",
         (unsigned long long)st.collected, (unsigned long long)st.bytes,
         (unsigned long long)st.freed, (unsigned long long)st.live,
         (unsigned long long)st.unreleased);
  return kept[0] ? 0 : 1;
}
