/* The log backend: one line per message, written when it is sent (so a
 * failed write fails that message), escaped so that a name cannot forge a
 * line, and never blocking on a FIFO nobody reads. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support.h"

static char path[64];

static void up(void) {
  snprintf(path, sizeof path, "/tmp/gt-log-test-%d.log", (int)getpid());
  unlink(path);
}
static void down(void) {
  unlink(path);
}

TestSuite(log, .init = up, .fini = down, .timeout = 30);

/* Opens the log backend on `where` and sends text once. */
static int log_once(const char *where, const char *format, const char *text,
                    gt_send_result *res) {
  const char *kv[] = {"log.path", where, "log.format", format, NULL};
  gt_config cfg;
  void *st = NULL;
  int rc = test_open("log", kv, &st, &cfg);
  cr_assert_eq(rc, 0, "open: %s", gt_last_error());
  gt_batch b;
  test_batch(&b, 3);
  gt_message m = {.text = text, .batch = &b};
  memset(res, 0, sizeof *res);
  rc = test_backend(&cfg, "log")->send(st, &m, res);
  test_backend(&cfg, "log")->close(st);
  gt__config_free(&cfg);
  return rc;
}

static size_t count_char(const char *s, char c) {
  size_t n = 0;
  for (; *s; s++)
    n += *s == c;
  return n;
}

Test(log, a_name_cannot_forge_a_line_or_send_escapes) {
  gt_send_result res;
  const char *text = "3 objects collected: Node\n2030-01-01T00:00:00Z gt: "
                     "all clear\x1b[2J\r, Thing\t\x7f";
  cr_assert_eq(log_once(path, "text", text, &res), 0, "%s", res.detail);
  char *got = slurp(path);
  cr_assert_not_null(got);
  cr_expect_eq(count_char(got, '\n'), 1, "one line: %s", got);
  cr_expect_null(strchr(got, '\x1b'), "%s", got);
  cr_expect_null(strchr(got, '\r'), "%s", got);
  cr_expect(strstr(got, " gt: 3 objects collected: Node\\x0a2030-01-01T00:00:"
                        "00Z gt: all clear\\x1b[2J\\x0d, Thing\\x09\\x7f\n"),
            "%s", got);
  free(got);
}

Test(log, json_lines_carry_text_that_was_not_utf8) {
  gt_send_result res;
  cr_assert_eq(log_once(path, "json", "Caf\xe9 x3\nnext", &res), 0, "%s",
               res.detail);
  char *got = slurp(path);
  cr_assert_not_null(got);
  cr_expect_eq(count_char(got, '\n'), 1, "%s", got);
  json_t *j = json_loads(got, 0, NULL);
  cr_assert_not_null(j, "%s", got);
  cr_expect_str_eq(json_string_value(json_object_get(j, "text")),
                   "Caf\\xe9 x3\nnext");
  cr_expect_eq(json_integer_value(json_object_get(j, "collected")), 3);
  json_decref(j);
  free(got);
}

Test(log, a_failed_write_fails_that_message) {
  gt_send_result res;
  const char *formats[] = {"text", "json"};
  for (int i = 0; i < 2; i++) {
    cr_expect_eq(log_once("/dev/full", formats[i], "3 objects", &res), GT_ESEND,
                 "%s", formats[i]);
    cr_expect(strstr(res.detail, "log: write failed: No space left"), "%s",
              res.detail);
    cr_expect(strstr(gt_last_error(), "No space left"), "%s", gt_last_error());
  }
}

Test(log, a_fifo_without_reader_is_refused_not_waited_for) {
  char fifo[80];
  snprintf(fifo, sizeof fifo, "/tmp/gt-log-fifo-%d", (int)getpid());
  unlink(fifo);
  cr_assert_eq(mkfifo(fifo, 0600), 0);
  const char *kv[] = {"log.path", fifo, NULL};
  gt_config cfg;
  void *st = NULL;
  int64_t t0 = gt__now_ms();
  int rc = test_open("log", kv, &st, &cfg); /* would block in open(2) */
  int64_t took = gt__now_ms() - t0;
  unlink(fifo);
  gt__config_free(&cfg);
  if (rc == 0) test_backend(&cfg, "log")->close(st);
  cr_expect_eq(rc, GT_EINVAL);
  cr_expect(strncmp(gt_last_error(), "log.path", 8) == 0, "%s",
            gt_last_error());
  cr_expect_lt(took, 1000, "took %lld ms", (long long)took);
}

