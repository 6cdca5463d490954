/* The spool's functions: write, replay in order, verdicts, what is set aside
 * and why, temporaries and old-style claims, UTF-8, size bound, listing.
 * Trust (ownership, symlinks, FIFOs) and locking between processes are in
 * test_spool_security.c. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../internal.h"
#include "text.h"

static char base[64], dir[128];

/* base is new (mkdtemp, not the pid: pids come back after a crashed run);
 * gt__spool_prepare makes the levels a/b below it. */
static void fresh_dir(void) {
  snprintf(base, sizeof base, "/tmp/gt-spool-unit-XXXXXX");
  cr_assert_not_null(mkdtemp(base));
  snprintf(dir, sizeof dir, "%s/a/b", base);
  cr_assert_eq(gt__spool_prepare(dir), 0, "%s", gt_last_error());
}

static void remove_dir(void) {
  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove the test spool\n");
}

TestSuite(spool, .init = fresh_dir, .fini = remove_dir, .timeout = 30);

static json_t *batch(int n) {
  json_t *b = json_object();
  json_object_set_new(b, "collected", json_integer(n));
  return b;
}

static void spool(const char *text, int n, const char *reason) {
  json_t *b = batch(n);
  cr_assert_eq(gt__spool_write(dir, "sms", text, b, reason), 0, "%s",
               gt_last_error());
  json_decref(b);
}

static void plant(const char *name, const char *body) {
  char path[400];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs(body, f);
  cr_assert_eq(fclose(f), 0);
}

static bool exists(const char *name) {
  char path[400];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return access(path, F_OK) == 0;
}

typedef struct seen {
  int calls;
  long long collected;
  char texts[8][64];
  enum gt_spool_verdict answer;
  const char *reject_reason;
} seen;

static enum gt_spool_verdict record(const char *backend, const char *text,
                                    json_t *b, void *ud) {
  seen *s = ud;
  cr_assert_str_eq(backend, "sms");
  snprintf(s->texts[s->calls % 8], 64, "%s", text);
  s->calls++;
  s->collected += (long long)gt__batch_json_collected(b);
  if (s->reject_reason) gt__spool_reject_reason(s->reject_reason);
  return s->answer;
}

/* What gt__spool_list reports, by file name. */
typedef struct row {
  char name[200], backend[16], text[96], reason[200], aside[300];
  enum gt_spool_state state;
  bool known, has_text;
  uint64_t objects;
} row;
typedef struct rows {
  row r[16];
  int n;
} rows;

static void collect_row(const gt_spool_entry *e, void *ud) {
  rows *rs = ud;
  cr_assert_lt(rs->n, 16);
  row *r = &rs->r[rs->n++];
  memset(r, 0, sizeof *r);
  snprintf(r->name, sizeof r->name, "%s", e->name);
  snprintf(r->backend, sizeof r->backend, "%s", e->backend ? e->backend : "");
  snprintf(r->text, sizeof r->text, "%s", e->text ? e->text : "");
  snprintf(r->reason, sizeof r->reason, "%s", e->reason ? e->reason : "");
  snprintf(r->aside, sizeof r->aside, "%s", e->aside ? e->aside : "");
  r->has_text = e->text != NULL;
  r->state = e->state;
  r->known = e->objects_known;
  r->objects = e->objects;
}

static const row *find_row(const rows *rs, const char *suffix) {
  for (int i = 0; i < rs->n; i++) {
    size_t n = strlen(rs->r[i].name), m = strlen(suffix);
    if (n >= m && !strcmp(rs->r[i].name + n - m, suffix)) return &rs->r[i];
  }
  return NULL;
}

static rows list_all(void) {
  rows rs = {0};
  cr_assert_eq(gt__spool_list(dir, collect_row, &rs), rs.n, "%s",
               gt_last_error());
  return rs;
}

