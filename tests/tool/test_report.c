/* gt report, run as a separate process on logs written here: the exact
 * table of a known log, --top, --by, several files, bad input (truncated,
 * garbage, empty, missing, hostile) reported by line and never fatal, and
 * the logs of the demo and of w3m under gt run. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <gc.h>
#include <gt/gt.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef GT_TOOL_PATH
#error "GT_TOOL_PATH must name the built gt tool"
#endif

static char dir[64];

static void up(void) {
  snprintf(dir, sizeof dir, "/tmp/gt-report-test-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
}
static void down(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  cr_expect_eq(system(cmd), 0);
}

TestSuite(report, .init = up, .fini = down, .timeout = 120);

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  char *buf = NULL;
  size_t n = 0;
  FILE *m = open_memstream(&buf, &n);
  for (int c; (c = fgetc(f)) != EOF;)
    fputc(c, m);
  fclose(m);
  fclose(f);
  return buf;
}

/* dir/name with content (n bytes: NULs allowed); returns the path. */
static const char *put(const char *name, const char *content, size_t n) {
  static char paths[8][160];
  static int next;
  char *p = paths[next++ % 8];
  snprintf(p, 160, "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(content, 1, n, f), n);
  fclose(f);
  return p;
}
#define PUT(name, s) put(name, s, strlen(s))

typedef struct result {
  int status;
  char *out, *err;
} result;

/* Runs argv (argv[0] the program) with env, stdout and stderr apart. */
static const char *stdin_path = "/dev/null"; /* the next run's stdin */

static result run_env(const char *const *argv, const char *const *env) {
  char out[200], err[200];
  snprintf(out, sizeof out, "%s/stdout", dir);
  snprintf(err, sizeof err, "%s/stderr", dir);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, stdin_path, O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  pid_t pid;
  cr_assert_eq(posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv,
                           (char *const *)env),
               0);
  posix_spawn_file_actions_destroy(&fa);
  int st = 0;
  for (int waited = 0; waitpid(pid, &st, WNOHANG) != pid; waited += 20) {
    if (waited > 90000) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      cr_assert_fail("%s did not finish within 90 s", argv[0]);
    }
    nanosleep(&(struct timespec){0, 20000000}, NULL);
  }
  result r = {WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(out), slurp(err)};
  cr_assert(WIFEXITED(st), "%s died: %s", argv[0], r.err);
  cr_assert(r.out && r.err);
  return r;
}

static const char *const plain_env[] = {"PATH=/usr/bin:/bin", NULL};

/* gt report with args (NULL-terminated). */
static result report(const char *a0, ...) {
  const char *argv[32] = {GT_TOOL_PATH, "report"};
  size_t n = 2;
  va_list ap;
  va_start(ap, a0);
  for (const char *a = a0; a && n < 31; a = va_arg(ap, const char *))
    argv[n++] = a;
  va_end(ap);
  argv[n] = NULL;
  return run_env(argv, plain_env);
}

static void drop(result *r) {
  free(r->out);
  free(r->err);
}

/* Two batches grouped by site, with ages (gt.track_age), the second
 * merged from two by the rate limiter, then the exit line. */
#define BATCH1                                                                 \
  "{\"batch\":1,\"collected\":6,\"estimated\":false,\"freed\":1,"              \
  "\"sampled\":6,\"bytes\":600,\"merged\":0,\"overflowed\":0,"                 \
  "\"first_ms\":1796000000000,\"last_ms\":1796000000500,\"groups\":["          \
  "{\"name\":\"Node\",\"site\":\"list.c:42\",\"count\":4,\"freed\":0,"         \
  "\"bytes\":400,\"age_ms\":{\"min\":10,\"median\":20,\"max\":30},"            \
  "\"age_gcs\":{\"min\":0,\"median\":1,\"max\":2}},"                           \
  "{\"name\":\"Thing\",\"site\":\"thing.c:7\",\"count\":2,\"freed\":1,"        \
  "\"bytes\":200,\"age_ms\":{\"min\":5,\"median\":5,\"max\":5},"               \
  "\"age_gcs\":{\"min\":0,\"median\":0,\"max\":0}}],"                          \
  "\"samples\":[],\"samples_omitted\":0,\"text\":\"6 objects\"}\n"
