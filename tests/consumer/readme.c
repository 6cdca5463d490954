/* The program of README's "Use it", as a new user would write it: built
 * against an installed gt through pkg-config and through CMake's
 * find_package(gt) with -Wall -Wextra -Werror (tests/consumer/run.sh).
 * Keep it in step with README. */
/* From here on README's text, byte for byte: run.sh compares them. */
// clang-format off
#define GC_THREADS                          /* before gc.h, as bdwgc asks */
#include <stdio.h>
#include <gc.h>
#include <gt/gt.h>

typedef struct node { struct node *next; int value; } node;

int main(void) {
  GC_INIT();
  if (gt_init(NULL) != 0) {                 /* defaults + $GT_CONFIG + GT_* */
    fprintf(stderr, "gt: %s\n", gt_last_error());
    return 1;
  }
  node *n = GT_MALLOC(sizeof *n, "Node");   /* name + file:line recorded */
  n = NULL;                                 /* drop the last reference   */
  printf("%zu collected\n", gt_collect());  /* collect, report, deliver  */

  gt_stats st;
  gt_get_stats(&st);                        /* allocated, collected, ... */
  return gt_shutdown(5000);                 /* also runs at exit         */
}
// clang-format on
