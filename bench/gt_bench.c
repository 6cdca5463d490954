/* gt-bench: runs workloads under modes, each (workload, mode, repetition) in
 * a fresh child process, interleaving modes (A B C A B C ...), and reports
 * medians, ratios to `plain` and to the raw mechanism each gt mode wraps,
 * and PASS/MISS for the targets of issue 5. Writes all runs and the summary
 * as JSON (--json FILE).
 *
 *   gt-bench [--quick] [--reps N] [--workloads a,b] [--modes x,y]
 *            [--depth D] [--thread-depth D] [--threads N] [--churn N]
 *            [--graph N] [--graph-size N] [--ring-cap N] [--ring-events N]
 *            [--e2e-n N] [--e2e-seed-n N]
 *            [--timeout S] [--json FILE] [--smoke]
 *   gt-bench --child WORKLOAD MODE REP [same parameters]   (internal)
 *
 * Exit status: 0 when every run succeeded (and, with --smoke, the gt modes
 * reported every allocated object); 1 otherwise. Targets missed are printed
 * as MISS and do not change the exit status: timing is not a test.
 *
 * Workload e2e (modes gt and seed) needs the loopback TLS mock of Infobip:
 * the driver makes a throw-away PKI (tests/servers/gen_certs.sh), starts
 * tests/servers/infobip_mock.py with /usr/bin/python3 on 127.0.0.1 (a free
 * port) for the whole invocation, hands its address, CA and record file to
 * the children in the environment (BENCH_E2E_*_ENV) and stops it at exit,
 * also on errors and SIGINT/SIGTERM. Without python3, the script or openssl
 * it skips e2e and says so.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef GC_THREADS
#define GC_THREADS
#endif
#include <gc/gc.h>

#include "bench.h"

extern char **environ;

const bench_mode bench_modes[] = {
    {"plain", NULL, 0},
    {"finalizer", NULL, 0},
    {"finalizer-no-order", NULL, 0},
    {"disclaim", NULL, 0},
    {"disclaim-tl", NULL, 0},
    {"gt", "disclaim", 1},
    {"gt-finalizer", "finalizer-no-order", 1},
    {"gt-watch", "finalizer-no-order", 1},
    {"gt-sample-alloc", "plain", 1},
};
const size_t bench_nmodes = sizeof bench_modes / sizeof bench_modes[0];
const char *const bench_workloads[] = {"trees",   "churn",    "graph",
                                       "threads", "pipeline", "e2e"};
const char *const bench_e2e_modes[] = {"seed", "gt"};
const size_t bench_ne2e_modes =
    sizeof bench_e2e_modes / sizeof bench_e2e_modes[0];
const size_t bench_nworkloads =
    sizeof bench_workloads / sizeof bench_workloads[0];

void bench_params_default(bench_params *p) {
  p->depth = 16;
  p->thread_depth = 14;
  p->nthreads = 2;
  p->churn_n = 5000000;
  p->graph_n = 2000000;
  p->graph_size = 65536;
  p->ring_cap = 65536;
  p->ring_events = 50000000;
  p->final_collections = 24;
  /* gt: ~1.2 s of allocation and counting, delivered at the 2 s token;
   * seed: ~0.25 s of POSTs on loopback. */
  p->e2e_n = 40000000;
  p->e2e_seed_n = 1000;
}

void bench_params_quick(bench_params *p) {
  bench_params_default(p);
  p->depth = 12;
  p->thread_depth = 10;
  p->churn_n = 200000;
  p->graph_n = 200000;
  p->graph_size = 16384;
  p->ring_events = 4000000;
  /* the same ~1 s wall as 2 M (the last message waits for the 1 s token) */
  p->e2e_n = 10000000;
  p->e2e_seed_n = 200;
}

/* ---- options --------------------------------------------------------------
 */

typedef struct opts {
  bench_params p;
  int reps;
  double timeout_s;
  const char *workloads; /* comma lists; NULL = all */
  const char *modes;
  const char *json;
  bool smoke;
  bool quick;
} opts;

static void usage(void) {
  fprintf(stderr,
          "usage: gt-bench [--quick] [--reps N] [--workloads a,b] "
          "[--modes x,y]\n"
          "  [--depth D] [--thread-depth D] [--threads N] [--churn N] "
          "[--graph N]\n"
          "  [--graph-size N] [--ring-cap N] [--ring-events N] "
          "[--final-collections N]\n"
          "  [--e2e-n N] [--e2e-seed-n N] [--timeout S] [--json FILE] "
          "[--smoke]\n"
          "workloads: trees churn graph threads pipeline e2e\n"
          "modes: plain finalizer finalizer-no-order disclaim disclaim-tl gt "
          "gt-finalizer gt-watch gt-sample-alloc; e2e: gt seed\n");
  exit(2);
}

static unsigned long long num(const char *s) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno || *end || end == s) usage();
  return v;
}