#define BATCH2                                                                 \
  "{\"batch\":2,\"collected\":3,\"estimated\":false,\"freed\":0,"              \
  "\"sampled\":3,\"bytes\":3000,\"merged\":1,\"overflowed\":0,"                \
  "\"first_ms\":1796000001000,\"last_ms\":1796000002000,\"groups\":["          \
  "{\"name\":\"Node\",\"site\":\"list.c:42\",\"count\":1,\"freed\":0,"         \
  "\"bytes\":100,\"age_ms\":{\"min\":100,\"median\":100,\"max\":100},"         \
  "\"age_gcs\":{\"min\":3,\"median\":3,\"max\":3}},"                           \
  "{\"name\":\"Node\",\"site\":\"tree.c:9\",\"count\":2,\"freed\":0,"          \
  "\"bytes\":2900,\"age_ms\":{\"min\":1,\"median\":2,\"max\":3},"              \
  "\"age_gcs\":{\"min\":0,\"median\":0,\"max\":0}}],"                          \
  "\"samples\":[],\"samples_omitted\":0}\n"
#define EXIT_LINE                                                              \
  "{\"exit\":{\"ms\":1796000003000,\"live_counted\":true,\"collected\":9,"     \
  "\"live\":5,\"live_bytes\":500},\"live\":["                                  \
  "{\"name\":\"Node\",\"site\":\"tree.c:9\",\"count\":3,\"bytes\":300},"       \
  "{\"name\":\"Leak\",\"site\":\"leak.c:1\",\"count\":2,\"bytes\":200}],"      \
  "\"live_omitted\":{\"count\":0,\"bytes\":0}}\n"

#define HEADER                                                                 \
  "gt report: 9 objects reclaimed (3.6 KB), 1 freed, 5 live at exit (500 B); " \
  "3 batches in 1 file, 2026-11-30 00:53:20 to 00:53:23 UTC (3.0 s)\n"

Test(report, prints_the_exact_table_of_a_known_log) {
  result r = report(PUT("a.jsonl", BATCH1 BATCH2 EXIT_LINE), NULL);
  cr_expect_eq(r.status, 0);
  cr_expect_str_eq(r.err, "");
  /* Node at list.c: ages 20 (4 objects) and 100 (1): median 20. */
  cr_expect_str_eq(
      r.out, HEADER
      "objects  share   bytes  share  freed  live at exit  age ms: min  ~med"
      "  max  GCs: min  ~med  max  site\n"
      "      5  55.6%   500 B  13.9%      0             0           10   ~20"
      "  100         0    ~1    3  Node (list.c:42)\n"
      "      2  22.2%  2.9 KB  80.6%      0             3            1    ~2"
      "    3         0    ~0    0  Node (tree.c:9)\n"
      "      2  22.2%   200 B   5.6%      1             0            5    ~5"
      "    5         0    ~0    0  Thing (thing.c:7)\n"
      "      0   0.0%     0 B   0.0%      0             2                  "
      "                             Leak (leak.c:1)\n"
      "\n"
      "live at exit, most first:\n"
      "objects  share   bytes  share  freed  live at exit  age ms: min  ~med"
      "  max  GCs: min  ~med  max  site\n"
      "      2  22.2%  2.9 KB  80.6%      0             3            1    ~2"
      "    3         0    ~0    0  Node (tree.c:9)\n"
      "      0   0.0%     0 B   0.0%      0             2                  "
      "                             Leak (leak.c:1)\n");
  drop(&r);
}

/* Leak mode (gt.report = all with gt_expect_release): groups say how many
 * of their objects were reclaimed still marked; the column and the
 * header's count appear only then. */