Test(spool, directory_is_private) {
  struct stat st;
  cr_assert_eq(stat(dir, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0700);
  char parent[128];
  snprintf(parent, sizeof parent, "%s/a", base);
  cr_assert_eq(stat(parent, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0700, "every created level is 0700");
}

Test(spool, write_then_replay_in_order_and_remove) {
  for (int i = 1; i <= 3; i++) {
    char text[16];
    snprintf(text, sizeof text, "m%d", i);
    spool(text, i, "down");
  }
  cr_assert_eq(gt__spool_count(dir), 3);
  rows rs = list_all();
  cr_assert_eq(rs.n, 3);
  for (int i = 0; i < 3; i++) {
    cr_expect_eq(rs.r[i].state, GT_SPOOLED_PENDING);
    cr_expect_eq(rs.r[i].objects, (uint64_t)i + 1);
    cr_expect_str_eq(rs.r[i].reason, "down");
  }
  struct stat st;
  char path[400];
  snprintf(path, sizeof path, "%s/%s", dir, rs.r[0].name);
  cr_assert_eq(stat(path, &st), 0);
  cr_expect_eq(st.st_mode & 0777, 0600);
  seen s = {.answer = GT_SPOOL_DELIVERED};
  cr_assert_eq(gt__spool_replay(dir, record, &s), 3);
  cr_assert_eq(s.collected, 6);
  cr_assert_str_eq(s.texts[0], "m1");
  cr_assert_str_eq(s.texts[2], "m3");
  cr_assert_eq(gt__spool_count(dir), 0);
  cr_assert_eq(list_all().n, 0, "nothing left, not even a temporary");
}

Test(spool, keep_and_stop_leave_files_untouched) {
  spool("a", 1, "");
  spool("b", 1, "");
  rows before = list_all();
  struct stat st0, st1;
  char path[400];
  snprintf(path, sizeof path, "%s/%s", dir, before.r[0].name);
  cr_assert_eq(stat(path, &st0), 0);
  seen s = {.answer = GT_SPOOL_STOP};
  cr_assert_eq(gt__spool_replay(dir, record, &s), 0);
  cr_assert_eq(s.calls, 1, "stop ends the replay");
  cr_assert_eq(gt__spool_count(dir), 2);
  cr_assert_eq(stat(path, &st1), 0, "the stopped file keeps its name");
  cr_expect_eq(st1.st_ino, st0.st_ino);
  cr_expect_eq(st1.st_mtime, st0.st_mtime);
  s = (seen){.answer = GT_SPOOL_KEEP};
  gt__spool_replay(dir, record, &s);
  cr_assert_eq(s.calls, 2);
  rows after = list_all();
  cr_assert_eq(after.n, 2);
  cr_expect_str_eq(after.r[0].name, before.r[0].name);
  cr_expect_eq(after.r[0].state, GT_SPOOLED_PENDING);
}

Test(spool, rejected_file_is_kept_with_its_reason_and_listed) {
  spool("refused", 2, "sms: HTTP 500");
  seen s = {.answer = GT_SPOOL_REJECTED,
            .reject_reason = "sms: HTTP 401 Invalid login details"};
  cr_assert_eq(gt__spool_replay(dir, record, &s), 0);
  cr_assert_eq(s.calls, 1);
  cr_assert_eq(gt__spool_count(dir), 0, "no longer pending");
  s = (seen){.answer = GT_SPOOL_DELIVERED};
  cr_assert_eq(gt__spool_replay(dir, record, &s), 0);
  cr_assert_eq(s.calls, 0, "a rejected file is never offered again");
  rows rs = list_all();
  cr_assert_eq(rs.n, 1, "the rejected message is kept");
  const row *r = find_row(&rs, ".msg.rejected");
  cr_assert_not_null(r);
  cr_expect_eq(r->state, GT_SPOOLED_REJECTED);
  cr_expect_str_eq(r->aside, "sms: HTTP 401 Invalid login details");
  cr_expect_str_eq(r->reason, "sms: HTTP 500");
  cr_expect_str_eq(r->text, "refused");
  cr_expect_str_eq(r->backend, "sms");
  cr_expect(r->known && r->objects == 2);
}

Test(spool, rejected_without_a_reason_says_refused_permanently) {
  spool("refused", 1, "");
  seen s = {.answer = GT_SPOOL_REJECTED};
  gt__spool_replay(dir, record, &s);
  rows rs = list_all();
  const row *r = find_row(&rs, ".msg.rejected");
  cr_assert_not_null(r);
  cr_expect_str_eq(r->aside, "the server refused it permanently");
}

Test(spool, corrupt_files_are_set_aside_with_reason_and_count) {
  plant("0000000000001.1.1.sms.msg", "{\"backend\": \"sms\", trunc");
  /* What F8 left behind: a message whose text was dropped. */
  plant("0000000000002.1.1.sms.msg",
        "{\"v\":1,\"backend\":\"sms\",\"batch\":{\"collected\":7}}");
  spool("good", 1, "");
  rows rs = list_all();
  cr_assert_eq(rs.n, 3);
  cr_expect_eq(rs.r[0].state, GT_SPOOLED_CORRUPT, "judged before replay too");
  seen s = {.answer = GT_SPOOL_DELIVERED};
  cr_assert_eq(gt__spool_replay(dir, record, &s), 1);
  cr_assert_eq(s.calls, 1, "corrupt files are never offered");
  cr_assert(exists("0000000000001.1.1.sms.msg.corrupt"));
  cr_assert(exists("0000000000002.1.1.sms.msg.corrupt"));
  rs = list_all();
  cr_assert_eq(rs.n, 2, "two corrupt files, their reasons not listed apart");
  const row *a = find_row(&rs, "1.1.1.sms.msg.corrupt");
  const row *b = find_row(&rs, "2.1.1.sms.msg.corrupt");
  cr_assert(a && b);
  cr_expect_eq(a->state, GT_SPOOLED_CORRUPT);
  cr_expect(strstr(a->aside, "not valid JSON"), "%s", a->aside);
  cr_expect(!a->known, "a truncated file's count cannot be read");
  cr_expect_eq(b->state, GT_SPOOLED_CORRUPT);
  cr_expect(strstr(b->aside, "no text"), "%s", b->aside);
  cr_expect(b->known && b->objects == 7, "the count is reported");
}

Test(spool, oversized_file_is_set_aside_unread) {
  char path[400];
  snprintf(path, sizeof path, "%s/0000000000001.1.1.sms.msg", dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
  cr_assert_geq(fd, 0);
  cr_assert_eq(ftruncate(fd, (16 << 20) + 1), 0); /* sparse: cheap */
  close(fd);
  seen s = {.answer = GT_SPOOL_DELIVERED};
  cr_assert_eq(gt__spool_replay(dir, record, &s), 0);
  cr_assert_eq(s.calls, 0);
  rows rs = list_all();
  cr_assert_eq(rs.n, 1);
  cr_expect_eq(rs.r[0].state, GT_SPOOLED_CORRUPT);
  cr_expect(strstr(rs.r[0].aside, "over the spool's limit of 16 MiB"), "%s",
            rs.r[0].aside);
}

Test(spool, a_message_over_the_limit_is_not_written) {
  size_t n = (16u << 20) + 10;
  char *text = malloc(n + 1);
  cr_assert_not_null(text);
  memset(text, 'x', n);
  text[n] = 0;
  json_t *b = batch(1);
  cr_expect_eq(gt__spool_write(dir, "sms", text, b, ""), GT_EIO);
  cr_expect(strstr(gt_last_error(), "16 MiB"), "%s", gt_last_error());
  json_decref(b);
  free(text);
  cr_expect_eq(list_all().n, 0, "nothing half-written is left");
}

Test(spool, invalid_utf8_is_kept_escaped_never_dropped) {
  json_t *b = batch(3);
  /* A group name set with an unchecked setter: jansson cannot write it. */
  json_object_set_new(b, "name", json_string_nocheck("bad\xffname"));
  json_object_set_new_nocheck(b, "k\xfe", json_true());
  cr_assert_eq(
      gt__spool_write(dir, "sms", "Caf\xe9 objects", b, "sms: HTTP 500 \xc3("),
      0, "%s", gt_last_error());
  json_decref(b);
  rows rs = list_all();
  cr_assert_eq(rs.n, 1);
  cr_assert_eq(rs.r[0].state, GT_SPOOLED_PENDING, "%s", rs.r[0].aside);
  cr_expect_str_eq(rs.r[0].text, "Caf\\xe9 objects");
  cr_expect_str_eq(rs.r[0].reason, "sms: HTTP 500 \\xc3(");
  seen s = {.answer = GT_SPOOL_DELIVERED};
  cr_assert_eq(gt__spool_replay(dir, record, &s), 1);
  cr_expect_str_eq(s.texts[0], "Caf\\xe9 objects");
  cr_expect_eq(s.collected, 3, "the batch is kept");
}

Test(spool, utf8_repair_agrees_with_jansson) {
  /* Random byte strings biased towards UTF-8 lead and continuation bytes:
   * the repaired string is always accepted, and a string jansson accepts
   * is left as it is. */
  unsigned r = 12345;
  const unsigned char pool[] = {0x41, 0x80, 0xBF, 0xC0, 0xC2, 0xDF,
                                0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5,
                                0xFF, 0xA0, 0x9F, 0x8F, 0x90, 0x5C};
  for (int t = 0; t < 20000; t++) {
    char s[9];
    size_t n = (size_t)(t % 8) + 1;
    for (size_t i = 0; i < n; i++) {
      r = r * 1103515245u + 12345u;
      s[i] = (char)pool[(r >> 16) % sizeof pool];
    }
    s[n] = 0;
    size_t len;
    char *fixed = gt__text_utf8n(s, n, &len);
    cr_assert_not_null(fixed);
    json_t *j = json_stringn(fixed, len);
    cr_assert_not_null(j, "repair left invalid UTF-8");
    json_decref(j);
    json_t *orig = json_stringn(s, n);
    if (orig) cr_assert_str_eq(fixed, s, "valid UTF-8 was changed");
    json_decref(orig);
    free(fixed);
  }
}

Test(spool, stray_temporaries_are_removed_only_when_nobody_writes) {
  spool("real", 4, "");
  /* A writer gone from this PID namespace (pid beyond pid_max), a live
   * writer's fresh one (ours), a live writer's old one, and an old one
   * still locked by its (live) writer. */
  plant(".tmp.4194305.0", "partial");
  char mine[64], old[64], locked[64], path[300];
  snprintf(mine, sizeof mine, ".tmp.%d.1", (int)getpid());
  snprintf(old, sizeof old, ".tmp.%d.2", (int)getpid());
  snprintf(locked, sizeof locked, ".tmp.%d.3", (int)getpid());
  plant(mine, "partial");
  plant(old, "partial");
  plant(locked, "partial");
  struct timespec past[2] = {{time(NULL) - 600, 0}, {time(NULL) - 600, 0}};
  snprintf(path, sizeof path, "%s/%s", dir, old);
  cr_assert_eq(utimensat(AT_FDCWD, path, past, 0), 0);
  snprintf(path, sizeof path, "%s/%s", dir, locked);
  cr_assert_eq(utimensat(AT_FDCWD, path, past, 0), 0);
  int held = open(path, O_RDONLY);
  cr_assert_eq(flock(held, LOCK_EX), 0); /* its writer, still writing */

  cr_expect_eq(list_all().n, 5, "temporaries are listed as partial");
  seen s = {.answer = GT_SPOOL_DELIVERED};
  cr_assert_eq(gt__spool_replay(dir, record, &s), 1);
  cr_assert_eq(s.collected, 4, "a temporary is never delivered");
  cr_expect(!exists(".tmp.4194305.0"), "a dead writer's temporary is removed");
  cr_expect(exists(mine), "a live writer's fresh temporary is kept");
  cr_expect(!exists(old), "an unlocked old temporary is removed");
  cr_expect(exists(locked), "a locked temporary is kept, however old");
  close(held);
  gt__spool_replay(dir, record, &s);
  cr_expect(!exists(locked), "removed once its lock is gone");
}

Test(spool, old_style_claims_are_recovered) {
  /* Spools written by earlier versions hold "<name>.claim.<pid>" files:
   * recovered once the pid is gone, skipped while it lives. */
  plant("0000000000001.4194305.0.sms.msg.claim.4194305",
        "{\"v\":1,\"backend\":\"sms\",\"text\":\"dead\","
        "\"batch\":{\"collected\":5}}");
  pid_t live = fork();
  cr_assert_geq(live, 0);
  if (live == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives a failed test */
    pause();
    _exit(0);
  }
  char name[128];
  snprintf(name, sizeof name, "0000000000002.1.0.sms.msg.claim.%d", (int)live);
  plant(name, "{\"v\":1,\"backend\":\"sms\",\"text\":\"live\","
              "\"batch\":{\"collected\":6}}");
  cr_assert_eq(gt__spool_count(dir), 2);
  seen s = {.answer = GT_SPOOL_DELIVERED};
  cr_assert_eq(gt__spool_replay(dir, record, &s), 1);
  cr_expect_str_eq(s.texts[0], "dead");
  cr_expect(exists(name), "a live claimer's file is left alone");
  kill(live, SIGKILL);
  waitpid(live, NULL, 0);
  cr_assert_eq(gt__spool_replay(dir, record, &s), 1);
  cr_expect_str_eq(s.texts[1], "live");
  cr_expect_eq(gt__spool_count(dir), 0);
}

Test(spool, a_rejected_old_style_claim_loses_its_claim_suffix) {
  plant("0000000000001.4194305.0.sms.msg.claim.4194305",
        "{\"v\":1,\"backend\":\"sms\",\"text\":\"t\",\"batch\":{}}");
  seen s = {.answer = GT_SPOOL_REJECTED};
  gt__spool_replay(dir, record, &s);
  cr_expect(exists("0000000000001.4194305.0.sms.msg.rejected"));
}

Test(spool, unwritable_directory_fails_naming_the_key) {
  cr_assert_eq(gt__spool_prepare("/proc/gt-cannot-exist"), GT_EIO);
  cr_assert(strstr(gt_last_error(), "gt.spool_dir"));
  cr_assert_eq(gt__spool_prepare("/dev/null/gt-spool"), GT_EIO);
  cr_assert(strstr(gt_last_error(), "gt.spool_dir"));
  cr_assert_eq(gt__spool_prepare(""), GT_EINVAL);
}

Test(spool, list_of_a_missing_directory_is_empty) {
  rows rs = {0};
  cr_assert_eq(
      gt__spool_list("/tmp/gt-spool-unit-never-made", collect_row, &rs), 0);
}
