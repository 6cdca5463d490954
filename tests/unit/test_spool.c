#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gt_internal.h"

static char dir[128];

static void fresh_dir(void) {
  snprintf(dir, sizeof dir, "/tmp/gt-spool-unit-%d/a/b", (int)getpid());
  cr_assert_eq(gt__spool_prepare(dir), 0, "%s", gt_last_error());
}

TestSuite(spool, .init = fresh_dir);

static json_t *batch(int n) {
  json_t *b = json_object();
  json_object_set_new(b, "collected", json_integer(n));
  return b;
}

typedef struct seen {
  int calls;
  long long collected;
  char texts[8][64];
  enum gt_spool_verdict answer;
} seen;

static enum gt_spool_verdict record(const char *backend, const char *text,
                                    json_t *b, void *ud) {
  seen *s = ud;
  cr_assert_str_eq(backend, "sms");
  snprintf(s->texts[s->calls % 8], 64, "%s", text);
  s->calls++;
  s->collected += (long long)gt__batch_json_collected(b);
  return s->answer;
}

Test(spool, directory_is_private) {
  struct stat st;
  cr_assert_eq(stat(dir, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0700);
}

Test(spool, write_then_replay_in_order_and_remove) {
  for (int i = 1; i <= 3; i++) {
    char text[16];
    snprintf(text, sizeof text, "m%d", i);
    json_t *b = batch(i);
    cr_assert_eq(gt__spool_write(dir, "sms", text, b, "down"), 0);
    json_decref(b);
  }
  cr_assert_eq(gt__spool_count(dir), 3);
  seen s = {.answer = GT_SPOOL_DELIVERED};
  cr_assert_eq(gt__spool_replay(dir, record, &s), 3);
  cr_assert_eq(s.collected, 6);
  cr_assert_str_eq(s.texts[0], "m1");
  cr_assert_str_eq(s.texts[2], "m3");
  cr_assert_eq(gt__spool_count(dir), 0);
}

Test(spool, keep_and_stop_leave_files) {
  json_t *b = batch(1);
  gt__spool_write(dir, "sms", "a", b, "");
  gt__spool_write(dir, "sms", "b", b, "");
  json_decref(b);
  seen s = {.answer = GT_SPOOL_STOP};
  cr_assert_eq(gt__spool_replay(dir, record, &s), 0);
  cr_assert_eq(s.calls, 1, "stop ends the replay");
  cr_assert_eq(gt__spool_count(dir), 2);
  s = (seen){.answer = GT_SPOOL_KEEP};
  gt__spool_replay(dir, record, &s);
  cr_assert_eq(s.calls, 2);
  cr_assert_eq(gt__spool_count(dir), 2);
}

Test(spool, corrupt_and_rejected_files_are_set_aside) {
  char path[256];
  snprintf(path, sizeof path, "%s/0000000000001.1.1.sms.msg", dir);
  FILE *f = fopen(path, "w");
  fputs("{\"backend\": \"sms\", trunc", f);
  fclose(f);
  json_t *b = batch(2);
  gt__spool_write(dir, "sms", "refused", b, "");
  json_decref(b);
  seen s = {.answer = GT_SPOOL_REJECTED};
  cr_assert_eq(gt__spool_replay(dir, record, &s), 0);
  cr_assert_eq(s.calls, 1, "the corrupt file is never offered");
  cr_assert_eq(gt__spool_count(dir), 0);
  char aside[300];
  snprintf(aside, sizeof aside, "%s.corrupt", path);
  cr_assert_eq(access(aside, F_OK), 0);
}

Test(spool, stray_temporaries_and_dead_claims_are_tidied) {
  json_t *b = batch(4);
  gt__spool_write(dir, "sms", "claimed", b, "");
  json_decref(b);
  /* Simulate a replaying process that died holding a claim, and a writer
   * that died before its rename. pid 2^22+1 is beyond pid_max defaults. */
  char cmd[512];
  snprintf(cmd, sizeof cmd,
           "cd %s && for f in *.msg; do mv \"$f\" \"$f.claim.4194305\"; done"
           " && echo partial > .tmp.4194305.0",
           dir);
  cr_assert_eq(system(cmd), 0);
  seen s = {.answer = GT_SPOOL_DELIVERED};
  gt__spool_count(dir); /* the listing releases the dead claim */
  cr_assert_eq(gt__spool_replay(dir, record, &s), 1);
  cr_assert_eq(s.collected, 4);
  char tmp[256];
  snprintf(tmp, sizeof tmp, "%s/.tmp.4194305.0", dir);
  cr_assert_neq(access(tmp, F_OK), 0, "stray temporary removed");
}

Test(spool, unwritable_directory_fails_naming_the_key) {
  cr_assert_eq(gt__spool_prepare("/proc/gt-cannot-exist"), -GT_EIO);
  cr_assert(strstr(gt_last_error(), "gt.spool_dir"));
}