#define LEAK_BATCH                                                             \
  "{\"batch\":1,\"collected\":7,\"estimated\":false,\"freed\":0,"              \
  "\"sampled\":7,\"bytes\":700,\"merged\":0,\"overflowed\":0,"                 \
  "\"unreleased\":3,\"first_ms\":1796000000000,\"last_ms\":1796000000000,"     \
  "\"groups\":[{\"name\":\"Conn\",\"site\":\"conn.c:42\",\"count\":5,"         \
  "\"freed\":0,\"bytes\":500,\"unreleased\":3},{\"name\":\"Buf\","             \
  "\"site\":\"buf.c:7\",\"count\":2,\"freed\":0,\"bytes\":200,"                \
  "\"unreleased\":0}],\"samples\":[],\"samples_omitted\":0}\n"

Test(report, unreleased_objects_get_their_column) {
  result r = report(PUT("leak.jsonl", LEAK_BATCH), NULL);
  cr_expect_eq(r.status, 0);
  cr_expect_str_eq(r.err, "");
  cr_expect_str_eq(
      r.out,
      "gt report: 7 objects reclaimed (700 B), 0 freed, 3 reclaimed without "
      "release; 1 batch in 1 file, 2026-11-30 00:53:20 to 00:53:20 UTC "
      "(0 ms)\n"
      "objects  share  bytes  share  unreleased  site\n"
      "      5  71.4%  500 B  71.4%           3  Conn (conn.c:42)\n"
      "      2  28.6%  200 B  28.6%           0  Buf (buf.c:7)\n");
  drop(&r);
}

Test(report, top_keeps_n_rows_and_sums_the_rest) {
  result r = report("--top", "1", PUT("a.jsonl", BATCH1 BATCH2), NULL);
  cr_expect_eq(r.status, 0);
  cr_expect_str_eq(
      r.out,
      "gt report: 9 objects reclaimed (3.6 KB), 1 freed; 3 batches in 1 file, "
      "2026-11-30 00:53:20 to 00:53:22 UTC (2.0 s)\n"
      "objects  share   bytes  share  freed  age ms: min  ~med  max  GCs: min"
      "  ~med  max  site\n"
      "      5  55.6%   500 B  13.9%      0           10   ~20  100         0"
      "    ~1    3  Node (list.c:42)\n"
      "      4  44.4%  3.1 KB  86.1%      1                                  "
      "             (2 more sites)\n");
  drop(&r);
  r = report("--top=0", PUT("a.jsonl", BATCH1 BATCH2), NULL);
  cr_expect_null(strstr(r.out, "more sites"), "0 is every row: %s", r.out);
  cr_expect(strstr(r.out, "Thing (thing.c:7)"), "%s", r.out);
  drop(&r);
}

Test(report, by_name_merges_a_names_sites) {
  result r =
      report("--by", "name", PUT("a.jsonl", BATCH1 BATCH2 EXIT_LINE), NULL);
  cr_expect_eq(r.status, 0);
  /* Node: list.c (20 x4, 100 x1) and tree.c (2 x2): weighted median 20. */
  cr_expect(strstr(r.out, "\n      7  77.8%  3.4 KB  94.4%      0            "
                          " 3            1   ~20  100         0    ~1    3  "
                          "Node\n"),
            "%s", r.out);
  cr_expect(strstr(r.out, "  Thing\n"), "%s", r.out);
  cr_expect(strstr(r.out, "  Leak\n"), "%s", r.out);
  cr_expect_null(strstr(r.out, ".c:"), "no sites by name: %s", r.out);
  drop(&r);
}

Test(report, several_files_add_up) {
  const char *a = PUT("a.jsonl", BATCH1 EXIT_LINE);
  const char *b = PUT("b.jsonl", BATCH2 EXIT_LINE);
  result r = report(a, b, NULL);
  cr_expect_eq(r.status, 0);
  cr_expect_str_eq(r.err, "");
  const char *head =
      "gt report: 9 objects reclaimed (3.6 KB), 1 freed, 10 live at exit "
      "(1.0 KB); 3 batches in 2 files, 2026-11-30 00:53:20 to 00:53:23 UTC "
      "(3.0 s)\n";
  cr_expect(!strncmp(r.out, head, strlen(head)), "%s", r.out);
  cr_expect(strstr(r.out, "      0             6            1    ~2    3"
                          "         0    ~0    0  Node (tree.c:9)\n"),
            "%s", r.out);
  drop(&r);
}

