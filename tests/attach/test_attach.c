/* `gt run` on programs nobody rewrote: w3m, mmv, chase and debfoster from
 * Debian, and two bdwgc programs of our own that link libgc only
 * (threaded.c, counts.c). Each program runs plainly and under gt run in
 * fresh directories; its stdout, its own stderr, its exit status and the
 * files it leaves must be the same byte for byte. Then the summary gt run
 * printed is read back (numbers without their commas): what was reclaimed,
 * what is accounted for, and that the sites are in the program, not in
 * libgc or libgt; and the JSON log must agree with it.
 *
 * Every test gets its own mkdtemp directory (HOME and TMPDIR point into
 * it, so gt run's temporary directory is checked to be gone afterwards)
 * and removes it at the end. Commands are killed after a timeout. No
 * network.
 *
 * In a sanitizer build libgt-attach.so is instrumented and ASan refuses to
 * start unless its runtime is loaded first; the commands gt run starts
 * then get the runtime (GT_ASAN_RUNTIME, from CMake) preloaded and
 * ASAN_OPTIONS=verify_asan_link_order=0. Without a runtime to preload the
 * tests that attach are skipped, saying why. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef GT_ASAN_RUNTIME
#define GT_ASAN_RUNTIME ""
#endif

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NO_ARGS ((const char *const[]){NULL})
#define TIMEOUT_S 90

extern char **environ;

/* ---- the test's directory ------------------------------------------------ */

static char dir[1024];    /* this test's own */
static char tmpdir[1100]; /* $TMPDIR of every command */

/* Buffers a test holds: freed by the teardown when an assertion ended the
 * test before it freed them (LeakSanitizer would blame the test). */
static void *owned[64];

static void *own(void *p) {
  for (int i = 0; i < 64; i++)
    if (!owned[i]) return owned[i] = p;
  return p; /* too many: an ordinary leak */
}

static void release(void *p) {
  for (int i = 0; i < 64; i++)
    if (owned[i] == p) owned[i] = NULL;
  free(p);
}

static void setup(void) {
  const char *t = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/gt-attach-test.XXXXXX", t && *t ? t : "/tmp");
  cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
  snprintf(tmpdir, sizeof tmpdir, "%s/tmp", dir);
  cr_assert_eq(mkdir(tmpdir, 0700), 0);
}

