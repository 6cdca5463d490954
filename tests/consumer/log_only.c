/* Against a library built with -DGT_BACKENDS=log: the log backend works,
 * and asking for one that was left out fails gt_init with GT_EBACKEND and
 * a sentence saying so. Prints "ok" when both hold (tests/consumer/run.sh). */
#define GC_THREADS
#include <gc.h>
#include <gt/gt.h>
#include <stdio.h>
#include <string.h>

static int init_with_backend(const char *backend) {
  gt_options *o = gt_options_new();
  if (!o || gt_options_set(o, "gt.backend", backend) != 0) {
    fprintf(stderr, "gt_options: %s\n", gt_last_error());
    return GT_ENOMEM;
  }
  int rc = gt_init(o);
  gt_options_free(o);
  return rc;
}

int main(void) {
  GC_INIT();
  int rc = init_with_backend("log");
  if (rc != 0) {
    fprintf(stderr, "gt.backend=log: %d %s\n", rc, gt_last_error());
    return 1;
  }
  gt_shutdown(1000);
  rc = init_with_backend("sms");
  if (rc != GT_EBACKEND ||
      !strstr(gt_last_error(), "not available in this build")) {
    fprintf(stderr, "gt.backend=sms: want %d (GT_EBACKEND), got %d: %s\n",
            GT_EBACKEND, rc, gt_last_error());
    return 1;
  }
  puts("ok");
  return 0;
}