Test(report, by_stack_on_a_log_says_its_rows_are_by_site) {
  const char *a = PUT("a.jsonl", BATCH1 BATCH2 EXIT_LINE);
  result r = report("--by", "stack", a, NULL);
  cr_expect_eq(r.status, 0);
  char want[300];
  snprintf(want, sizeof want,
           "gt report: %s: a JSON log names a site by its innermost frame "
           "only: its rows are by site (whole stacks are in profiles)\n",
           a);
  cr_expect_str_eq(r.err, want);
  cr_expect(strstr(r.out, "  Node (tree.c:9)\n"), "%s", r.out);
  drop(&r);
}

Test(report, a_dash_reads_standard_input) {
  stdin_path = PUT("in.jsonl", BATCH1 "oops\n");
  result r = report("-", NULL);
  stdin_path = "/dev/null";
  cr_expect_eq(r.status, 0);
  cr_expect_str_eq(r.err, "gt report: (stdin):2: not JSON ('[' or '{' "
                          "expected near 'oops', column 4); skipped\n");
  cr_expect(strstr(r.out, "6 objects reclaimed"), "%s", r.out);
  drop(&r);
}

Test(report, a_truncated_last_line_is_warned_and_skipped) {
  char log[4096];
  snprintf(log, sizeof log, "%s%.*s", BATCH1, 120, BATCH2);
  result r = report(PUT("cut.jsonl", log), NULL);
  cr_expect_eq(r.status, 0, "what could be read is reported");
  char want[512];
  snprintf(want, sizeof want,
           "gt report: %s/cut.jsonl:2: truncated (no newline at its end): "
           "not JSON ('}' expected near end of file, column 120); skipped\n",
           dir);
  cr_expect_str_eq(r.err, want);
  const char *head = "gt report: 6 objects reclaimed (600 B), 1 freed; 1 "
                     "batch in 1 file, 2026-11-30 00:53:20 to 00:53:20 UTC "
                     "(500 ms); 1 bad line skipped\n";
  cr_expect(!strncmp(r.out, head, strlen(head)), "%s", r.out);
  cr_expect(strstr(r.out, "  Thing (thing.c:7)\n"), "%s", r.out);
  drop(&r);
}

/* Each bad line: its number and what is wrong with it, in order. */
static const char garbage[] =
    BATCH1 "2026-11-30T14:09:29Z gt: The object with name Thing One is "
           "being removed from memory!\n"
           "\n"
           "[1,2]\n"
           "{\"batch\":\"x\"}\n"
           "{\"batch\":3,\"collected\":-1,\"bytes\":0,\"freed\":0,"
           "\"groups\":[]}\n"
           "{\"batch\":3,\"collected\":1,\"bytes\":0,\"freed\":0,\"groups\":"
           "[{\"name\":5,\"count\":1,\"bytes\":1,\"freed\":0}]}\n"
           "{\"batch\":3,\"collected\":1,\"bytes\":0,\"freed\":0,\"groups\":"
           "[{\"name\":\"x\",\"count\":1,\"bytes\":1,\"freed\":0,"
           "\"age_ms\":{\"min\":1}}]}\n"
           "{\"batch\":3,\"collected\":1,\"bytes\":0,\"freed\":0}\n"
           "\x01\xff\xfe garbage \x1b[2J\n"
           "{\"batch\":3,\"x\":\"\0\"}\n"
           "{\"exit\":{\"live\":\"many\"}}\n" BATCH2;