/* Parses argv from index i; returns the index of the first non-option. */
static int parse(opts *o, int argc, char **argv, int i) {
  for (; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (strcmp(a, name) == 0 && (v || (usage(), 0)) && ++i)
    if (strcmp(a, "--child") == 0) {
      break;
    } else if (strcmp(a, "--quick") == 0) {
      bench_params_quick(&o->p);
      o->quick = true;
    } else if (strcmp(a, "--smoke") == 0) {
      o->smoke = true;
    } else if (ARG("--reps")) {
      o->reps = (int)num(v);
    } else if (ARG("--workloads")) {
      o->workloads = v;
    } else if (ARG("--modes")) {
      o->modes = v;
    } else if (ARG("--depth")) {
      o->p.depth = (int)num(v);
    } else if (ARG("--thread-depth")) {
      o->p.thread_depth = (int)num(v);
    } else if (ARG("--threads")) {
      o->p.nthreads = (int)num(v);
    } else if (ARG("--churn")) {
      o->p.churn_n = num(v);
    } else if (ARG("--graph")) {
      o->p.graph_n = num(v);
    } else if (ARG("--graph-size")) {
      o->p.graph_size = num(v);
    } else if (ARG("--ring-cap")) {
      o->p.ring_cap = num(v);
    } else if (ARG("--ring-events")) {
      o->p.ring_events = num(v);
    } else if (ARG("--e2e-n")) {
      o->p.e2e_n = num(v);
    } else if (ARG("--e2e-seed-n")) {
      o->p.e2e_seed_n = num(v);
    } else if (ARG("--final-collections")) {
      o->p.final_collections = (int)num(v);
    } else if (ARG("--timeout")) {
      o->timeout_s = (double)num(v);
    } else if (ARG("--json")) {
      o->json = v;
    } else if (a[0] == '-') {
      usage();
    } else {
      break;
    }
#undef ARG
  }
  if (o->p.depth < 4 || o->p.depth > 24 || o->p.thread_depth < 4 ||
      o->p.thread_depth > 24 || o->reps < 1 || o->p.graph_size < 1 ||
      o->p.e2e_n < 1 || o->p.e2e_seed_n < 1)
    usage();
  return i;
}

static bool in_list(const char *list, const char *name) {
  if (!list) return true;
  size_t n = strlen(name);
  for (const char *s = list; *s;) {
    const char *e = strchr(s, ',');
    size_t len = e ? (size_t)(e - s) : strlen(s);
    if (len == n && strncmp(s, name, n) == 0) return true;
    if (!e) break;
    s = e + 1;
  }
  return false;
}

/* ---- children ---------------------------------------------------------------
 */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Runs one child and returns its JSON object (a failure object if it
 * crashed, timed out or printed no JSON). */