static int remove_one(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw) {
  (void)st, (void)ftw;
  return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static int make_writable(const char *path, const struct stat *st, int flag,
                         struct FTW *ftw) {
  (void)ftw;
  if (flag == FTW_D || flag == FTW_DNR) chmod(path, st->st_mode | 0700);
  return 0;
}

static void teardown(void) {
  for (int i = 0; i < 64; i++)
    free(owned[i]), owned[i] = NULL;
  if (!dir[0]) return;
  nftw(dir, make_writable, 16, FTW_PHYS);
  nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(attach, .init = setup, .fini = teardown, .timeout = 240);

/* dir/name (a fresh buffer each call, up to 16 live at once). */
static const char *path(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static const char *path(const char *fmt, ...) {
  static char bufs[16][PATH_MAX];
  static int next;
  char *b = bufs[next++ % 16], name[PATH_MAX / 2];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(name, sizeof name, fmt, ap);
  va_end(ap);
  snprintf(b, PATH_MAX, "%s/%s", dir, name);
  return b;
}

static void make_dir(const char *p) {
  cr_assert(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", p,
            strerror(errno));
}

static void write_file(const char *p, const char *text, mode_t mode) {
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
  cr_assert_geq(fd, 0, "open %s: %s", p, strerror(errno));
  size_t n = strlen(text);
  cr_assert_eq(write(fd, text, n), (ssize_t)n);
  close(fd);
}

static bool exists(const char *p) {
  return access(p, F_OK) == 0;
}

/* Is prog on $PATH? */
static bool have(const char *prog) {
  const char *p = getenv("PATH");
  char buf[PATH_MAX];
  for (const char *s = p ? p : "/usr/bin:/bin"; *s;) {
    const char *e = strchr(s, ':');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    snprintf(buf, sizeof buf, "%.*s/%s", (int)n, s, prog);
    if (access(buf, X_OK) == 0) return true;
    s += n + (e ? 1 : 0);
  }
  return false;
}

#define NEED(prog)                                                             \
  do {                                                                         \
    if (!have(prog))                                                           \
      cr_skip_test("%s is not installed (scripts/deps.sh installs it)", prog); \
  } while (0)

/* A directory's file names, sorted, one a line (gt-run.* logs left out if
 * asked). */
static int by_name(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

static char *listing(const char *d, bool without_logs) {
  struct dirent **names;
  int n = scandir(d, &names, NULL, by_name);
  cr_assert_geq(n, 0, "scandir %s: %s", d, strerror(errno));
  size_t cap = 64, len = 0;
  char *out = malloc(cap);
  out[0] = '\0';
  for (int i = 0; i < n; i++) {
    const char *s = names[i]->d_name;
    bool skip = s[0] == '.' || (without_logs && strncmp(s, "gt-run.", 7) == 0);
    size_t k = strlen(s);
    if (!skip) {
      while (len + k + 2 > cap)
        out = realloc(out, cap *= 2);
      memcpy(out + len, s, k);
      len += k;
      out[len++] = '\n';
      out[len] = '\0';
    }
    free(names[i]);
  }
  free(names);
  return own(out);
}

/* Names in d beginning with prefix and ending with suffix. */
static int count_named(const char *d, const char *prefix, const char *suffix) {
  DIR *dp = opendir(d);
  if (!dp) return 0;
  int n = 0;
  for (struct dirent *e; (e = readdir(dp));) {
    size_t len = strlen(e->d_name), sl = strlen(suffix);
    n += strncmp(e->d_name, prefix, strlen(prefix)) == 0 && len >= sl &&
         strcmp(e->d_name + len - sl, suffix) == 0;
  }
  closedir(dp);
  return n;
}

/* Names in d beginning with prefix. */
static int count_prefixed(const char *d, const char *prefix) {
  return count_named(d, prefix, "");
}

/* ---- running commands ---------------------------------------------------- */

typedef struct opts {
  const char *cwd;   /* NULL: the test's directory */
  const char *stdin; /* NULL: /dev/null */
  int timeout_s;     /* 0: TIMEOUT_S */
  bool err_closed;   /* stderr: a pipe nobody reads (as in `2>&1 | head`) */
} opts;

typedef struct result {
  int status; /* as waitpid gives it */
  bool timed_out;
  char *out, *err;
  size_t out_n, err_n;
  double seconds;
} result;

static char *slurp(const char *p, size_t *n) {
  FILE *f = fopen(p, "rb");
  cr_assert_not_null(f, "%s: %s", p, strerror(errno));
  size_t cap = 1 << 16, len = 0;
  char *b = malloc(cap);
  for (size_t k; (k = fread(b + len, 1, cap - len - 1, f)) > 0;) {
    len += k;
    if (cap - len < 2) b = realloc(b, cap *= 2);
  }
  fclose(f);
  b[len] = '\0';
  *n = len;
  return own(b);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static bool sanitized(void) {
#ifdef GT_ATTACH_SANITIZED
  return true;
#else
  return false;
#endif
}

/* The environment of every command: ours without GT_* (no stray
 * configuration), HOME and TMPDIR in the test's directory; for gt run in
 * a sanitizer build, the ASan runtime preloaded (see the top).
 * DEBUGINFOD_URLS stays as it is: gt must never use it. */
static char **environment(bool for_gt) {
  size_t n = 0;
  while (environ[n])
    n++;
  char **env = calloc(n + 8, sizeof *env);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    const char *e = environ[i];
    if (strncmp(e, "GT_", 3) == 0 || strncmp(e, "HOME=", 5) == 0 ||
        strncmp(e, "TMPDIR=", 7) == 0 ||
        (for_gt && sanitized() &&
         (strncmp(e, "LD_PRELOAD=", 11) == 0 ||
          strncmp(e, "ASAN_OPTIONS=", 13) == 0)))
      continue;
    env[k++] = (char *)e;
  }
  static char home[PATH_MAX + 8], tmp[PATH_MAX + 8];
  static char preload[PATH_MAX + 16];
  snprintf(home, sizeof home, "HOME=%s", dir);
  snprintf(tmp, sizeof tmp, "TMPDIR=%s", tmpdir);
  env[k++] = home;
  env[k++] = tmp;
  if (for_gt && sanitized() && GT_ASAN_RUNTIME[0]) {
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s", GT_ASAN_RUNTIME);
    env[k++] = preload;
    env[k++] = "ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0";
  }
  env[k] = NULL;
  return env;
}

/* Runs argv (PATH searched) with stdout and stderr to files, in its own
 * process group, which is killed at the timeout or when it ends. */
static result run_env(const char *const *argv, const opts *o, bool for_gt) {
  static int seq;
  char outp[PATH_MAX], errp[PATH_MAX];
  snprintf(outp, sizeof outp, "%s/.out.%d", dir, ++seq);
  snprintf(errp, sizeof errp, "%s/.err.%d", dir, seq);
  const char *cwd = o && o->cwd ? o->cwd : dir;
  const char *in = o && o->stdin ? o->stdin : "/dev/null";
  int timeout = o && o->timeout_s ? o->timeout_s : TIMEOUT_S;
  char **env = environment(for_gt);
  int closed[2] = {-1, -1};
  if (o && o->err_closed) {
    cr_assert_eq(pipe(closed), 0);
    close(closed[0]);
  }
  double t0 = now();
  fflush(NULL);
  pid_t pid = fork();
  cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    setpgid(0, 0);
    int fi = open(in, O_RDONLY);
    int fo = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int fe = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fi < 0 || fo < 0 || fe < 0 || chdir(cwd) != 0) _exit(125);
    dup2(fi, 0), dup2(fo, 1), dup2(closed[1] >= 0 ? closed[1] : fe, 2);
    close(fi), close(fo), close(fe);
    if (closed[1] >= 0) close(closed[1]);
    signal(SIGPIPE, SIG_DFL);
    execvpe(argv[0], (char *const *)argv, env);
    _exit(errno == ENOENT ? 127 : 126);
  }
  free(env);
  if (closed[1] >= 0) close(closed[1]);
  setpgid(pid, pid);
  result r = {0};
  for (;;) {
    pid_t w = waitpid(pid, &r.status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) cr_assert_fail("waitpid: %s", strerror(errno));
    if (now() - t0 > timeout) {
      kill(-pid, SIGKILL);
      waitpid(pid, &r.status, 0);
      r.timed_out = true;
      break;
    }
    nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
  }
  kill(-pid, SIGKILL); /* anything it left running */
  r.seconds = now() - t0;
  r.out = slurp(outp, &r.out_n);
  r.err = slurp(errp, &r.err_n);
  unlink(outp);
  unlink(errp);
  cr_assert_not(r.timed_out, "%s timed out after %d s; stderr:\n%.2000s",
                argv[0], timeout, r.err);
  return r;
}

static result run(const char *const *argv, const opts *o) {
  return run_env(argv, o, false);
}

static void skip_if_cannot_attach(void) {
  if (sanitized() && !GT_ASAN_RUNTIME[0])
    cr_skip_test("sanitizer build without an ASan runtime to preload: an "
                 "instrumented libgt-attach.so cannot be preloaded into "
                 "uninstrumented programs (ASan must come first)");
}

/* gt run [gt_args] -- argv, in the same way; then gt run's temporary
 * directory must be gone. */
static result gt_run(const char *const *gt_args, const char *const *argv,
                     const opts *o) {
  skip_if_cannot_attach();
  const char *full[64];
  int k = 0;
  full[k++] = GT_PATH;
  full[k++] = "run";
  for (int i = 0; gt_args[i]; i++)
    full[k++] = gt_args[i];
  full[k++] = "--";
  for (int i = 0; argv[i] && k < 63; i++)
    full[k++] = argv[i];
  full[k] = NULL;
  result r = run_env(full, o, true);
  DIR *d = opendir(tmpdir);
  for (struct dirent *e; d && (e = readdir(d));) {
    struct stat st;
    char p[PATH_MAX + 256];
    snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
    cr_expect_not(strncmp(e->d_name, "gt-run.", 7) == 0 && stat(p, &st) == 0 &&
                      S_ISDIR(st.st_mode),
                  "gt run left its temporary directory %s", p);
  }
  if (d) closedir(d);
  return r;
}

static void drop(result *r) {
  release(r->out);
  release(r->err);
}

static const char *describe(int status, char *buf, size_t n) {
  if (WIFEXITED(status))
    snprintf(buf, n, "exit %d", WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    snprintf(buf, n, "signal %d (%s)", WTERMSIG(status),
             strsignal(WTERMSIG(status)));
  else
    snprintf(buf, n, "status %#x", status);
  return buf;
}

static void expect_exit(const result *r, int code, const char *what) {
  char b[64];
  cr_assert(WIFEXITED(r->status) && WEXITSTATUS(r->status) == code,
            "%s: %s, expected exit %d; stderr:\n%.3000s", what,
            describe(r->status, b, sizeof b), code, r->err);
}

/* The part of gt run's stderr that is the program's: what comes before
 * the first summary (printed after the program has exited). */
static size_t program_stderr(const result *r) {
  for (const char *p = r->err; (p = strstr(p, "gt run: ")); p += 8) {
    if (p != r->err && p[-1] != '\n') continue;
    const char *eol = strchr(p, '\n');
    size_t line = eol ? (size_t)(eol - p) : strlen(p);
    char buf[512];
    snprintf(buf, sizeof buf, "%.*s", (int)(line < 511 ? line : 511), p);
    if (strstr(buf, "objects allocated through bdwgc") ||
        strstr(buf, "events in "))
      return (size_t)(p - r->err);
  }
  return r->err_n;
}

/* Where two outputs first differ, with some context. */
static void same_bytes(const char *a, size_t an, const char *b, size_t bn,
                       const char *what) {
  size_t i = 0;
  while (i < an && i < bn && a[i] == b[i])
    i++;
  if (i == an && i == bn) return;
  size_t from = i > 80 ? i - 80 : 0;
  cr_assert_fail("%s differs at byte %zu (lengths %zu plain, %zu under gt "
                 "run):\nplain:  ...%.*s\ngt run: ...%.*s",
                 what, i, an, bn, (int)(an - from < 200 ? an - from : 200),
                 a + from, (int)(bn - from < 200 ? bn - from : 200), b + from);
}

/* Same stdout, same stderr of the program's own, same exit status. */
static void same_run(const result *plain, const result *gt, const char *what) {
  char a[64], b[64];
  cr_assert_eq(plain->status, gt->status,
               "%s: %s plainly, %s under gt run; gt run's stderr:\n%.3000s",
               what, describe(plain->status, a, sizeof a),
               describe(gt->status, b, sizeof b), gt->err);
  same_bytes(plain->out, plain->out_n, gt->out, gt->out_n, "stdout");
  same_bytes(plain->err, plain->err_n, gt->err, program_stderr(gt),
             "the program's stderr");
}

/* ---- the summary --------------------------------------------------------- */

#define ROWS 10

typedef struct row {
  unsigned long long objects;
  double mb;
  char site[512];
} row;

typedef struct summary {
  char prog[64];
  int pid;
  unsigned long long tracked, reclaimed, freed, live, bypassed;
  unsigned long long allocated, every; /* every: gt.alloc_sample_every */
  double reclaimed_mb, accounted;      /* accounted: -1 if not printed */
  row reclaimed_rows[ROWS], bytes_rows[ROWS], live_rows[ROWS];
  int n_reclaimed, n_bytes, n_live;
} summary;

/* "12,345" as 12345; NULL if not a number. */
static const char *number(const char *s, unsigned long long *v) {
  if (*s < '0' || *s > '9') return NULL;
  *v = 0;
  for (; (*s >= '0' && *s <= '9') || *s == ','; s++)
    if (*s != ',') *v = *v * 10 + (unsigned long long)(*s - '0');
  return s;
}

static bool parse_row(const char *line, row *r) {
  const char *s = line;
  while (*s == ' ')
    s++;
  s = number(s, &r->objects);
  if (!s) return false;
  char *end;
  r->mb = strtod(s, &end);
  if (end == s || strncmp(end, " MB  ", 5) != 0) return false;
  snprintf(r->site, sizeof r->site, "%s", end + 5);
  return true;
}

static bool parse_header(const char *line, summary *s) {
  *s = (summary){.accounted = -1};
  const char *p = line + strlen("gt run: ");
  const char *paren = strstr(p, " (pid ");
  if (!paren) return false;
  snprintf(s->prog, sizeof s->prog, "%.*s", (int)(paren - p), p);
  s->pid = atoi(paren + 6);
  const char *q = strstr(paren, "): ");
  if (!q || !(q = number(q + 3, &s->allocated))) return false;
  if (strncmp(q, " objects allocated through bdwgc, ", 34)) return false;
  q += 34;
  s->every = 1;
  const char *t = number(q, &s->tracked);
  if (t && strncmp(t, " of them tracked (1 in ", 23) == 0) { /* sampled */
    if (sscanf(t + 23, "%llu, gt.alloc_sample_every): ", &s->every) != 1 ||
        !(q = strstr(t, "): ")))
      return false;
    q += 3;
  } else {
    s->tracked = s->allocated;
  }
  if (!(q = number(q, &s->reclaimed))) return false;
  if (sscanf(q, " reclaimed (%lf MB), ", &s->reclaimed_mb) != 1) return false;
  q = strstr(q, "MB), ");
  if (!q || !(q = number(q + 5, &s->freed))) return false;
  if (strncmp(q, " freed, ", 8) || !(q = number(q + 8, &s->live))) return false;
  if (strncmp(q, " live at exit", 13)) return false;
  const char *acc = strstr(q, "; ");
  if (acc && strstr(acc, "% accounted for")) s->accounted = atof(acc + 2);
  const char *by = strstr(q, " more not tracked");
  if (by) {
    const char *b = by;
    while (b > q && b[-1] != ' ')
      b--;
    number(b, &s->bypassed);
  }
  return true;
}

/* A table's title line: "name:", or with gt.alloc_sample_every = N
 * "name, estimated (tracked xN):". */
static bool title(const char *line, const char *name,
                  unsigned long long every) {
  char want[128];
  if (every > 1)
    snprintf(want, sizeof want, "%s, estimated (tracked x%llu):", name, every);
  else
    snprintf(want, sizeof want, "%s:", name);
  return strcmp(line, want) == 0;
}

/* Every summary in gt run's stderr, in order; returns how many. */
static int summaries(const char *err, summary *out, int max) {
  int n = 0;
  row *rows = NULL;
  int *count = NULL;
  char line[4096];
  for (const char *p = err; *p;) {
    const char *eol = strchr(p, '\n');
    size_t len = eol ? (size_t)(eol - p) : strlen(p);
    snprintf(line, sizeof line, "%.*s", (int)(len < 4095 ? len : 4095), p);
    p += len + (eol ? 1 : 0);
    if (strncmp(line, "gt run: ", 8) == 0 &&
        strstr(line, " objects allocated through bdwgc")) {
      cr_assert_lt(n, max, "more than %d summaries", max);
      cr_assert(parse_header(line, &out[n]), "unreadable summary line: %s",
                line);
      n++;
      rows = NULL;
    } else if (n && title(line, "reclaimed, by site (objects, bytes)",
                          out[n - 1].every)) {
      rows = out[n - 1].reclaimed_rows, count = &out[n - 1].n_reclaimed;
    } else if (n && title(line, "reclaimed, by bytes", out[n - 1].every)) {
      rows = out[n - 1].bytes_rows, count = &out[n - 1].n_bytes;
    } else if (n && title(line, "live at exit, by site", out[n - 1].every)) {
      rows = out[n - 1].live_rows, count = &out[n - 1].n_live;
    } else if (rows && strncmp(line, "  ", 2) == 0) {
      cr_assert_lt(*count, ROWS, "more than %d rows in a table", ROWS);
      cr_assert(parse_row(line, &rows[*count]), "unreadable row: '%s'", line);
      ++*count;
    } else {
      rows = NULL;
    }
  }
  return n;
}

/* The one summary gt run printed, for prog. */
static summary one_summary(const result *r, const char *prog) {
  summary s[8];
  int n = summaries(r->err, s, 8);
  cr_assert_eq(n, 1, "%d summaries, expected one; gt run's stderr:\n%.3000s", n,
               r->err);
  cr_assert_str_eq(s[0].prog, prog);
  return s[0];
}

/* A site's innermost frame is the program's: "w3m!fn@0x9bf80+0xb", or with
 * debug information "new_node (threaded.c:178)". */
static bool in_program(const char *site, const char *prog, const char *src) {
  char first[512];
  const char *lt = strstr(site, " < ");
  snprintf(first, sizeof first, "%.*s",
           (int)(lt ? (size_t)(lt - site) : strlen(site)), site);
  size_t n = strlen(prog);
  if (strncmp(first, prog, n) == 0 && first[n] == '!') return true;
  return src && strstr(first, src) != NULL;
}

static void sites_in_program(const row *rows, int n, const char *prog,
                             const char *src, const char *table) {
  for (int i = 0; i < n; i++)
    cr_expect(in_program(rows[i].site, prog, src),
              "%s: row %d is not in %s: %s", table, i + 1, prog, rows[i].site);
}

/* The checks every attached run passes. */
static void good_summary(const summary *s, const char *prog, const char *src) {
  cr_assert_gt(s->tracked, 0, "no object tracked");
  cr_assert_geq(s->accounted, 90.0, "%.1f%% accounted for", s->accounted);
  cr_assert_leq(s->reclaimed + s->freed + s->live, s->tracked,
                "%llu + %llu + %llu counted of %llu tracked", s->reclaimed,
                s->freed, s->live, s->tracked);
  cr_assert_gt(s->n_reclaimed + s->n_live, 0, "no table of sites");
  sites_in_program(s->reclaimed_rows, s->n_reclaimed, prog, src, "reclaimed");
  sites_in_program(s->bytes_rows, s->n_bytes, prog, src, "by bytes");
  sites_in_program(s->live_rows, s->n_live, prog, src, "live");
}

/* PATH of the summary's line "<head>PATH" ("gt run: events in "), or
 * NULL. */
static const char *summary_path(const result *r, const char *head, char *buf,
                                size_t n) {
  const char *p = strstr(r->err, head);
  if (!p) return NULL;
  p += strlen(head);
  const char *eol = strchr(p, '\n');
  snprintf(buf, n, "%.*s", (int)(eol ? (size_t)(eol - p) : strlen(p)), p);
  return buf;
}

/* The last line of a JSON log: the totals at exit (src/exit.c), which are
 * the summary's. */
static void check_exit_line(json_t *e, const summary *s) {
  cr_expect(json_is_true(json_object_get(e, "live_counted")));
  cr_expect_eq(json_integer_value(json_object_get(e, "collected")),
               (json_int_t)s->reclaimed, "exit line: collected");
  cr_expect_eq(json_integer_value(json_object_get(e, "live")),
               (json_int_t)s->live, "exit line: live");
}

/* The JSON lines log: every line a record whose groups are sited in the
 * program, and whose counts add up to the summary's; then the exit line. */
static void check_log(const char *log, const summary *s, const char *src) {
  FILE *f = fopen(log, "r");
  cr_assert_not_null(f, "no log at %s: %s", log, strerror(errno));
  char *line = NULL;
  size_t cap = 0;
  long long collected = 0, freed = 0, records = 0, elsewhere = 0, exits = 0;
  char first[512] = "";
  while (getline(&line, &cap, f) > 0) {
    json_error_t e;
    json_t *j = json_loads(line, 0, &e);
    cr_assert_not_null(j, "%s: line %lld is not JSON: %s", log, records + 1,
                       e.text);
    json_t *exit_line = json_object_get(j, "exit");
    cr_expect_eq(exits, 0, "%s: a line after the exit line", log);
    if (exit_line) {
      exits++;
      check_exit_line(exit_line, s);
      json_decref(j);
      continue;
    }
    records++;
    collected += json_integer_value(json_object_get(j, "collected"));
    freed += json_integer_value(json_object_get(j, "freed"));
    json_t *groups = json_object_get(j, "groups"), *g;
    size_t i;
    cr_assert(json_is_array(groups), "a record without groups");
    json_array_foreach(groups, i, g) {
      const char *site = json_string_value(json_object_get(g, "site"));
      cr_assert_not_null(site, "a group without a site");
      if (!in_program(site, s->prog, src) && !elsewhere++)
        snprintf(first, sizeof first, "%s", site);
    }
    json_decref(j);
  }
  free(line);
  fclose(f);
  cr_assert_gt(records, 0, "%s is empty", log);
  cr_expect_eq(exits, 1, "%s: no exit line", log);
  cr_expect_eq(elsewhere, 0, "%lld groups of the log not sited in %s, as %s",
               elsewhere, s->prog, first);
  cr_expect_eq(collected, (long long)s->reclaimed,
               "the log says %lld collected, the summary %llu reclaimed",
               collected, s->reclaimed);
  cr_expect_eq(freed, (long long)s->freed,
               "the log says %lld freed, the summary %llu", freed, s->freed);
}

/* ---- w3m ----------------------------------------------------------------- */

static const char *doc_page(void) {
  const char *manual = "/usr/share/doc/w3m/MANUAL.html";
  return access(manual, R_OK) == 0 ? manual : GT_ATTACH_DATA_DIR "/page.html";
}

/* w3m -dump page, plainly in dir/plain and under gt run (default log) in
 * dir/gt; returns the summary. */
static summary w3m_dump(const char *page) {
  NEED("w3m");
  make_dir(path("plain"));
  make_dir(path("gt"));
  const char *gt_dir = path("gt");
  opts po = {.cwd = path("plain")}, go = {.cwd = gt_dir};
  result plain = run(ARGS("w3m", "-dump", page), &po);
  expect_exit(&plain, 0, "w3m");
  cr_assert_gt(plain.out_n, 1000, "w3m printed %zu bytes", plain.out_n);
  result gt = gt_run(NO_ARGS, ARGS("w3m", "-dump", page), &go);
  same_run(&plain, &gt, "w3m -dump");
  summary s = one_summary(&gt, "w3m");
  good_summary(&s, "w3m", NULL);
  cr_assert_gt(s.reclaimed, 0);
  cr_assert_gt(s.n_reclaimed, 0);
  /* The log is in the current directory, named after the program. */
  char want[PATH_MAX + 64], got[PATH_MAX + 64];
  snprintf(want, sizeof want, "%s/gt-run.w3m.%d.jsonl", gt_dir, s.pid);
  cr_assert_not_null(summary_path(&gt, "gt run: events in ", got, sizeof got),
                     "no 'events in' line:\n%.3000s", gt.err);
  cr_assert_str_eq(got, want);
  check_log(want, &s, NULL);
  /* So is the profile (its contents: tests/profile/pprof_check.sh). */
  snprintf(want, sizeof want, "%s/gt-run.w3m.%d.pb.gz", gt_dir, s.pid);
  cr_assert_not_null(summary_path(&gt, "gt run: profile in ", got, sizeof got),
                     "no 'profile in' line:\n%.3000s", gt.err);
  cr_assert_str_eq(got, want);
  cr_assert(exists(want), "%s is missing", want);
  cr_log_info("w3m -dump %s: %.2f s plainly, %.2f s under gt run; %llu "
              "objects, %llu reclaimed",
              page, plain.seconds, gt.seconds, s.tracked, s.reclaimed);
  drop(&plain), drop(&gt);
  return s;
}

Test(attach, w3m_doc_page) {
  w3m_dump(doc_page());
}

Test(attach, w3m_checked_in_page) {
  w3m_dump(GT_ATTACH_DATA_DIR "/page.html");
}

static unsigned long long rnd(unsigned long long *x) {
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}

/* About 3 MB: sections with nested inline markup, entities, links, nested
 * lists, tables, preformatted text and definition lists. */
static void write_large_page(const char *p) {
  FILE *f = fopen(p, "w");
  cr_assert_not_null(f);
  unsigned long long x = 88172645463325252ull;
#define RND() rnd(&x)
  fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Large "
        "&amp; generated &mdash; gt run test</title></head><body>\n",
        f);
  static const char *const ents[] = {"&amp;",    "&lt;",   "&gt;",
                                     "&quot;",   "&copy;", "&eacute;",
                                     "&#x263A;", "&nbsp;", "&hellip;"};
  for (int i = 1; ftell(f) < 3000000; i++) {
    fprintf(f, "<h2 id=\"s%d\">Section %d %s notes</h2>\n<p>", i, i,
            ents[i % 9]);
    for (int j = 0; j < 8; j++)
      fprintf(f,
              "<a href=\"#s%llu\">link %d</a> text <b>bold <i>italic %d "
              "<u>under %s</u></i></b> %s ",
              RND() % (unsigned)i + 1, j, j, ents[(i + j) % 9],
              ents[RND() % 9]);
    fputs("</p>\n<ul>", f);
    for (int j = 0; j < 5; j++)
      fprintf(f,
              "<li>item %d <ol><li>nested %d.1</li><li>nested %d.2 "
              "<code>x &lt; %llu</code></li></ol></li>",
              j, j, j, RND() % 1000);
    fputs("</ul>\n<table border=\"1\"><tr><th>key</th><th>value</th>"
          "<th>link</th></tr>",
          f);
    for (int j = 0; j < 10; j++)
      fprintf(f,
              "<tr><td>%d</td><td align=\"right\">%llu.%03llu</td><td><a "
              "href=\"http://example.invalid/%d/%d\">example %d</a></td></tr>",
              j, RND() % 100000, RND() % 1000, i, j, j);
    fputs("</table>\n<pre>", f);
    for (int j = 0; j < 4; j++)
      fprintf(f, "line %d\t&amp;\t%llu\n", j, RND() % (1u << 30));
    fprintf(f,
            "</pre>\n<dl><dt>term %d</dt><dd>definition with <em>%s</em>"
            "</dd></dl>\n",
            i, ents[RND() % 9]);
  }
#undef RND
  fputs("</body></html>\n", f);
  fclose(f);
}

Test(attach, w3m_large_generated_page) {
  NEED("w3m");
  const char *page = path("large.html");
  write_large_page(page);
  summary s = w3m_dump(page);
  cr_assert_gt(s.tracked, 1000000, "only %llu objects for a 3 MB page",
               s.tracked);
  cr_assert_gt(s.reclaimed, s.tracked / 2);
}

/* A shell script that runs w3m twice: both children are attached (the
 * preload is inherited), the shell is not (it never calls bdwgc). */
Test(attach, script_children_are_attached) {
  NEED("w3m");
  const char *script = path("two-pages.sh");
  char text[2 * PATH_MAX + 200];
  snprintf(text, sizeof text,
           "#!/bin/sh\nw3m -dump '%s'\necho between\nw3m -dump '%s'\n",
           doc_page(), GT_ATTACH_DATA_DIR "/page.html");
  write_file(script, text, 0755);
  result plain = run(ARGS(script), NULL);
  expect_exit(&plain, 0, "the script");
  result gt = gt_run(NO_ARGS, ARGS(script), NULL);
  same_run(&plain, &gt, "the script");
  summary s[4];
  int n = summaries(gt.err, s, 4);
  cr_assert_eq(n, 2, "%d summaries, expected one per w3m:\n%.3000s", n, gt.err);
  for (int i = 0; i < n; i++) {
    cr_assert_str_eq(s[i].prog, "w3m");
    good_summary(&s[i], "w3m", NULL);
  }
  cr_assert_neq(s[0].pid, s[1].pid);
  char got[PATH_MAX + 64];
  cr_assert_not_null(summary_path(&gt, "gt run: events in ", got, sizeof got));
  cr_assert(strstr(got, "/gt-run.two-pages.sh.") != NULL, "log: %s", got);
  cr_assert(exists(got), "%s is missing", got);
  drop(&plain), drop(&gt);
}

Test(attach, quiet_prints_no_summary) {
  NEED("w3m");
  const char *page = GT_ATTACH_DATA_DIR "/page.html";
  result plain = run(ARGS("w3m", "-dump", page), NULL);
  result gt = gt_run(ARGS("-q"), ARGS("w3m", "-dump", page), NULL);
  same_run(&plain, &gt, "w3m -dump");
  same_bytes(plain.err, plain.err_n, gt.err, gt.err_n, "stderr with -q");
  cr_assert_eq(count_named(dir, "gt-run.w3m.", ".jsonl"), 1,
               "-q writes the log all the same");
  cr_assert_eq(count_named(dir, "gt-run.w3m.", ".pb.gz"), 1,
               "-q writes the profile all the same");
  drop(&plain), drop(&gt);
}

/* ---- mmv ----------------------------------------------------------------- */

static void make_photos(const char *d) {
  make_dir(d);
  char p[PATH_MAX];
  for (int i = 1; i <= 300; i++) {
    snprintf(p, sizeof p, "%s/photo_%d_%d.JPG", d, i, i * 7 % 13);
    write_file(p, "jpeg", 0644);
  }
  snprintf(p, sizeof p, "%s/keep.txt", d);
  write_file(p, "text", 0644);
  snprintf(p, sizeof p, "%s/other.JPGX", d);
  write_file(p, "x", 0644);
}

#define MMV_ARGS "mmv", "-v", "photo_*_*.JPG", "img-#2-#1.jpeg"

static void mmv_compare(bool default_log) {
  NEED("mmv");
  make_photos(path("plain"));
  make_photos(path("gt"));
  opts po = {.cwd = path("plain")}, go = {.cwd = path("gt")};
  result plain = run(ARGS(MMV_ARGS), &po);
  expect_exit(&plain, 0, "mmv");
  const char *log = path("mmv.jsonl");
  char opt[PATH_MAX + 16];
  snprintf(opt, sizeof opt, "log.path=%s", log);
  result gt = default_log ? gt_run(NO_ARGS, ARGS(MMV_ARGS), &go)
                          : gt_run(ARGS("-o", opt), ARGS(MMV_ARGS), &go);
  same_run(&plain, &gt, "mmv");
  char *a = listing(path("plain"), false), *b = listing(path("gt"), true);
  cr_assert_str_eq(a, b, "the renamed files differ");
  cr_assert(strstr(a, "img-11-100.jpeg\n") && !strstr(a, "photo_"),
            "mmv did not rename: %s", a);
  release(a), release(b);
  summary s = one_summary(&gt, "mmv");
  good_summary(&s, "mmv", NULL);
  char want[PATH_MAX + 64];
  if (default_log)
    snprintf(want, sizeof want, "%s/gt-run.mmv.%d.jsonl", path("gt"), s.pid);
  else
    snprintf(want, sizeof want, "%s", log);
  cr_assert_eq(count_named(path("gt"), "gt-run.", ".jsonl"),
               default_log ? 1 : 0, "log files in the program's directory");
  cr_assert_eq(count_named(path("gt"), "gt-run.", ".pb.gz"), 1,
               "profiles in the program's directory (gt.profile's default)");
  check_log(want, &s, NULL);
  drop(&plain), drop(&gt);
}

Test(attach, mmv_renames_with_log_elsewhere) {
  mmv_compare(false);
}

Test(attach, mmv_log_in_current_directory) {
  mmv_compare(true);
}

/* A collision: mmv refuses, says why, renames nothing, exits 1. */
Test(attach, mmv_collision) {
  NEED("mmv");
  make_photos(path("plain"));
  make_photos(path("gt"));
  opts po = {.cwd = path("plain")}, go = {.cwd = path("gt")};
  const char *log = path("mmv.jsonl");
  char opt[PATH_MAX + 16];
  snprintf(opt, sizeof opt, "log.path=%s", log);
  result plain = run(ARGS("mmv", "photo_1*_*.JPG", "same.jpeg"), &po);
  cr_assert_neq(plain.status, 0, "mmv accepted a collision");
  result gt =
      gt_run(ARGS("-o", opt), ARGS("mmv", "photo_1*_*.JPG", "same.jpeg"), &go);
  same_run(&plain, &gt, "mmv with a collision");
  char *a = listing(path("plain"), false), *b = listing(path("gt"), true);
  cr_assert_str_eq(a, b);
  release(a), release(b);
  summary s = one_summary(&gt, "mmv");
  good_summary(&s, "mmv", NULL);
  drop(&plain), drop(&gt);
}

/* ---- chase --------------------------------------------------------------- */

Test(attach, chase_symlinks) {
  NEED("chase");
  const char *d = path("links");
  make_dir(d);
  char p[PATH_MAX], q[PATH_MAX];
  snprintf(p, sizeof p, "%s/target", d);
  write_file(p, "x", 0644);
  char *names = NULL;
  size_t names_n = 0;
  FILE *list = open_memstream(&names, &names_n);
  for (int i = 0; i < 200; i++) {
    for (int j = 0; j < 5; j++) {
      snprintf(p, sizeof p, "%s/l%d_%d", d, i, j);
      if (j)
        snprintf(q, sizeof q, "l%d_%d", i, j - 1);
      else
        snprintf(q, sizeof q, "%s", i % 2 ? "target" : "../links/target");
      cr_assert_eq(symlink(q, p), 0, "symlink: %s", strerror(errno));
    }
    fprintf(list, "%s/l%d_4\n", d, i);
  }
  const char *loops[][2] = {
      {"loopA", "loopB"}, {"loopB", "loopA"}, {"dangling", "missing"}};
  for (int i = 0; i < 3; i++) {
    snprintf(p, sizeof p, "%s/%s", d, loops[i][0]);
    cr_assert_eq(symlink(loops[i][1], p), 0);
    fprintf(list, "%s\n", p);
  }
  fclose(list);
  own(names);
  write_file(path("names"), names, 0644);
  release(names);
  opts o = {.stdin = path("names")};
  result plain = run(ARGS("chase", "-f"), &o);
  cr_assert(WIFEXITED(plain.status) && WEXITSTATUS(plain.status) != 0,
            "chase found no error in loops and a dangling link");
  cr_assert(strstr(plain.err, "loop"), "chase said: %s", plain.err);
  char opt[PATH_MAX + 16];
  snprintf(opt, sizeof opt, "log.path=%s", path("chase.jsonl"));
  result gt = gt_run(ARGS("-o", opt), ARGS("chase", "-f"), &o);
  same_run(&plain, &gt, "chase -f");
  summary s = one_summary(&gt, "chase");
  good_summary(&s, "chase", NULL);
  cr_assert_gt(s.reclaimed, 0);
  check_log(path("chase.jsonl"), &s, NULL);
  drop(&plain), drop(&gt);
}

/* ---- debfoster (queries only: nothing is installed or removed) ----------- */

Test(attach, debfoster_queries) {
  NEED("debfoster");
  if (access("/var/lib/dpkg/status", R_OK) != 0)
    cr_skip_test("no dpkg database to query");
  const char *const *queries[] = {
      ARGS("debfoster", "-n", "-d", "bash"),
      ARGS("debfoster", "-n", "-e", "libc6"),
      ARGS("debfoster", "-n", "-p", "awk"),
      ARGS("debfoster", "-n", "-r", "bash"),
      ARGS("debfoster", "-n", "-s"),
  };
  char opt[PATH_MAX + 16];
  snprintf(opt, sizeof opt, "log.path=%s", path("debfoster.jsonl"));
  for (size_t i = 0; i < sizeof queries / sizeof *queries; i++) {
    result plain = run(queries[i], NULL);
    result gt = gt_run(ARGS("-o", opt), queries[i], NULL);
    same_run(&plain, &gt, queries[i][2]);
    summary s = one_summary(&gt, "debfoster");
    good_summary(&s, "debfoster", NULL);
    cr_assert_gt(s.reclaimed, 0);
    drop(&plain), drop(&gt);
  }
}

/* ---- our own bdwgc programs ---------------------------------------------- */

static void threaded(const char *mode) {
  result plain = run(ARGS(GT_THREADED_PATH, mode), NULL);
  expect_exit(&plain, 0, "threaded");
  cr_assert(plain.out_n > 3 && strcmp(plain.out + plain.out_n - 3, "ok\n") == 0,
            "threaded did not end with ok:\n%s", plain.out);
  char opt[PATH_MAX + 16];
  snprintf(opt, sizeof opt, "log.path=%s", path("threaded.jsonl"));
  result gt = gt_run(ARGS("-o", opt), ARGS(GT_THREADED_PATH, mode), NULL);
  expect_exit(&gt, 0, "threaded under gt run");
  same_run(&plain, &gt, "threaded");
  summary s = one_summary(&gt, "threaded");
  good_summary(&s, "threaded", "threaded.c:");
  cr_assert_gt(s.reclaimed, 0);
  cr_assert_gt(s.freed, 0, "GC_FREE'd objects not counted");
  cr_assert_gt(s.bypassed, 0, "uncollectable and aligned objects not counted");
  check_log(path("threaded.jsonl"), &s, "threaded.c:");
  cr_log_info("threaded %s: %.2f s plainly, %.2f s under gt run; %llu "
              "objects, %.1f%% accounted for, %llu bypassed",
              mode, plain.seconds, gt.seconds, s.tracked, s.accounted,
              s.bypassed);
  drop(&plain), drop(&gt);
}

Test(attach, threaded_default) {
  threaded("default");
}

Test(attach, threaded_incremental) {
  threaded("incremental");
}

Test(attach, threaded_no_interior) {
  threaded("no_interior");
}

Test(attach, threaded_no_dls) {
  threaded("no_dls");
}

Test(attach, threaded_parallel) {
  threaded("parallel");
}

/* Each object counted once, in its place: counts.c says how many of each
 * the summary must show. libgc calls its own entry points through the PLT
 * (GC_posix_memalign -> GC_memalign -> GC_malloc -> a free-list refill by
 * GC_generic_malloc_many): those inner calls must not be counted again
 * nor become gt objects. */
typedef struct made {
  unsigned long long tracked, freed, bypassed; /* as counts.c prints them */
} made;

/* counts.c under gt run, its log in `log`, with one more -o option if
 * `option`; what the program says it made, and the summary. */
static summary run_counts(const char *log, const char *option, made *m) {
  char opt[PATH_MAX + 16];
  snprintf(opt, sizeof opt, "log.path=%s", path(log));
  result gt = gt_run(option ? ARGS("-o", opt, "-o", option) : ARGS("-o", opt),
                     ARGS(GT_COUNTS_PATH), NULL);
  expect_exit(&gt, 0, "counts");
  cr_assert_eq(sscanf(gt.out, "tracked %llu freed %llu bypassed %llu",
                      &m->tracked, &m->freed, &m->bypassed),
               3, "counts printed: %s", gt.out);
  summary s = one_summary(&gt, "counts");
  drop(&gt);
  return s;
}

Test(attach, counts_are_exact) {
  made m;
  summary s = run_counts("counts.jsonl", NULL, &m);
  unsigned long long tracked = m.tracked, freed = m.freed,
                     bypassed = m.bypassed; /* what the program made */
  sites_in_program(s.reclaimed_rows, s.n_reclaimed, "counts",
                   "counts.c:", "reclaimed");
  sites_in_program(s.live_rows, s.n_live, "counts", "counts.c:", "live");
  cr_expect_eq(s.tracked, tracked,
               "%llu objects tracked, the program made %llu", s.tracked,
               tracked);
  cr_expect_eq(s.freed, freed, "%llu freed, the program freed %llu", s.freed,
               freed);
  cr_expect_eq(s.bypassed, bypassed,
               "%llu not tracked, the program made %llu uncollectable, "
               "aligned or inline ones",
               s.bypassed, bypassed);
}

/* gt.alloc_sample_every = 4: one allocation in four becomes a gt object,
 * the others stay bdwgc's own, and every one is still counted once. */
Test(attach, sampled_allocations_are_all_counted) {
  made m;
  summary s = run_counts("sampled.jsonl", "gt.alloc_sample_every=4", &m);
  cr_assert_eq(s.every, 4, "the summary says one in 4 is tracked");
  cr_expect_eq(s.allocated, m.tracked, "%llu counted, the program made %llu",
               s.allocated, m.tracked);
  /* one thread, one countdown: the first of every four */
  cr_expect_eq(s.tracked, (m.tracked + 3) / 4, "%llu tracked of %llu",
               s.tracked, m.tracked);
  cr_expect_eq(s.bypassed, m.bypassed);
  cr_expect_eq(s.accounted, 100.0, "every tracked one reclaimed or live");
  sites_in_program(s.reclaimed_rows, s.n_reclaimed, "counts",
                   "counts.c:", "reclaimed");
  for (int i = 0; i < s.n_reclaimed; i++)
    cr_expect_eq(s.reclaimed_rows[i].objects % 4, 0, "estimates: x4");
}

/* Mixed gt and bdwgc objects in one real program: w3m prints the same. */
Test(attach, sampled_w3m_prints_the_same) {
  NEED("w3m");
  const char *page = GT_ATTACH_DATA_DIR "/page.html";
  result plain = run(ARGS("w3m", "-dump", page), NULL);
  expect_exit(&plain, 0, "w3m");
  char opt[PATH_MAX + 16];
  snprintf(opt, sizeof opt, "log.path=%s", path("sampled-w3m.jsonl"));
  result gt = gt_run(ARGS("-o", opt, "-o", "gt.alloc_sample_every=16"),
                     ARGS("w3m", "-dump", page), NULL);
  same_run(&plain, &gt, "w3m -dump, 1 in 16 tracked");
  summary s = one_summary(&gt, "w3m");
  cr_expect_eq(s.every, 16);
  cr_expect_gt(s.allocated, 8 * s.tracked, "%llu allocated, %llu tracked",
               s.allocated, s.tracked);
  cr_expect_gt(s.reclaimed, 0);
  drop(&plain), drop(&gt);
}

/* ---- misuse and lifecycle ------------------------------------------------ */

/* A bad configuration stops gt run before the program runs. */
Test(attach, bad_configuration_runs_nothing) {
  const char *marker = path("ran");
  char touch[PATH_MAX + 16];
  snprintf(touch, sizeof touch, "touch '%s'", marker);
  const char *const *bad[] = {
      ARGS("-o", "nope.key=1"),
      ARGS("-o", "log.format=yaml"),
      ARGS("-o", "gt.profile=/nonexistent-gt-dir/p.pb.gz"),
      ARGS("-o", "no-equals-sign"),
      ARGS("-c", "/nonexistent/gt.ini"),
      ARGS("-x"),
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    const char *full[16];
    int k = 0;
    full[k++] = GT_PATH;
    full[k++] = "run";
    for (int j = 0; bad[i][j]; j++)
      full[k++] = bad[i][j];
    full[k++] = "--";
    full[k++] = "sh";
    full[k++] = "-c";
    full[k++] = touch;
    full[k] = NULL;
    result r = run(full, NULL);
    expect_exit(&r, 2, bad[i][0]);
    cr_assert_not(exists(marker), "the program ran despite %s %s", bad[i][0],
                  bad[i][1] ? bad[i][1] : "");
    cr_assert(strstr(r.err, "gt run: "), "no reason given: %s", r.err);
    cr_assert_eq(count_prefixed(tmpdir, "gt-run."), 0);
    drop(&r);
  }
  result r = run(ARGS(GT_PATH, "run", "-o", "nope.key=1", "--", "true"), NULL);
  cr_assert(strstr(r.err, "nope.key"), "the bad key is not named: %s", r.err);
  drop(&r);
  r = run(ARGS(GT_PATH, "run"), NULL);
  expect_exit(&r, 2, "gt run without a program");
  drop(&r);
}

Test(attach, missing_program) {
  result r = gt_run(NO_ARGS, ARGS("no-such-program-gt-test"), NULL);
  expect_exit(&r, 127, "a program not on PATH");
  cr_assert(strstr(r.err, "cannot run"), "%s", r.err);
  drop(&r);
  r = gt_run(NO_ARGS, ARGS("/nonexistent/dir/prog"), NULL);
  expect_exit(&r, 127, "a path that does not exist");
  drop(&r);
  write_file(path("not-executable"), "#!/bin/sh\n", 0644);
  r = gt_run(NO_ARGS, ARGS(path("not-executable")), NULL);
  expect_exit(&r, 126, "a file without x permission");
  drop(&r);
  cr_assert_eq(count_prefixed(dir, "gt-run."), 0, "a log for nothing");
}

/* /bin/sh does not link libgc: gt run leaves it alone. Same output, its
 * status, no summary, no log. */
Test(attach, exit_status_without_libgc) {
  const char *const *sh = ARGS("sh", "-c", "echo out; echo err >&2; exit 3");
  result plain = run(sh, NULL);
  result gt = gt_run(NO_ARGS, sh, NULL);
  expect_exit(&gt, 3, "sh -c 'exit 3'");
  same_run(&plain, &gt, "sh");
  same_bytes(plain.err, plain.err_n, gt.err, gt.err_n, "all of stderr");
  cr_assert_eq(count_prefixed(dir, "gt-run."), 0, "a log in the cwd");
  cr_assert_eq(count_prefixed(tmpdir, "gt-run."), 0, "a log in $TMPDIR");
  drop(&plain), drop(&gt);
}

/* gt run dies of the program's signal. */
Test(attach, killed_by_signal) {
  const int sigs[] = {SIGTERM, SIGKILL, SIGABRT};
  for (int i = 0; i < 3; i++) {
    char cmd[64];
    snprintf(cmd, sizeof cmd, "kill -%d $$", sigs[i]);
    result plain = run(ARGS("sh", "-c", cmd), NULL);
    result gt = gt_run(NO_ARGS, ARGS("sh", "-c", cmd), NULL);
    char b[64];
    cr_assert(WIFSIGNALED(gt.status) && WTERMSIG(gt.status) == sigs[i],
              "gt run: %s, the program got signal %d",
              describe(gt.status, b, sizeof b), sigs[i]);
    cr_assert_eq(plain.status, gt.status);
    drop(&plain), drop(&gt);
  }
}

/* An attached program killed by a signal: no summary (it never got to
 * exit), gt run dies of the same signal, nothing left in $TMPDIR. */
Test(attach, attached_program_killed) {
  char opt[PATH_MAX + 16];
  snprintf(opt, sizeof opt, "log.path=%s", path("counts.jsonl"));
  result gt = gt_run(ARGS("-o", opt), ARGS(GT_COUNTS_PATH, "--raise=15"), NULL);
  char b[64];
  cr_assert(WIFSIGNALED(gt.status) && WTERMSIG(gt.status) == SIGTERM,
            "gt run: %s", describe(gt.status, b, sizeof b));
  summary s[2];
  cr_assert_eq(summaries(gt.err, s, 2), 0, "a summary after SIGTERM");
  drop(&gt);
}

/* A script run by gt run whose w3m child is attached, then the script is
 * killed: the child's summary is printed, then gt run dies of the
 * signal. */
Test(attach, summary_then_signal) {
  NEED("w3m");
  char cmd[PATH_MAX + 64];
  snprintf(cmd, sizeof cmd, "w3m -dump '%s' >/dev/null; kill -TERM $$",
           GT_ATTACH_DATA_DIR "/page.html");
  result gt = gt_run(NO_ARGS, ARGS("sh", "-c", cmd), NULL);
  char b[64];
  cr_assert(WIFSIGNALED(gt.status) && WTERMSIG(gt.status) == SIGTERM,
            "gt run: %s", describe(gt.status, b, sizeof b));
  summary s = one_summary(&gt, "w3m");
  good_summary(&s, "w3m", NULL);
  drop(&gt);
}

/* "gt run: events in PATH" names the log wherever it is, also when the
 * configuration moved it away from gt run's default. */
Test(attach, events_line_names_configured_log) {
  NEED("w3m");
  const char *log = path("elsewhere.jsonl");
  char opt[PATH_MAX + 16], got[PATH_MAX + 64];
  snprintf(opt, sizeof opt, "log.path=%s", log);
  result gt =
      gt_run(ARGS("-o", opt),
             ARGS("w3m", "-dump", GT_ATTACH_DATA_DIR "/page.html"), NULL);
  expect_exit(&gt, 0, "w3m");
  cr_assert(exists(log), "no log at %s", log);
  cr_assert_not_null(summary_path(&gt, "gt run: events in ", got, sizeof got),
                     "no 'gt run: events in %s' line:\n%.1500s", log, gt.err);
  cr_assert_str_eq(got, log);
  drop(&gt);
}

/* "gt run: profile in PATH" names the profile the attached process wrote:
 * gt.profile as configured, its "%p" that process's id. */
Test(attach, profile_line_names_configured_profile) {
  NEED("w3m");
  char opt[PATH_MAX + 32], want[PATH_MAX + 64], got[PATH_MAX + 64];
  snprintf(opt, sizeof opt, "gt.profile=%s", path("mine.%%p.pb.gz"));
  result gt =
      gt_run(ARGS("-o", opt),
             ARGS("w3m", "-dump", GT_ATTACH_DATA_DIR "/page.html"), NULL);
  expect_exit(&gt, 0, "w3m");
  summary s = one_summary(&gt, "w3m");
  snprintf(want, sizeof want, "%s/mine.%d.pb.gz", dir, s.pid);
  cr_assert_not_null(summary_path(&gt, "gt run: profile in ", got, sizeof got),
                     "no 'gt run: profile in' line:\n%.1500s", gt.err);
  cr_assert_str_eq(got, want);
  cr_assert(exists(want), "no profile at %s", want);
  cr_assert_eq(count_named(dir, "gt-run.", ".pb.gz"), 0,
               "a profile at the default path too");
  drop(&gt);
}

/* A current directory where no file can be created: the log goes to
 * $TMPDIR. As root, directory modes do not stop us, so /proc stands in
 * for such a directory there (access(2) would say yes to root). */
Test(attach, log_falls_back_when_cwd_unwritable) {
  NEED("w3m");
  const char *ro = path("read-only");
  make_dir(ro);
  chmod(ro, 0555);
  opts o = {.cwd = geteuid() == 0 ? "/proc" : ro};
  result gt = gt_run(NO_ARGS,
                     ARGS("w3m", "-dump", GT_ATTACH_DATA_DIR "/page.html"), &o);
  expect_exit(&gt, 0, "w3m");
  cr_assert_not(strstr(gt.err, "not attached"), "%.1500s", gt.err);
  summary s = one_summary(&gt, "w3m");
  char want[PATH_MAX + 64], got[PATH_MAX + 64];
  snprintf(want, sizeof want, "%s/gt-run.w3m.%d.jsonl", tmpdir, s.pid);
  cr_assert_not_null(summary_path(&gt, "gt run: events in ", got, sizeof got));
  cr_assert_str_eq(got, want);
  cr_assert(exists(want));
  snprintf(want, sizeof want, "%s/gt-run.w3m.%d.pb.gz", tmpdir, s.pid);
  cr_assert_not_null(summary_path(&gt, "gt run: profile in ", got, sizeof got));
  cr_assert_str_eq(got, want, "the profile falls back with the log");
  cr_assert(exists(want));
  drop(&gt);
}

/* w3m and mmv under gt run, many times: every run must end as it does
 * plainly. gt's worker may still be resolving sites while the main thread
 * is in exit() tearing the program's libraries down: once (libdw's
 * debuginfod client starting libcurl and OpenSSL after OpenSSL's atexit
 * clean-up) that crashed about 1 run in 20 with SIGSEGV, the last stdout
 * buffer lost. */
static bool same_as(const result *r, const result *plain) {
  return r->status == plain->status && r->out_n == plain->out_n &&
         memcmp(r->out, plain->out, r->out_n) == 0;
}

#define MMV_BACK "mmv", "-v", "img-*-*.jpeg", "photo_#2_#1.JPG"

Test(attach, programs_exit_cleanly_every_time) {
  NEED("w3m");
  NEED("mmv");
  const char *page = doc_page();
  result w3m = run(ARGS("w3m", "-dump", page), NULL);
  expect_exit(&w3m, 0, "w3m");
  char plain_dir[PATH_MAX], gt_dir[PATH_MAX], probe[PATH_MAX];
  snprintf(plain_dir, sizeof plain_dir, "%s", path("plain"));
  snprintf(gt_dir, sizeof gt_dir, "%s", path("gt"));
  snprintf(probe, sizeof probe, "%s", path("gt/photo_1_7.JPG"));
  make_photos(plain_dir);
  make_photos(gt_dir);
  opts po = {.cwd = plain_dir}, go = {.cwd = gt_dir};
  result fwd = run(ARGS(MMV_ARGS), &po), back = run(ARGS(MMV_BACK), &po);
  expect_exit(&fwd, 0, "mmv");
  expect_exit(&back, 0, "mmv back");
  char opt[PATH_MAX + 16];
  snprintf(opt, sizeof opt, "log.path=%s", path("log.jsonl"));
  int bad = 0, runs = sanitized() ? 6 : 30; /* ASan: 1.5 s a run */
  char first[160] = "";
  for (int i = 0; i < 3 * runs; i++) {
    result r =
        i % 3 == 0
            ? gt_run(ARGS("-q", "-o", opt), ARGS("w3m", "-dump", page), NULL)
        : i % 3 == 1 ? gt_run(ARGS("-q", "-o", opt), ARGS(MMV_ARGS), &go)
                     : gt_run(ARGS("-q", "-o", opt), ARGS(MMV_BACK), &go);
    const result *want = i % 3 == 0 ? &w3m : i % 3 == 1 ? &fwd : &back;
    if (!same_as(&r, want) && !bad++) {
      char b[64];
      snprintf(first, sizeof first, "%s, run %d: %s, %zu of %zu bytes",
               i % 3 ? "mmv" : "w3m", i + 1, describe(r.status, b, sizeof b),
               r.out_n, want->out_n);
    }
    drop(&r);
    if (bad && i % 3 == 2 && !exists(probe))
      break; /* an mmv died half way: the directory is not as expected */
  }
  cr_expect_eq(bad, 0, "%d of %d runs under gt run went wrong; first: %s", bad,
               3 * runs, first);
  drop(&w3m), drop(&fwd), drop(&back);
}

/* Nobody reads gt run's stderr (`gt run -- prog 2>&1 | head`): gt run
 * dies of SIGPIPE while it prints the first summary (tools/run.c,
 * summaries()), before it removes that summary's file and its temporary
 * directory, which stay in $TMPDIR. gt_run() checks that none is left. */
Test(attach, no_temporary_directory_left_when_stderr_is_closed) {
  NEED("w3m");
  opts o = {.err_closed = true};
  result gt = gt_run(NO_ARGS,
                     ARGS("w3m", "-dump", GT_ATTACH_DATA_DIR "/page.html"), &o);
  char b[64];
  cr_log_info("gt run with its stderr closed: %s",
              describe(gt.status, b, sizeof b));
  drop(&gt);
}