Test(report, garbage_lines_are_warned_by_number_and_skipped) {
  result r = report(put("g.jsonl", garbage, sizeof garbage - 1), NULL);
  cr_expect_eq(r.status, 0);
  const char *want[] = {
      ":2: not JSON ('[' or '{' expected near '2026', column 4); skipped",
      ":4: not a JSON object; skipped",
      ":5: not a gt batch (no \"batch\" number); skipped",
      ":6: \"collected\" is not a non-negative integer; skipped",
      ":7: groups[0] has a name that is not a string; skipped",
      ":8: groups[0] has ages without min, median and max; skipped",
      ":9: \"groups\" is not an array; skipped",
      ":10: not JSON (",
      ":11: binary data (a NUL byte at column 17); skipped",
      ":12: \"exit\" is not an object of non-negative counts; skipped",
  };
  const char *at = r.err;
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
    const char *hit = strstr(at, want[i]);
    cr_expect(hit, "no '%s' (in order) in:\n%s", want[i], r.err);
    if (hit) at = hit;
  }
  cr_expect_null(strchr(r.err, '\x1b'), "the garbage is not echoed");
  /* The good lines, and only they, are counted. */
  cr_expect(strstr(r.out, "gt report: 9 objects reclaimed (3.6 KB), 1 freed;"
                          " 3 batches in 1 file"),
            "%s", r.out);
  cr_expect(strstr(r.out, "; 10 bad lines skipped\n"), "%s", r.out);
  drop(&r);
}

Test(report, warnings_stop_at_ten_per_file_and_count_the_rest) {
  char *log = NULL;
  size_t n = 0;
  FILE *m = open_memstream(&log, &n);
  for (int i = 0; i < 1000; i++)
    fprintf(m, "not json %d\n", i);
  fputs(BATCH1, m);
  fclose(m);
  result r = report(put("many.jsonl", log, n), NULL);
  free(log);
  cr_expect_eq(r.status, 0);
  size_t lines = 0;
  for (const char *p = r.err; (p = strchr(p, '\n')); p++)
    lines++;
  cr_expect_eq(lines, 11, "%s", r.err);
  cr_expect(strstr(r.err, "many.jsonl:10: not JSON"), "%s", r.err);
  cr_expect(strstr(r.err, "many.jsonl: 990 more bad lines skipped\n"), "%s",
            r.err);
  cr_expect(strstr(r.out, "6 objects reclaimed"), "%s", r.out);
  drop(&r);
}

Test(report, an_empty_file_is_no_error) {
  result r = report(PUT("empty.jsonl", ""), NULL);
  cr_expect_eq(r.status, 0);
  cr_expect_str_eq(r.err, "");
  cr_expect_str_eq(
      r.out, "gt report: 0 objects reclaimed (0 B), 0 freed; no batches in 1 "
             "file\n");
  drop(&r);
}

Test(report, a_missing_file_is_an_error_the_others_are_read) {
  char missing[200];
  snprintf(missing, sizeof missing, "%s/none.jsonl", dir);
  result r = report(missing, PUT("a.jsonl", BATCH1), NULL);
  cr_expect_eq(r.status, 1);
  char want[300];
  snprintf(want, sizeof want, "gt report: %s: No such file or directory\n",
           missing);
  cr_expect_str_eq(r.err, want);
  cr_expect(strstr(r.out, "6 objects reclaimed"), "%s", r.out);
  drop(&r);
}