/* ---- the exit line ---------------------------------------------------------
 * A JSON log ends with gt_shutdown's totals and the objects still live,
 * grouped as batches are (src/exit.c); gt report reads it. */

/* a root (not static: a store never read would be dropped) */
void *test_log_kept[2];

static void *last_line(const char *file, size_t *lines) {
  char *all = slurp(file);
  cr_assert_not_null(all);
  *lines = count_char(all, '\n');
  char *end = all + strlen(all);
  cr_assert(end > all && end[-1] == '\n', "%s", all);
  end[-1] = '\0';
  char *last = strrchr(all, '\n');
  json_t *j = json_loads(last ? last + 1 : all, 0, NULL);
  cr_assert_not_null(j, "%s", all);
  free(all);
  return j;
}

static int kept_line[2];

static void run_and_exit(const char *format, const char *group_by) {
  gt_options *o = gt_options_new();
  const char *kv[] = {"gt.backend",  "log",        "log.path",
                      path,          "log.format", format,
                      "gt.group_by", group_by,     NULL};
  for (const char *const *p = kv; *p; p += 2)
    cr_assert_eq(gt_options_set(o, p[0], p[1]), 0);
  cr_assert_eq(gt_init(o), 0, "%s", gt_last_error());
  gt_options_free(o);
  kept_line[0] = __LINE__ + 1;
  test_log_kept[0] = GT_MALLOC(40, "Kept");
  kept_line[1] = __LINE__ + 1;
  test_log_kept[1] = GT_MALLOC(40, "Kept");
  test_make(3, "Gone");
  test_scrub_stack();
  size_t n = gt_collect();
  cr_assert_eq(n, 3, "collected %zu", n);
  cr_assert_eq(gt_shutdown(5000), 0);
}

Test(log, a_json_log_ends_with_totals_and_live_objects) {
  run_and_exit("json", "name");
  size_t lines;
  json_t *j = last_line(path, &lines);
  cr_expect_eq(lines, 2, "one batch, then the exit line");
  json_t *e = json_object_get(j, "exit");
  cr_assert(json_is_object(e));
  cr_expect(json_is_true(json_object_get(e, "live_counted")));
  cr_expect_eq(json_integer_value(json_object_get(e, "collected")), 3);
  cr_expect_eq(json_integer_value(json_object_get(e, "live")), 2);
  cr_expect_geq(json_integer_value(json_object_get(e, "live_bytes")), 80);
  json_t *live = json_object_get(j, "live");
  cr_assert_eq(json_array_size(live), 1, "one group: %s",
               json_dumps(j, JSON_COMPACT));
  json_t *g = json_array_get(live, 0);
  cr_expect_str_eq(json_string_value(json_object_get(g, "name")), "Kept");
  cr_expect_eq(json_integer_value(json_object_get(g, "count")), 2);
  cr_expect_null(json_object_get(g, "site"), "two sites: none shown");
  json_decref(j);
}

Test(log, the_exit_lines_live_objects_are_grouped_by_site) {
  run_and_exit("json", "site");
  size_t lines;
  json_t *j = last_line(path, &lines);
  json_t *live = json_object_get(j, "live");
  cr_assert_eq(json_array_size(live), 2, "%s", json_dumps(j, JSON_COMPACT));
  bool seen[2] = {false, false};
  for (size_t i = 0; i < 2; i++) {
    json_t *g = json_array_get(live, i);
    const char *got = json_string_value(json_object_get(g, "site"));
    for (int k = 0; k < 2; k++) {
      char want[64];
      snprintf(want, sizeof want, "test_log.c:%d", kept_line[k]);
      seen[k] |= got && !strcmp(got, want);
    }
    cr_expect_eq(json_integer_value(json_object_get(g, "count")), 1);
    cr_expect_eq(json_integer_value(json_object_get(g, "bytes")), 40);
  }
  cr_expect(seen[0] && seen[1], "%s", json_dumps(j, JSON_COMPACT));
  json_decref(j);
}

Test(log, a_text_log_has_no_exit_line) {
  run_and_exit("text", "name");
  char *all = slurp(path);
  cr_assert_not_null(all);
  cr_expect_eq(count_char(all, '\n'), 1, "the batch's line only: %s", all);
  cr_expect_null(strstr(all, "exit"), "%s", all);
  free(all);
}