static json_t *run_child(const opts *o, const char *w, const char *m, int rep) {
  char b[12][32];
  char repbuf[16];
  snprintf(repbuf, sizeof repbuf, "%d", rep);
  snprintf(b[0], 32, "%d", o->p.depth);
  snprintf(b[1], 32, "%d", o->p.thread_depth);
  snprintf(b[2], 32, "%d", o->p.nthreads);
  snprintf(b[3], 32, "%llu", (unsigned long long)o->p.churn_n);
  snprintf(b[4], 32, "%llu", (unsigned long long)o->p.graph_n);
  snprintf(b[5], 32, "%llu", (unsigned long long)o->p.graph_size);
  snprintf(b[6], 32, "%llu", (unsigned long long)o->p.ring_cap);
  snprintf(b[7], 32, "%llu", (unsigned long long)o->p.ring_events);
  snprintf(b[8], 32, "%d", o->p.final_collections);
  snprintf(b[9], 32, "%llu", (unsigned long long)o->p.e2e_n);
  snprintf(b[10], 32, "%llu", (unsigned long long)o->p.e2e_seed_n);
  char *argv[] = {"gt-bench", "--depth",
                  b[0],       "--thread-depth",
                  b[1],       "--threads",
                  b[2],       "--churn",
                  b[3],       "--graph",
                  b[4],       "--graph-size",
                  b[5],       "--ring-cap",
                  b[6],       "--ring-events",
                  b[7],       "--final-collections",
                  b[8],       "--e2e-n",
                  b[9],       "--e2e-seed-n",
                  b[10],      "--child",
                  (char *)w,  (char *)m,
                  repbuf,     NULL};
  int fds[2];
  if (pipe(fds) != 0) {
    perror("pipe");
    exit(1);
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  posix_spawn_file_actions_addclose(&fa, fds[1]);
  pid_t pid;
  int rc = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (rc != 0) {
    fprintf(stderr, "posix_spawn: %s\n", strerror(rc));
    exit(1);
  }

  char *buf = NULL;
  size_t len = 0, cap = 0;
  bool timed_out = false;
  double deadline = now_s() + o->timeout_s;
  for (;;) {
    double left = deadline - now_s();
    if (left <= 0) {
      timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
    int pr = poll(&pfd, 1, (int)(left * 1000) + 1);
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) continue;
    if (len + 4096 > cap) {
      cap = cap ? cap * 2 : 8192;
      buf = realloc(buf, cap);
      if (!buf) exit(1);
    }
    ssize_t n = read(fds[0], buf + len, cap - len - 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += (size_t)n;
  }
  close(fds[0]);
  /* The child closes stdout after its result; give it until the deadline
   * to exit (gt_shutdown), then kill it. */
  int status = 0;
  bool hung = false;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (now_s() > deadline) {
      hung = !timed_out;
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
  }

  json_t *res = NULL;
  if (buf) {
    buf[len] = '\0';
    /* the last line that starts with '{' */
    char *line = NULL;
    for (char *s = buf; s && *s; s = strchr(s, '\n')) {
      if (*s == '\n') s++;
      if (*s == '{') line = s;
    }
    if (line) {
      char *nl = strchr(line, '\n');
      if (nl) *nl = '\0';
      json_error_t err;
      res = json_loads(line, 0, &err);
    }
  }
  free(buf);
  if (!res) {
    res = json_pack("{s:s,s:s,s:i,s:b}", "workload", w, "mode", m, "rep", rep,
                    "ok", 0);
  }
  if (timed_out) {
    json_object_set_new(res, "ok", json_false());
    json_object_set_new(res, "error", json_string("timeout"));
    json_object_set_new(res, "wall_s", json_real(o->timeout_s));
  } else if (hung) {
    /* the result stands; the exit did not happen */
    json_object_set_new(res, "error",
                        json_string("did not exit after its result "
                                    "(gt_shutdown?); killed"));
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    json_object_set_new(res, "ok", json_false());
    char e[64];
    if (WIFSIGNALED(status))
      snprintf(e, sizeof e, "killed by signal %d", WTERMSIG(status));
    else
      snprintf(e, sizeof e, "exit status %d", WEXITSTATUS(status));
    if (!json_object_get(res, "error"))
      json_object_set_new(res, "error", json_string(e));
  }
  return res;
}

/* ---- e2e: the loopback TLS mock of Infobip ------------------------------- */

#ifndef GT_BENCH_SOURCE_DIR
#define GT_BENCH_SOURCE_DIR "."
#endif
#define MOCK_PYTHON "/usr/bin/python3" /* Debian's, as the tests use */

static pid_t g_mock_pid;
static char g_mock_dir[256];

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  remove(path);
  return 0;
}

/* Stops the server (SIGTERM, then SIGKILL) and removes its directory. */
static void mock_stop(void) {
  if (g_mock_pid > 0) {
    kill(g_mock_pid, SIGTERM);
    int i = 0;
    for (; i < 250 && waitpid(g_mock_pid, NULL, WNOHANG) != g_mock_pid; i++)
      sleep_ms(20);
    if (i == 250) {
      kill(g_mock_pid, SIGKILL);
      waitpid(g_mock_pid, NULL, 0);
    }
    g_mock_pid = 0;
  }
  if (g_mock_dir[0]) {
    nftw(g_mock_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    g_mock_dir[0] = '\0';
  }
}

static void mock_on_signal(int sig) {
  if (g_mock_pid > 0) kill(g_mock_pid, SIGKILL); /* async-signal-safe */
  signal(sig, SIG_DFL);
  raise(sig);
}

static char *slurp_file(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  char *buf = calloc(1, 8193);
  size_t n = buf ? fread(buf, 1, 8192, f) : 0;
  (void)n;
  fclose(f);
  return buf;
}

/* Runs argv (stdout and stderr to log), returns its exit status or -1. */
static int run_wait(char *const argv[], const char *log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND,
                                   0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int st;
  if (waitpid(pid, &st, 0) != pid) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Starts the mock; on failure returns false with the reason in why. */
static bool mock_start(double lifetime_s, char *why, size_t whylen) {
  const char *src = GT_BENCH_SOURCE_DIR;
  char script[512], certs[512];
  snprintf(script, sizeof script, "%s/tests/servers/infobip_mock.py", src);
  snprintf(certs, sizeof certs, "%s/tests/servers/gen_certs.sh", src);
  if (access(MOCK_PYTHON, X_OK) != 0) {
    snprintf(why, whylen, "%s is missing", MOCK_PYTHON);
    return false;
  }
  if (access(script, R_OK) != 0 || access(certs, R_OK) != 0) {
    snprintf(why, whylen, "%s or gen_certs.sh is missing (source tree moved?)",
             script);
    return false;
  }
  const char *tmp = getenv("TMPDIR");
  snprintf(g_mock_dir, sizeof g_mock_dir, "%s/gt-bench-e2e-XXXXXX",
           tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(g_mock_dir)) {
    snprintf(why, whylen, "mkdtemp %s: %s", g_mock_dir, strerror(errno));
    g_mock_dir[0] = '\0';
    return false;
  }
  char pki[300], log[300], record[300], portf[300], spool[300], cert[320],
      key[320], ca[320], life[32];
  snprintf(pki, sizeof pki, "%s/pki", g_mock_dir);
  snprintf(log, sizeof log, "%s/server.log", g_mock_dir);
  snprintf(record, sizeof record, "%s/record.jsonl", g_mock_dir);
  snprintf(portf, sizeof portf, "%s/port", g_mock_dir);
  snprintf(spool, sizeof spool, "%s/spool", g_mock_dir);
  snprintf(cert, sizeof cert, "%s/server.pem", pki);
  snprintf(key, sizeof key, "%s/server.key", pki);
  snprintf(ca, sizeof ca, "%s/ca.pem", pki);
  snprintf(life, sizeof life, "%.0f", lifetime_s);
  mkdir(spool, 0700);
  char *gen[] = {"/bin/sh", certs, pki, NULL};
  if (run_wait(gen, log) != 0) {
    snprintf(why, whylen, "gen_certs.sh failed (openssl missing?)");
    mock_stop();
    return false;
  }
  /* --lifetime: the server exits by itself should this process die. */
  char *argv[] = {MOCK_PYTHON,  script,   "--port-file", portf,   "--record",
                  record,       "--cert", cert,          "--key", key,
                  "--lifetime", life,     NULL};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND,
                                   0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  int rc = posix_spawn(&g_mock_pid, MOCK_PYTHON, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    g_mock_pid = 0;
    snprintf(why, whylen, "cannot start %s: %s", MOCK_PYTHON, strerror(rc));
    mock_stop();
    return false;
  }
  int port = 0;
  for (int waited = 0; waited < 15000 && port <= 0; waited += 20) {
    char *p = slurp_file(portf);
    if (p) port = atoi(p);
    free(p);
    if (port > 0) break;
    if (waitpid(g_mock_pid, NULL, WNOHANG) == g_mock_pid) {
      g_mock_pid = 0;
      char *l = slurp_file(log);
      snprintf(why, whylen, "infobip_mock.py exited before listening: %s",
               l ? l : "");
      free(l);
      mock_stop();
      return false;
    }
    sleep_ms(20);
  }
  if (port <= 0) {
    snprintf(why, whylen, "infobip_mock.py did not listen within 15 s");
    mock_stop();
    return false;
  }
  char url[64];
  snprintf(url, sizeof url, "127.0.0.1:%d", port);
  setenv(BENCH_E2E_URL_ENV, url, 1);
  setenv(BENCH_E2E_CA_ENV, ca, 1);
  setenv(BENCH_E2E_RECORD_ENV, record, 1);
  setenv(BENCH_E2E_SPOOL_ENV, spool, 1);
  fprintf(stderr, "e2e: mock Infobip (TLS) on https://%s, pid %d\n", url,
          (int)g_mock_pid);
  return true;
}

/* ---- statistics -------------------------------------------------------------
 */

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, size_t n) {
  if (n == 0) return NAN;
  qsort(v, n, sizeof *v, cmp_d);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double num_field(json_t *run, const char *key) {
  json_t *v = json_object_get(run, key);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

static bool run_ok(json_t *run) {
  return json_is_true(json_object_get(run, "ok"));
}

/* Median of `key` over the ok runs of (w, m). */
static double med(json_t *runs, const char *w, const char *m, const char *key,
                  size_t *nok) {
  double v[256];
  size_t n = 0, i;
  json_t *r;
  json_array_foreach(runs, i, r) {
    if (strcmp(json_string_value(json_object_get(r, "workload")), w) ||
        strcmp(json_string_value(json_object_get(r, "mode")), m) ||
        !run_ok(r) || n == 256)
      continue;
    double x = num_field(r, key);
    if (!isnan(x)) v[n++] = x;
  }
  if (nok) *nok = n;
  return median(v, n);
}

static json_t *find_run(json_t *runs, const char *w, const char *m, int rep) {
  size_t i;
  json_t *r;
  json_array_foreach(runs, i, r) {
    if (!strcmp(json_string_value(json_object_get(r, "workload")), w) &&
        !strcmp(json_string_value(json_object_get(r, "mode")), m) &&
        json_integer_value(json_object_get(r, "rep")) == rep)
      return r;
  }
  return NULL;
}

/* Median over repetitions of the paired ratio key(m)/key(base) within the
 * same round of the interleaving; runs of `m` that timed out count as the
 * timeout (a lower bound). */
static double paired_ratio(json_t *runs, const char *w, const char *m,
                           const char *base, const char *key, int reps) {
  double v[256];
  size_t n = 0;
  for (int rep = 0; rep < reps && n < 256; rep++) {
    json_t *a = find_run(runs, w, m, rep), *b = find_run(runs, w, base, rep);
    if (!a || !b || !run_ok(b)) continue;
    if (!run_ok(a) && !json_object_get(a, "error")) continue;
    if (!run_ok(a) &&
        strcmp(json_string_value(json_object_get(a, "error")), "timeout"))
      continue;
    double x = num_field(a, key), y = num_field(b, key);
    if (!isnan(x) && !isnan(y) && y > 0) v[n++] = x / y;
  }
  return median(v, n);
}

/* ---- report -----------------------------------------------------------------
 */

static const char *mode_raw(const char *m) {
  for (size_t i = 0; i < bench_nmodes; i++)
    if (!strcmp(bench_modes[i].name, m)) return bench_modes[i].raw;
  return NULL;
}

static void machine_info(json_t *root) {
  json_t *mi = json_object();
  json_object_set_new(mi, "nproc", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[512];
  while (f && fgets(line, sizeof line, f)) {
    if (!strncmp(line, "model name", 10)) {
      char *c = strchr(line, ':');
      if (c) {
        c += 2;
        c[strcspn(c, "\n")] = '\0';
        json_object_set_new(mi, "cpu", json_string(c));
      }
      break;
    }
  }
  if (f) fclose(f);
  struct utsname u;
  if (uname(&u) == 0) {
    char k[400];
    snprintf(k, sizeof k, "%s %s %s", u.sysname, u.release, u.machine);
    json_object_set_new(mi, "kernel", json_string(k));
  }
  unsigned v = GC_get_version();
  char gv[32];
  snprintf(gv, sizeof gv, "%u.%u.%u", v >> 16, (v >> 8) & 0xff, v & 0xff);
  json_object_set_new(mi, "bdwgc", json_string(gv));
  time_t t = time(NULL);
  char ts[64];
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
  json_object_set_new(mi, "date", json_string(ts));
  json_object_set_new(root, "machine", mi);
}

static const char *workload_desc(const opts *o, const char *w, char *buf,
                                 size_t n) {
  const bench_params *p = &o->p;
  if (!strcmp(w, "trees"))
    snprintf(buf, n, "D=%d", p->depth);
  else if (!strcmp(w, "threads"))
    snprintf(buf, n, "%d threads x trees D=%d", p->nthreads, p->thread_depth);
  else if (!strcmp(w, "churn"))
    snprintf(buf, n, "%llu x 32 B, half pointer-free",
             (unsigned long long)p->churn_n);
  else if (!strcmp(w, "graph"))
    snprintf(buf, n, "%llu nodes in graphs of %llu, 3 random edges",
             (unsigned long long)p->graph_n, (unsigned long long)p->graph_size);
  else if (!strcmp(w, "e2e"))
    snprintf(buf, n,
             "gt: %llu objects -> batches -> sms at %d/min; seed: %llu "
             "objects, one HTTPS POST each; TLS mock on 127.0.0.1",
             (unsigned long long)p->e2e_n, BENCH_E2E_RATE,
             (unsigned long long)p->e2e_seed_n);
  else
    snprintf(buf, n, "ring of %llu events, %llu events",
             (unsigned long long)p->ring_cap,
             (unsigned long long)p->ring_events);
  return buf;
}

typedef struct target {
  const char *name;
  double value, limit;
  bool upper; /* value must be <= limit (else >=) */
} target;

int main(int argc, char **argv) {
  opts o = {.reps = 3, .timeout_s = 150};
  bench_params_default(&o.p);
  int i = parse(&o, argc, argv, 1);
  if (i < argc && !strcmp(argv[i], "--child")) {
    if (argc - i < 4) usage();
    return bench_child(argv[i + 1], argv[i + 2], atoi(argv[i + 3]), &o.p);
  }
  if (i != argc) usage();

  /* Validate the lists: every name must be known. */
  for (const char *s = o.workloads; s && *s;) {
    size_t len = strcspn(s, ",");
    bool known = false;
    for (size_t k = 0; k < bench_nworkloads; k++)
      known |= strlen(bench_workloads[k]) == len &&
               !strncmp(bench_workloads[k], s, len);
    if (!known) usage();
    s += len + (s[len] == ',');
  }
  for (const char *s = o.modes; s && *s;) {
    size_t len = strcspn(s, ",");
    bool known = false;
    for (size_t k = 0; k < bench_nmodes; k++)
      known |= strlen(bench_modes[k].name) == len &&
               !strncmp(bench_modes[k].name, s, len);
    for (size_t k = 0; k < bench_ne2e_modes; k++)
      known |= strlen(bench_e2e_modes[k]) == len &&
               !strncmp(bench_e2e_modes[k], s, len);
    if (!known) usage();
    s += len + (s[len] == ',');
  }
  json_t *root = json_object();
  machine_info(root);
  json_t *params = json_pack(
      "{s:i,s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:i,s:i,s:b,s:I,s:I,s:i}", "depth",
      o.p.depth, "thread_depth", o.p.thread_depth, "threads", o.p.nthreads,
      "churn_n", (json_int_t)o.p.churn_n, "graph_n", (json_int_t)o.p.graph_n,
      "graph_size", (json_int_t)o.p.graph_size, "ring_cap",
      (json_int_t)o.p.ring_cap, "ring_events", (json_int_t)o.p.ring_events,
      "final_collections", o.p.final_collections, "reps", o.reps, "quick",
      o.quick, "e2e_n", (json_int_t)o.p.e2e_n, "e2e_seed_n",
      (json_int_t)o.p.e2e_seed_n, "e2e_rate_per_minute", BENCH_E2E_RATE);
  json_object_set_new(root, "params", params);
  json_t *runs = json_array();
  json_object_set(root, "runs", runs);

  /* e2e: the mock server is started when e2e's turn comes (last). */
  const char *e2e_skip = NULL;
  char e2e_why[1024] = "";
  bool e2e_any = false;
  for (size_t k = 0; k < bench_ne2e_modes; k++)
    e2e_any |= in_list(o.modes, bench_e2e_modes[k]);

  const char *ring_mode[] = {"ring"};
  int failures = 0;
  double t_start = now_s();
  for (size_t wi = 0; wi < bench_nworkloads; wi++) {
    const char *w = bench_workloads[wi];
    if (!in_list(o.workloads, w)) continue;
    bool pipe_w = !strcmp(w, "pipeline"), e2e_w = !strcmp(w, "e2e");
    if (e2e_w && !e2e_any) continue;
    if (e2e_w) {
      atexit(mock_stop); /* usage() and the exit(1) paths too */
      signal(SIGINT, mock_on_signal);
      signal(SIGTERM, mock_on_signal);
      signal(SIGHUP, mock_on_signal);
      /* the lifetime only bounds a server this process failed to stop */
      double life = o.reps * (double)bench_ne2e_modes * o.timeout_s + 300;
      if (!mock_start(life, e2e_why, sizeof e2e_why)) {
        e2e_skip = e2e_why;
        fprintf(stderr,
                "\n*** e2e SKIPPED: %s ***\n*** (needs %s, openssl and "
                "tests/servers/ of the source tree) ***\n\n",
                e2e_skip, MOCK_PYTHON);
        json_object_set_new(root, "e2e_skipped", json_string(e2e_skip));
        continue;
      }
    }
    for (int rep = 0; rep < o.reps; rep++) {
      size_t nm = pipe_w ? 1 : e2e_w ? bench_ne2e_modes : bench_nmodes;
      for (size_t mi = 0; mi < nm; mi++) {
        const char *m = pipe_w  ? ring_mode[0]
                        : e2e_w ? bench_e2e_modes[mi]
                                : bench_modes[mi].name;
        if (!pipe_w && !in_list(o.modes, m)) continue;
        json_t *r = run_child(&o, w, m, rep);
        bool ok = run_ok(r);
        if (!ok) failures++;
        fprintf(stderr, "[%6.1fs] %-8s %-18s rep %d: %8.3f s%s%s\n",
                now_s() - t_start, w, m, rep, num_field(r, "wall_s"),
                ok ? "" : "  FAILED: ",
                ok ? ""
                   : (json_string_value(json_object_get(r, "error"))
                          ? json_string_value(json_object_get(r, "error"))
                          : "no result"));
        json_array_append_new(runs, r);
      }
    }
    if (e2e_w) mock_stop();
  }

  /* ---- summary table ---- */
  json_t *summary = json_array();
  char desc[160];
  for (size_t wi = 0; wi < bench_nworkloads; wi++) {
    const char *w = bench_workloads[wi];
    if (!in_list(o.workloads, w)) continue;
    printf("\n== %s (%s), median of %d ==\n", w,
           workload_desc(&o, w, desc, sizeof desc), o.reps);
    if (!strcmp(w, "e2e")) {
      if (e2e_skip || !e2e_any) {
        printf("SKIPPED: %s\n", e2e_skip ? e2e_skip : "no e2e mode selected");
        continue;
      }
      printf("%-6s %8s %9s %10s %10s %10s %7s %8s %7s %10s %10s %6s\n", "mode",
             "wall s", "counted s", "objects", "collected", "in SMS", "POSTs",
             "messages", "allowed", "obj/s", "counted/s", "exact");
      for (size_t mi = 0; mi < bench_ne2e_modes; mi++) {
        const char *m = bench_e2e_modes[mi];
        if (!in_list(o.modes, m)) continue;
        size_t n, nexact = 0, nruns = 0, ri2;
        json_t *r2;
        json_array_foreach(runs, ri2, r2) {
          if (strcmp(json_string_value(json_object_get(r2, "workload")), w) ||
              strcmp(json_string_value(json_object_get(r2, "mode")), m))
            continue;
          nruns++;
          nexact += json_is_true(json_object_get(r2, "exact"));
        }
        double wall = med(runs, w, m, "wall_s", &n);
        double counted = med(runs, w, m, "reported_s", NULL);
        double alloc = med(runs, w, m, "allocated", NULL);
        double rep_all = med(runs, w, m, "reported", NULL);
        double in_sms = med(runs, w, m, "mock_objects", NULL);
        double posts = med(runs, w, m, "mock_posts", NULL);
        double msgs = med(runs, w, m, "messages", NULL);
        double allow = med(runs, w, m, "rate_allowance", NULL);
        double ops = med(runs, w, m, "objects_per_s", NULL);
        double ops_c = med(runs, w, m, "objects_per_s_reported", NULL);
        bool gtm = !strcmp(m, "gt");
        char allow_s[32] = "-";
        if (gtm) snprintf(allow_s, sizeof allow_s, "%.1f", allow);
        printf("%-6s %8.3f %9.3f %10.0f %10.0f %10.0f %7.0f %8.0f %7s "
               "%10.0f %10.0f %3zu/%zu%s\n",
               m, wall, counted, alloc, rep_all, in_sms, posts, msgs, allow_s,
               ops, ops_c, nexact, nruns,
               n < nruns ? "  (some runs failed)" : "");
        /* NaN (no ok run; seed has no allowance) is not JSON: null */
        json_t *sj =
            json_pack("{s:s,s:s,s:I,s:I}", "workload", w, "mode", m, "runs_ok",
                      (json_int_t)n, "runs_exact", (json_int_t)nexact);
        const char *keys[] = {
            "wall_s",        "reported_s",    "allocated",
            "reported",      "mock_objects",  "mock_posts",
            "messages",      "objects_per_s", "objects_per_s_reported",
            "rate_allowance"};
        double vals[] = {wall,  counted, alloc, rep_all, in_sms,
                         posts, msgs,    ops,   ops_c,   gtm ? allow : NAN};
        for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++)
          json_object_set_new(
              sj, keys[k], isnan(vals[k]) ? json_null() : json_real(vals[k]));
        json_array_append_new(summary, sj);
      }
      printf("wall: first allocation to the mock having recorded SMS texts "
             "whose counts add up to every object (gt: the last, merged "
             "batch waits for a token of the %d/min bucket);\n"
             "counted s: to every object collected and counted (gt_collect + "
             "gt_flush; seed: its finalizers, i.e. its POSTs, done); "
             "obj/s = objects / wall, counted/s = objects / counted s;\n"
             "allowed: messages the bucket allows "
             "(%d + %d/min x time since gt_init).\n",
             BENCH_E2E_RATE, BENCH_E2E_RATE, BENCH_E2E_RATE);
      continue;
    }
    if (!strcmp(w, "pipeline")) {
      size_t n;
      double push = med(runs, w, "ring", "push_ns", &n);
      double pop = med(runs, w, "ring", "pop_ns", NULL);
      double drain = med(runs, w, "ring", "drain_events_per_s", NULL);
      double conc = med(runs, w, "ring", "concurrent_events_per_s", NULL);
      double rb = med(runs, w, "ring", "ring_bytes", NULL);
      double growth =
          med(runs, w, "ring", "rss_growth_after_first_round_kb", NULL);
      double growth2 = med(runs, w, "ring", "rss_growth_concurrent_kb", NULL);
      printf("push %.2f ns/event, pop %.2f ns/event, drain %.1f M events/s, "
             "producer+consumer threads %.1f M events/s\n"
             "ring %.0f KiB; RSS growth over the fill/drain rounds after the "
             "first %.0f KiB (memory fixed by the ring size: %s); "
             "during the 2-thread phase %.0f KiB (thread stack)\n",
             push, pop, drain / 1e6, conc / 1e6, rb / 1024, growth,
             growth <= 64 ? "yes" : "no", growth2);
      json_array_append_new(
          summary,
          json_pack("{s:s,s:s,s:I,s:f,s:f,s:f,s:f,s:f,s:f}", "workload", w,
                    "mode", "ring", "runs_ok", (json_int_t)n, "push_ns", push,
                    "pop_ns", pop, "drain_events_per_s", drain,
                    "concurrent_events_per_s", conc, "ring_bytes", rb,
                    "rss_growth_after_first_round_kb", growth));
      continue;
    }
    printf("%-19s %8s %8s %8s %7s %8s %8s %8s %5s %11s %7s %7s %8s %7s\n",
           "mode", "wall s", "x plain", "x raw", "cpu s", "x plain", "heap MB",
           "x plain", "RSS", "allocated", "run %", "final%", "messages",
           "Mobj/s");
    double heap_plain = med(runs, w, "plain", "heap_peak_bytes", NULL);
    for (size_t mi = 0; mi < bench_nmodes; mi++) {
      const char *m = bench_modes[mi].name;
      if (!in_list(o.modes, m)) continue;
      size_t n;
      double wall = med(runs, w, m, "wall_s", &n);
      double cpu = med(runs, w, m, "cpu_s", NULL);
      double heap = med(runs, w, m, "heap_peak_bytes", NULL);
      double rss = med(runs, w, m, "maxrss_kb", NULL);
      double alloc = med(runs, w, m, "allocated", NULL);
      double tracked = med(runs, w, m, "tracked", NULL);
      double in_run = med(runs, w, m, "reported_in_run", NULL);
      double rep_all = med(runs, w, m, "reported", NULL);
      double msgs = med(runs, w, m, "messages", NULL);
      double gcs = med(runs, w, m, "gc_count", NULL);
      double fcoll = med(runs, w, m, "final_collections", NULL);
      double r_plain = paired_ratio(runs, w, m, "plain", "wall_s", o.reps);
      double r_cpu = paired_ratio(runs, w, m, "plain", "cpu_s", o.reps);
      const char *raw = mode_raw(m);
      double r_raw = raw && in_list(o.modes, raw)
                         ? paired_ratio(runs, w, m, raw, "wall_s", o.reps)
                         : NAN;
      double r_heap = heap / heap_plain;
      bool notif = strcmp(m, "plain") != 0;
      double denom = tracked > 0 ? tracked : alloc;
      printf("%-19s %8.3f %8.2f %8.2f %7.3f %8.2f %8.1f %8.2f %5.0f %11.0f "
             "%7.2f %7.2f %8.0f %7.2f%s\n",
             m, wall, r_plain, r_raw, cpu, r_cpu, heap / 1048576.0, r_heap,
             rss / 1024, alloc, notif ? 100.0 * in_run / denom : NAN,
             notif ? 100.0 * rep_all / denom : NAN, msgs, alloc / wall / 1e6,
             n < (size_t)o.reps ? "  (some runs failed)" : "");
      json_t *s = json_pack(
          "{s:s,s:s,s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,"
          "s:f}",
          "workload", w, "mode", m, "runs_ok", (json_int_t)n, "wall_s", wall,
          "cpu_s", cpu, "heap_peak_bytes", heap, "maxrss_kb", rss, "gc_count",
          gcs, "allocated", alloc, "reported_in_run", in_run, "reported",
          rep_all, "final_collections", fcoll, "messages", msgs, "ratio_plain",
          r_plain, "ratio_plain_cpu", r_cpu, "ratio_heap_plain", r_heap,
          "objects_per_s", alloc / wall);
      if (raw) {
        json_object_set_new(s, "raw", json_string(raw));
        json_object_set_new(s, "ratio_raw",
                            isnan(r_raw) ? json_null() : json_real(r_raw));
      }
      /* NaN is not JSON: replace by null */
      const char *k;
      json_t *v;
      json_object_foreach(s, k, v) {
        if (json_is_real(v) && isnan(json_real_value(v)))
          json_object_set_new(s, k, json_null());
      }
      json_array_append_new(summary, s);
    }
    printf("x raw: gt vs disclaim; gt-finalizer, gt-watch vs "
           "finalizer-no-order; gt-sample-alloc vs plain.\n"
           "run %%: objects reported by the end of the timed run; final%%: "
           "after forced collections; both of the objects tracked\n"
           "(gt-sample-alloc: 1 in 1000).\n");
  }
  json_object_set_new(root, "summary", summary);

  /* ---- targets ---- */
  target t[16];
  size_t nt = 0;
  if (in_list(o.workloads, "trees")) {
    t[nt++] =
        (target){"trees: gt <= 1.3x plain (time)",
                 paired_ratio(runs, "trees", "gt", "plain", "wall_s", o.reps),
                 1.3, true};
    t[nt++] = (target){"trees: gt-finalizer <= 1.10x finalizer-no-order",
                       paired_ratio(runs, "trees", "gt-finalizer",
                                    "finalizer-no-order", "wall_s", o.reps),
                       1.10, true};
    t[nt++] = (target){"trees: gt-watch <= 1.10x finalizer-no-order",
                       paired_ratio(runs, "trees", "gt-watch",
                                    "finalizer-no-order", "wall_s", o.reps),
                       1.10, true};
    t[nt++] = (target){"trees: gt peak heap <= 1.2x plain",
                       med(runs, "trees", "gt", "heap_peak_bytes", NULL) /
                           med(runs, "trees", "plain", "heap_peak_bytes", NULL),
                       1.2, true};
  }
  if (in_list(o.workloads, "pipeline")) {
    t[nt++] =
        (target){"pipeline: push <= 20 ns/event",
                 med(runs, "pipeline", "ring", "push_ns", NULL), 20, true};
    t[nt++] = (target){
        "pipeline: drain >= 20 M events/s",
        med(runs, "pipeline", "ring", "drain_events_per_s", NULL) / 1e6, 20,
        false};
  }
  if (in_list(o.workloads, "e2e") && !e2e_skip && e2e_any) {
    size_t nexact = 0, nruns = 0, ri2;
    double worst = NAN;
    json_t *r2;
    json_array_foreach(runs, ri2, r2) {
      if (strcmp(json_string_value(json_object_get(r2, "workload")), "e2e") ||
          strcmp(json_string_value(json_object_get(r2, "mode")), "gt"))
        continue;
      nruns++;
      nexact += json_is_true(json_object_get(r2, "exact"));
      double q = num_field(r2, "messages") / num_field(r2, "rate_allowance");
      if (!isnan(q) && (isnan(worst) || q > worst)) worst = q;
    }
    if (nruns) {
      t[nt++] = (target){"e2e: gt runs with exact counts (fraction)",
                         (double)nexact / (double)nruns, 1, false};
      t[nt++] = (target){"e2e: gt >= 1 M objects/s, collected+delivered",
                         med(runs, "e2e", "gt", "objects_per_s", NULL) / 1e6, 1,
                         false};
      t[nt++] = (target){"e2e: gt messages / rate allowance (worst run)", worst,
                         1, true};
    }
    if (nruns && in_list(o.modes, "seed"))
      t[nt++] = (target){
          "e2e: gt objects/s >= 1000x seed",
          paired_ratio(runs, "e2e", "gt", "seed", "objects_per_s", o.reps),
          1000, false};
  }
  printf("\n== targets ==\n");
  json_t *jt = json_array();
  for (size_t k = 0; k < nt; k++) {
    const char *verdict =
        isnan(t[k].value) ? "N/A"
        : (t[k].upper ? t[k].value <= t[k].limit : t[k].value >= t[k].limit)
            ? "PASS"
            : "MISS";
    printf("%-4s %-50s %8.3f (limit %g)\n", verdict, t[k].name, t[k].value,
           t[k].limit);
    json_array_append_new(
        jt, json_pack("{s:s,s:o,s:f,s:s}", "target", t[k].name, "value",
                      isnan(t[k].value) ? json_null() : json_real(t[k].value),
                      "limit", t[k].limit, "verdict", verdict));
  }
  json_object_set_new(root, "targets", jt);

  /* ---- exact counts: every gt object reported after gt_collect ---- */
  int smoke_fail = 0;
  size_t ri;
  json_t *r;
  printf("\n== counts (gt modes: reported after gt_collect vs allocated) ==\n");
  json_array_foreach(runs, ri, r) {
    const char *m = json_string_value(json_object_get(r, "mode"));
    if (strcmp(m, "gt") && strcmp(m, "gt-finalizer") && strcmp(m, "gt-watch"))
      continue;
    double a = num_field(r, "allocated"), rep = num_field(r, "reported");
    double first = num_field(r, "reported_after_1_collect");
    bool exact = run_ok(r) && a == rep;
    if (!exact) {
      printf("%-8s %-13s rep %lld: allocated %.0f, reported %.0f (%.0f after "
             "the first gt_collect)%s\n",
             json_string_value(json_object_get(r, "workload")), m,
             (long long)json_integer_value(json_object_get(r, "rep")), a, rep,
             first, run_ok(r) ? "" : " FAILED");
      /* a handful may stay reachable from stale stack words (conservative
       * scanning); more than 0.1% is a failure */
      if (!run_ok(r) || isnan(rep) || rep < a * 0.999 || rep > a) smoke_fail++;
    }
  }
  if (!smoke_fail) printf("all gt runs within 0.1%% of exact\n");

  if (o.json) {
    if (json_dump_file(root, o.json, JSON_INDENT(1) | JSON_REAL_PRECISION(6)))
      fprintf(stderr, "cannot write %s\n", o.json);
    else
      fprintf(stderr, "wrote %s\n", o.json);
  }
  json_decref(runs);
  json_decref(root);
  fprintf(stderr, "total %.1f s, %d failed run(s)\n", now_s() - t_start,
          failures);
  if (failures) return 1;
  if (o.smoke && smoke_fail) return 1;
  return 0;
}