Test(report, bad_usage_exits_2) {
  const char *a = PUT("a.jsonl", BATCH1);
  const char *cases[][3] = {
      {"--top", "x", a},         {"--top", "-1", a}, {"--by", "file", a},
      {"--frobnicate", a, NULL}, {NULL, NULL, NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    result r = report(cases[i][0], cases[i][1], cases[i][2], NULL);
    cr_expect_eq(r.status, 2, "case %zu: %s", i, r.err);
    cr_expect(strstr(r.err, "usage: gt report"), "case %zu: %s", i, r.err);
    cr_expect_str_eq(r.out, "", "case %zu", i);
    drop(&r);
  }
  result r = report("--help", NULL);
  cr_expect_eq(r.status, 0);
  cr_expect(strstr(r.out, "gt report [--top N]"), "%s", r.out);
  drop(&r);
}

/* Names are the program's: whatever they hold, one printable line each;
 * counts past 64 bits saturate instead of wrapping. */
Test(report, hostile_names_and_counts_are_contained) {
  const char *line =
      "{\"batch\":1,\"collected\":9223372036854775807,\"bytes\":"
      "9223372036854775807,\"freed\":0,\"groups\":[{\"name\":\"a\\nb"
      "\\u001b[2Jc\",\"site\":\"\\u202ex.c:1\",\"count\":"
      "9223372036854775807,\"bytes\":9223372036854775807,\"freed\":0}]}\n";
  char log[8192];
  snprintf(log, sizeof log, "%s%s%s", line, line, line);
  result r = report(PUT("h.jsonl", log), NULL);
  cr_expect_eq(r.status, 0);
  cr_expect_str_eq(r.err, "");
  cr_expect(strstr(r.out, "18,446,744,073,709,551,615 objects reclaimed"), "%s",
            r.out);
  cr_expect(strstr(r.out, "  a\\x0ab\\x1b[2Jc (\\xe2\\x80\\xaex.c:1)\n"), "%s",
            r.out);
  cr_expect_null(strchr(r.out, '\x1b'), "%s", r.out);
  drop(&r);
}

/* ---- real logs: the demo's and w3m's under gt run ------------------------ */

/* The demo with a JSON log and a profile in dir. */
static void run_demo(char *log, char *profile) {
  char env_log[300], env_prof[300];
  sprintf(log, "%s/demo.jsonl", dir);
  sprintf(profile, "%s/demo.pb.gz", dir);
  snprintf(env_log, sizeof env_log, "GT_LOG_PATH=%s", log);
  snprintf(env_prof, sizeof env_prof, "GT_PROFILE=%s", profile);
  const char *env[] = {"PATH=/usr/bin:/bin",
                       "GT_BACKEND=log",
                       "GT_LOG_FORMAT=json",
                       env_log,
                       env_prof,
                       NULL};
  const char *demo[] = {GT_DEMO_PATH, NULL};
  result d = run_env(demo, env);
  cr_assert_eq(d.status, 0, "%s", d.err);
  drop(&d);
}

static __attribute__((noinline)) void make_leaks(int n, const char *name,
                                                 bool release) {
  for (int i = 0; i < n; i++) {
    void *p = GT_MALLOC(24, name);
    cr_assert_eq(gt_expect_release(p), 0, "%s", gt_last_error());
    if (release) cr_assert_eq(gt_release(p), 0, "%s", gt_last_error());
  }
}

/* gt in this process: the log backend, this test's spool, kv on top. */
static void start_gt(const char *const *kv) {
  GC_INIT();
  gt_options *o = gt_options_new();
  cr_assert_eq(gt_options_set(o, "gt.backend", "log"), 0);
  cr_assert_eq(gt_options_set(o, "gt.spool_dir", dir), 0);
  for (; *kv; kv += 2)
    cr_assert_eq(gt_options_set(o, kv[0], kv[1]), 0, "%s", gt_last_error());
  cr_assert_eq(gt_init(o), 0, "%s", gt_last_error());
  gt_options_free(o);
}

/* A death profile of leak mode (this process's own) keeps the unreleased
 * objects apart: the column, and the header's count. */
Test(report, a_leak_profile_has_the_unreleased_column) {
  char profile[200];
  sprintf(profile, "%s/leak.pb.gz", dir);
  const char *kv[] = {"log.path", "/dev/null", "gt.profile", profile, NULL};
  start_gt(kv);
  make_leaks(30, "Leaked", false);
  make_leaks(20, "Released", true);
  gt_collect();
  cr_assert_eq(gt_shutdown(5000), 0, "%s", gt_last_error());
  result r = report("--by", "name", profile, NULL);
  cr_expect_eq(r.status, 0);
  cr_expect(strstr(r.out, "gt report: 50 objects reclaimed (1.2 KB), 0 freed, "
                          "30 reclaimed without release"),
            "%s", r.out);
  const char *table = strchr(r.out, '\n');
  cr_expect_str_eq(
      table ? table + 1 : "",
      "objects  share  bytes  share  unreleased  live at exit  name\n"
      "     30  60.0%  720 B  60.0%          30             0  Leaked\n"
      "     20  40.0%  480 B  40.0%           0             0  Released\n");
  drop(&r);
}

static void *kept_objects[50]; /* a root */

static __attribute__((noinline)) void make_sampled(void) {
  for (int i = 0; i < 1000; i++) {
    void *p = GT_MALLOC(24, "Dropped");
    __asm__ volatile("" : : "r"(p) : "memory");
  }
  for (int i = 0; i < 50; i++)
    kept_objects[i] = GT_MALLOC(24, "Kept");
}

/* gt.alloc_sample_every = 10: the log's batches and live groups and the
 * profile's values count the tracked objects x 10; gt report shows the
 * same estimates from both, totals included, and says they are. */
Test(report, sampled_logs_and_profiles_give_the_same_estimates) {
  char log[200], profile[200];
  sprintf(log, "%s/sampled.jsonl", dir);
  sprintf(profile, "%s/sampled.pb.gz", dir);
  const char *kv[] = {"log.format",
                      "json",
                      "log.path",
                      log,
                      "gt.profile",
                      profile,
                      "gt.alloc_sample_every",
                      "10",
                      NULL};
  start_gt(kv);
  make_sampled();
  gt_collect();
  cr_assert_eq(gt_shutdown(5000), 0, "%s", gt_last_error());
  cr_assert_not_null(kept_objects[49]);
  const char *totals = "gt report: 1,000 objects reclaimed (24.0 KB), 0 freed, "
                       "50 live at exit (1.2 KB); ";
  result a = report("--by", "name", log, NULL);
  result b = report("--by", "name", profile, NULL);
  cr_expect_eq(a.status, 0);
  cr_expect_eq(b.status, 0);
  cr_expect(strncmp(a.out, totals, strlen(totals)) == 0, "%s", a.out);
  cr_expect(strncmp(b.out, totals, strlen(totals)) == 0, "%s", b.out);
  const char *est = "; estimates (gt.alloc_sample_every)\n";
  cr_expect(strstr(a.out, est), "%s", a.out);
  cr_expect(strstr(b.out, est), "%s", b.out);
  cr_expect_str_eq(strchr(b.out, '\n'), strchr(a.out, '\n'));
  drop(&a);
  drop(&b);
}

/* The same counts from the log and from the profile: the same tables. */
Test(report, a_profile_gives_the_logs_table) {
  char log[200], profile[200];
  run_demo(log, profile);
  result a = report("--by", "name", log, NULL);
  result b = report("--by", "name", profile, NULL);
  cr_expect_eq(b.status, 0);
  cr_expect_str_eq(b.err, "");
  cr_expect(strstr(b.out, "gt report: 10,004 objects reclaimed (240.2 KB), 0 "
                          "freed, 0 live at exit (0 B); 1 profile in 1 file"),
            "%s", b.out);
  cr_expect_str_eq(strchr(b.out, '\n'), strchr(a.out, '\n'));
  drop(&a);
  drop(&b);
  b = report(profile, NULL);
  cr_expect(strstr(b.out, "  Thing (garbage_texts.c:"), "%s", b.out);
  drop(&b);
}

Test(report, a_profile_that_cannot_be_decoded_is_an_error) {
  const char *p = put("bad.pb.gz", "\x1f\x8b\x08\x00junk", 8);
  result r = report(p, PUT("a.jsonl", BATCH1), NULL);
  cr_expect_eq(r.status, 1);
  cr_expect(!strncmp(r.err, "gt report: ", 11) && strstr(r.err, p), "%s",
            r.err);
  cr_expect(strstr(r.out, "6 objects reclaimed"), "%s", r.out);
  drop(&r);
}

Test(report, reads_the_demos_log) {
  char log[200], env_path[300];
  snprintf(log, sizeof log, "%s/demo.jsonl", dir);
  snprintf(env_path, sizeof env_path, "GT_LOG_PATH=%s", log);
  const char *env[] = {"PATH=/usr/bin:/bin", "GT_BACKEND=log",
                       "GT_LOG_FORMAT=json", env_path, NULL};
  const char *demo[] = {GT_DEMO_PATH, NULL};
  result d = run_env(demo, env);
  cr_assert_eq(d.status, 0, "%s", d.err);
  drop(&d);
  result r = report(log, NULL);
  cr_expect_eq(r.status, 0);
  cr_expect_str_eq(r.err, "");
  cr_expect(strstr(r.out, "gt report: 10,004 objects reclaimed (240.2 KB), 0 "
                          "freed, 0 live at exit (0 B); 4 batches in 1 file"),
            "%s", r.out);
  cr_expect(strstr(r.out, "\n 10,000  100.0%  240.0 KB  99.9%             0"
                          "  Thing (garbage_texts.c:"),
            "%s", r.out);
  cr_expect(strstr(r.out, "  Thing One (garbage_texts.c:"), "%s", r.out);
  cr_expect(strstr(r.out, "  Legacy buffer\n"), "%s", r.out);
  drop(&r);
}

Test(report, reads_w3ms_log_under_gt_run) {
  char page[200], log[200], logopt[300], prof[200], profopt[300];
  snprintf(page, sizeof page, "%s/page.html", dir);
  snprintf(log, sizeof log, "%s/w3m.jsonl", dir);
  snprintf(logopt, sizeof logopt, "log.path=%s", log);
  snprintf(prof, sizeof prof, "%s/w3m.pb.gz", dir);
  snprintf(profopt, sizeof profopt, "gt.profile=%s", prof);
  FILE *f = fopen(page, "w");
  cr_assert_not_null(f);
  fputs("<html><body>", f);
  for (int i = 0; i < 3000; i++)
    fprintf(f, "<p>Section %d <b>alpha</b> <a href=#s%d>beta</a></p>\n", i, i);
  fputs("</body></html>\n", f);
  fclose(f);
#ifdef GT_TEST_SANITIZED
  cr_skip_test("gt run would preload an ASan-built library into w3m");
#endif
  if (access("/usr/bin/w3m", X_OK) != 0) cr_skip_test("w3m is not installed");
  const char *argv[] = {GT_TOOL_PATH,
                        "run",
                        "-q",
                        "-o",
                        logopt,
                        "-o",
                        profopt,
                        "-o",
                        "gt.track_age=true",
                        "--",
                        "/usr/bin/w3m",
                        "-dump",
                        page,
                        NULL};
  result w = run_env(argv, plain_env);
  cr_assert_eq(w.status, 0, "%s", w.err);
  drop(&w);
  result r = report("--top", "5", log, NULL);
  cr_expect_eq(r.status, 0);
  cr_expect_str_eq(r.err, "", "a log gt wrote has no bad line");
  cr_expect(strstr(r.out, " live at exit ("), "%s", r.out);
  cr_expect(strstr(r.out, "age ms: min"), "%s", r.out);
  cr_expect(strstr(r.out, "  w3m!"), "sites in w3m: %s", r.out);
  cr_expect(strstr(r.out, "more sites)\n"), "%s", r.out);
  cr_expect(strstr(r.out, "\nlive at exit, most first:\n"), "%s", r.out);
  drop(&r);
  /* the profile of the same run: whole stacks */
  r = report("--by", "stack", "--top", "3", prof, NULL);
  cr_expect_eq(r.status, 0);
  cr_expect_str_eq(r.err, "");
  cr_expect(strstr(r.out, "; 1 profile in 1 file"), "%s", r.out);
  cr_expect(strstr(r.out, "  stack\n"), "%s", r.out);
  cr_expect(strstr(r.out, "  w3m!fn@") && strstr(r.out, " < w3m!fn@"), "%s",
            r.out);
  drop(&r);
}
