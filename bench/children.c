/* gt-bench driver: running the children. Every (workload, mode, repetition)
 * runs in a fresh process (posix_spawn of this program with --child):
 * gt_init runs once per process and bdwgc state persists. Modes are
 * interleaved (all modes of rep 0, then all of rep 1, ...) so that a noisy
 * moment of a shared machine hits every mode of a round alike. A child that
 * outlives --timeout is killed; one that prints no JSON counts as failed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "driver.h"

extern char **environ;

/* The child's argv: every parameter, then --child W M REP. */
typedef struct child_argv {
  char val[BP_COUNT][24];
  char rep[16];
  char *argv[2 * BP_COUNT + 6];
} child_argv;

static void make_argv(child_argv *a, const bench_opts *o, const char *w,
                      const char *m, int rep) {
  int n = 0;
  a->argv[n++] = "gt-bench";
  for (int k = 0; k < BP_COUNT; k++) {
    snprintf(a->val[k], sizeof a->val[k], "%llu",
             (unsigned long long)bench_param_get(&o->p, k));
    a->argv[n++] = (char *)bench_param_list[k].option;
    a->argv[n++] = a->val[k];
  }
  snprintf(a->rep, sizeof a->rep, "%d", rep);
  a->argv[n++] = "--child";
  a->argv[n++] = (char *)w;
  a->argv[n++] = (char *)m;
  a->argv[n++] = a->rep;
  a->argv[n] = NULL;
}

/* Starts the child with its stdout on a pipe; returns the read end. */
static int spawn_child(char **argv, pid_t *pid) {
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
  int rc = posix_spawn(pid, "/proc/self/exe", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (rc != 0) {
    fprintf(stderr, "posix_spawn: %s\n", strerror(rc));
    exit(1);
  }
  return fds[0];
}

/* Reads the child's stdout until it closes or the deadline passes (then
 * kills it and sets *timed_out). Returns a NUL-terminated buffer or NULL. */
static char *read_output(int fd, pid_t pid, double deadline, bool *timed_out) {
  char *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    double left = deadline - bench_now_s();
    if (left <= 0) {
      *timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, (int)(left * 1000) + 1) <= 0) continue;
    if (len + 4096 > cap) {
      cap = cap ? cap * 2 : 8192;
      buf = realloc(buf, cap);
      if (!buf) exit(1);
    }
    ssize_t n = read(fd, buf + len, cap - len - 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += (size_t)n;
  }
  close(fd);
  if (buf) buf[len] = '\0';
  return buf;
}

/* The child closes stdout after its result; it gets until the deadline to
 * exit (gt_shutdown), then it is killed. Returns true if it had to be. */
static bool reap(pid_t pid, double deadline, int *status) {
  while (waitpid(pid, status, WNOHANG) == 0) {
    if (bench_now_s() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, status, 0);
      return true;
    }
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
  }
  return false;
}

/* The last line that starts with '{', parsed; NULL if none parses. */
static json_t *parse_result(char *buf) {
  char *line = NULL;
  for (char *s = buf; s && *s; s = strchr(s, '\n')) {
    if (*s == '\n') s++;
    if (*s == '{') line = s;
  }
  if (!line) return NULL;
  char *nl = strchr(line, '\n');
  if (nl) *nl = '\0';
  return json_loads(line, 0, NULL);
}

static void mark_exit(json_t *res, int status) {
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  json_object_set_new(res, "ok", json_false());
  char e[64];
  if (WIFSIGNALED(status))
    snprintf(e, sizeof e, "killed by signal %d", WTERMSIG(status));
  else
    snprintf(e, sizeof e, "exit status %d", WEXITSTATUS(status));
  if (!json_object_get(res, "error"))
    json_object_set_new(res, "error", json_string(e));
}

/* Runs one child and returns its JSON object (a failure object if it
 * crashed, timed out or printed no JSON). */
json_t *bench_run_child(const bench_opts *o, int wl, int mode, int rep) {
  const char *w = bench_workloads[wl].name, *m = bench_modes[mode].name;
  child_argv a;
  make_argv(&a, o, w, m, rep);
  pid_t pid;
  int fd = spawn_child(a.argv, &pid);
  double deadline = bench_now_s() + o->timeout_s;
  bool timed_out = false;
  char *buf = read_output(fd, pid, deadline, &timed_out);
  int status = 0;
  bool hung = reap(pid, deadline, &status) && !timed_out;
  json_t *res = buf ? parse_result(buf) : NULL;
  free(buf);
  if (!res)
    res = json_pack("{s:s,s:s,s:i,s:b}", "workload", w, "mode", m, "rep", rep,
                    "ok", 0);
  if (timed_out) {
    json_object_set_new(res, "ok", json_false());
    json_object_set_new(res, "error", json_string("timeout"));
    json_object_set_new(res, "wall_s", json_real(o->timeout_s));
  } else if (hung) { /* the result stands; the exit did not happen */
    json_object_set_new(res, "error",
                        json_string("did not exit after its result "
                                    "(gt_shutdown?); killed"));
  } else {
    mark_exit(res, status);
  }
  return res;
}

static void log_run(const bench_ctx *c, const char *w, const char *m, int rep,
                    json_t *r) {
  bool ok = bench_run_ok(r);
  const char *err = json_string_value(json_object_get(r, "error"));
  fprintf(stderr, "[%6.1fs] %-8s %-18s rep %d: %8.3f s%s%s\n",
          bench_now_s() - c->t_start, w, m, rep, bench_num(r, "wall_s"),
          ok ? "" : "  FAILED: ",
          ok    ? ""
          : err ? err
                : "no result");
}

/* All selected modes of one workload, rep after rep. */
static void run_workload(bench_ctx *c, int wl) {
  bench_family f = bench_workloads[wl].family;
  for (int rep = 0; rep < c->o->reps; rep++) {
    for (int m = 0; m < BM_COUNT; m++) {
      if (bench_modes[m].family != f || !bench_mode_selected(c->o, m)) continue;
      json_t *r = bench_run_child(c->o, wl, m, rep);
      if (!bench_run_ok(r)) c->failures++;
      log_run(c, bench_workloads[wl].name, bench_modes[m].name, rep, r);
      json_array_append_new(c->runs, r);
    }
  }
}

/* e2e needs the mock, started when e2e's turn comes (last); without it
 * e2e is skipped and says why. */
static bool e2e_begin(bench_ctx *c) {
  bench_mock_on_exit();
  /* the lifetime only bounds a server this process failed to stop */
  int nmodes = 0;
  for (int m = 0; m < BM_COUNT; m++)
    nmodes += bench_modes[m].family == BENCH_E2E;
  double life = c->o->reps * (double)nmodes * c->o->timeout_s + 300;
  if (bench_mock_start(life, c->e2e_why, sizeof c->e2e_why)) return true;
  c->e2e_skip = c->e2e_why;
  fprintf(stderr,
          "\n*** e2e SKIPPED: %s ***\n*** (needs %s, openssl and "
          "tests/servers/ of the source tree) ***\n\n",
          c->e2e_skip, BENCH_MOCK_PYTHON);
  json_object_set_new(c->root, "e2e_skipped", json_string(c->e2e_skip));
  return false;
}

void bench_run_all(bench_ctx *c) {
  for (int wl = 0; wl < BW_COUNT; wl++) {
    bench_family f = bench_workloads[wl].family;
    if (!bench_workload_selected(c->o, wl) || !bench_family_selected(c->o, f))
      continue;
    if (f == BENCH_E2E && !e2e_begin(c)) continue;
    run_workload(c, wl);
    if (f == BENCH_E2E) bench_mock_stop();
  }
}
