/* gt-bench driver: the e2e workload's loopback TLS mock of Infobip. It makes
 * a throw-away PKI in a temp dir (tests/servers/gen_certs.sh), starts
 * tests/servers/infobip_mock.py with /usr/bin/python3 on 127.0.0.1 (a free
 * port), hands its address, CA and record file to the children in the
 * environment (BENCH_E2E_*_ENV), and stops it after the e2e runs, at exit
 * and on SIGINT, SIGTERM and SIGHUP. The server's --lifetime bounds it
 * should this process die without stopping it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "driver.h"

#ifndef GT_BENCH_SOURCE_DIR
#define GT_BENCH_SOURCE_DIR "."
#endif

extern char **environ;

static pid_t g_mock_pid;
static char g_mock_dir[256];

/* The files of one server, all under g_mock_dir. */
typedef struct mock_files {
  char pki[300], log[300], record[300], port[300], spool[300];
  char cert[320], key[320], ca[320];
} mock_files;

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
void bench_mock_stop(void) {
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

void bench_mock_on_exit(void) {
  static bool done;
  if (done) return;
  done = true;
  atexit(bench_mock_stop); /* usage() and the exit(1) paths too */
  signal(SIGINT, mock_on_signal);
  signal(SIGTERM, mock_on_signal);
  signal(SIGHUP, mock_on_signal);
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

/* Starts argv with stdin from /dev/null, stdout and stderr to log. */
static int spawn_logged(pid_t *pid, char *const argv[], const char *log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND,
                                   0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  int rc = posix_spawn(pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc;
}

/* Runs argv to its end; returns its exit status or -1. */
static int run_wait(char *const argv[], const char *log) {
  pid_t pid;
  int st;
  if (spawn_logged(&pid, argv, log) != 0) return -1;
  if (waitpid(pid, &st, 0) != pid) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Checks the tools, makes the temp dir and names the files in it. */
static bool prepare(mock_files *f, const char *script, const char *certs,
                    char *why, size_t whylen) {
  if (access(BENCH_MOCK_PYTHON, X_OK) != 0) {
    snprintf(why, whylen, "%s is missing", BENCH_MOCK_PYTHON);
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
  snprintf(f->pki, sizeof f->pki, "%s/pki", g_mock_dir);
  snprintf(f->log, sizeof f->log, "%s/server.log", g_mock_dir);
  snprintf(f->record, sizeof f->record, "%s/record.jsonl", g_mock_dir);
  snprintf(f->port, sizeof f->port, "%s/port", g_mock_dir);
  snprintf(f->spool, sizeof f->spool, "%s/spool", g_mock_dir);
  snprintf(f->cert, sizeof f->cert, "%s/server.pem", f->pki);
  snprintf(f->key, sizeof f->key, "%s/server.key", f->pki);
  snprintf(f->ca, sizeof f->ca, "%s/ca.pem", f->pki);
  mkdir(f->spool, 0700);
  return true;
}

/* Waits until the server has written its port (at most 15 s). */
static int wait_port(const mock_files *f, char *why, size_t whylen) {
  for (int waited = 0; waited < 15000; waited += 20) {
    char *p = slurp_file(f->port);
    int port = p ? atoi(p) : 0;
    free(p);
    if (port > 0) return port;
    if (waitpid(g_mock_pid, NULL, WNOHANG) == g_mock_pid) {
      g_mock_pid = 0;
      char *l = slurp_file(f->log);
      snprintf(why, whylen, "infobip_mock.py exited before listening: %s",
               l ? l : "");
      free(l);
      return 0;
    }
    sleep_ms(20);
  }
  snprintf(why, whylen, "infobip_mock.py did not listen within 15 s");
  return 0;
}

static void export_env(const mock_files *f, int port) {
  char url[64];
  snprintf(url, sizeof url, "127.0.0.1:%d", port);
  setenv(BENCH_E2E_URL_ENV, url, 1);
  setenv(BENCH_E2E_CA_ENV, f->ca, 1);
  setenv(BENCH_E2E_RECORD_ENV, f->record, 1);
  setenv(BENCH_E2E_SPOOL_ENV, f->spool, 1);
  fprintf(stderr, "e2e: mock Infobip (TLS) on https://%s, pid %d\n", url,
          (int)g_mock_pid);
}

/* Starts the mock; on failure returns false with the reason in why. */
bool bench_mock_start(double lifetime_s, char *why, size_t whylen) {
  char script[512], certs[512], life[32];
  snprintf(script, sizeof script, "%s/tests/servers/infobip_mock.py",
           GT_BENCH_SOURCE_DIR);
  snprintf(certs, sizeof certs, "%s/tests/servers/gen_certs.sh",
           GT_BENCH_SOURCE_DIR);
  snprintf(life, sizeof life, "%.0f", lifetime_s);
  mock_files f;
  if (!prepare(&f, script, certs, why, whylen)) return false;
  char *gen[] = {"/bin/sh", certs, f.pki, NULL};
  if (run_wait(gen, f.log) != 0) {
    snprintf(why, whylen, "gen_certs.sh failed (openssl missing?)");
    bench_mock_stop();
    return false;
  }
  char *argv[] = {
      BENCH_MOCK_PYTHON, script,   "--port-file", f.port,  "--record",
      f.record,          "--cert", f.cert,        "--key", f.key,
      "--lifetime",      life,     NULL};
  int rc = spawn_logged(&g_mock_pid, argv, f.log);
  if (rc != 0) {
    g_mock_pid = 0;
    snprintf(why, whylen, "cannot start %s: %s", BENCH_MOCK_PYTHON,
             strerror(rc));
    bench_mock_stop();
    return false;
  }
  int port = wait_port(&f, why, whylen);
  if (port <= 0) {
    bench_mock_stop();
    return false;
  }
  export_env(&f, port);
  return true;
}
