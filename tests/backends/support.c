#include "support.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static char pki_dir[256];

void test_rm_rf(const char *dir) {
  if (!dir[0] || strncmp(dir, "/tmp/gt-", 8) != 0) return;
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
}

void test_tmpdir(char *buf, size_t size, const char *what) {
  snprintf(buf, size, "/tmp/gt-%s-XXXXXX", what);
  cr_assert_not_null(mkdtemp(buf), "mkdtemp %s: %s", buf, strerror(errno));
}

static void pki_cleanup(void) {
  test_rm_rf(pki_dir);
}

const char *test_pki(void) {
  if (pki_dir[0]) return pki_dir;
  char tmpl[] = "/tmp/gt-pki-XXXXXX";
  cr_assert_not_null(mkdtemp(tmpl));
  char cmd[512];
  snprintf(cmd, sizeof cmd, "sh '%s/tests/servers/gen_certs.sh' '%s'",
           GT_SOURCE_DIR, tmpl);
  cr_assert_eq(system(cmd), 0, "gen_certs.sh failed");
  snprintf(pki_dir, sizeof pki_dir, "%s", tmpl);
  atexit(pki_cleanup);
  return pki_dir;
}

const char *test_pki_file(const char *name) {
  static char buf[4][320];
  static int i;
  char *b = buf[i++ % 4];
  snprintf(b, sizeof buf[0], "%s/%s", test_pki(), name);
  return b;
}

void server_start(test_server *s, const char *script, bool tls,
                  const char *const *extra) {
  memset(s, 0, sizeof *s);
  char tmpl[] = "/tmp/gt-srv-XXXXXX";
  cr_assert_not_null(mkdtemp(tmpl));
  snprintf(s->dir, sizeof s->dir, "%s", tmpl);
  snprintf(s->record, sizeof s->record, "%s/record.jsonl", s->dir);
  snprintf(s->log, sizeof s->log, "%s/server.log", s->dir);
  snprintf(s->maildir, sizeof s->maildir, "%s/mail", s->dir);
  mkdir(s->maildir, 0700);
  char port_file[300], path[400];
  snprintf(port_file, sizeof port_file, "%s/port", s->dir);
  snprintf(path, sizeof path, "%s/tests/servers/%s", GT_SOURCE_DIR, script);
  const char *argv[40];
  int n = 0;
  /* Debian's interpreter: the one that sees python3-aiosmtpd. */
  argv[n++] = "/usr/bin/python3";
  argv[n++] = path;
  argv[n++] = "--port-file";
  argv[n++] = port_file;
  argv[n++] = "--record";
  argv[n++] = s->record;
  argv[n++] = "--lifetime";
  argv[n++] = "60";
  if (tls) {
    argv[n++] = "--cert";
    argv[n++] = test_pki_file("server.pem");
    argv[n++] = "--key";
    argv[n++] = test_pki_file("server.key");
  }
  if (strcmp(script, "smtp_server.py") == 0) {
    argv[n++] = "--maildir";
    argv[n++] = s->maildir;
  }
  for (; extra && *extra && n < 38; extra++)
    argv[n++] = *extra;
  argv[n] = NULL;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, s->log, O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  int rc =
      posix_spawn(&s->pid, argv[0], &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  cr_assert_eq(rc, 0, "cannot start %s: %s", script, strerror(rc));
  for (int waited = 0; waited < 15000; waited += 20) {
    char *p = slurp(port_file);
    if (p) {
      s->port = atoi(p);
      free(p);
      if (s->port > 0) return;
    }
    int st;
    if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
      char *log = slurp(s->log);
      s->pid = 0;
      cr_assert_fail("%s exited before listening:\n%s", script, log ? log : "");
    }
    sleep_ms(20);
  }
  server_stop(s);
  cr_assert_fail("%s did not listen within 15 s", script);
}

static void server_reap(test_server *s) {
  if (s->pid <= 0) return;
  kill(s->pid, SIGTERM);
  for (int i = 0; i < 250; i++) {
    if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
      s->pid = 0;
      return;
    }
    sleep_ms(20);
  }
  kill(s->pid, SIGKILL);
  waitpid(s->pid, NULL, 0);
  s->pid = 0;
}

void server_stop(test_server *s) {
  server_reap(s);
  assert_file_no_secret(s->log);
  test_rm_rf(s->dir);
  s->dir[0] = '\0';
}

json_t *server_records(const test_server *s) {
  json_t *arr = json_array();
  FILE *f = fopen(s->record, "r");
  if (!f) return arr;
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    json_t *j = json_loads(line, 0, NULL);
    if (j) json_array_append_new(arr, j);
  }
  free(line);
  fclose(f);
  return arr;
}

size_t server_wait_records(const test_server *s, size_t n, int timeout_ms) {
  int64_t deadline = gt__now_ms() + timeout_ms; /* a clock: naps end early */
  for (;;) {
    json_t *r = server_records(s);
    size_t have = json_array_size(r);
    json_decref(r);
    if (have >= n || gt__now_ms() >= deadline) return have;
    sleep_ms(20);
  }
}

void test_config(gt_config *cfg, const char *const *kv) {
  gt_options *o = gt_options_new();
  cr_assert_not_null(o);
  for (; kv && kv[0]; kv += 2)
    cr_assert_eq(gt_options_set(o, kv[0], kv[1]), 0, "set %s: %s", kv[0],
                 gt_last_error());
  int rc = gt__options_build(o, cfg);
  gt_options_free(o);
  cr_assert_eq(rc, 0, "config: %s", gt_last_error());
}

const gt_backend_ops *test_backend(const gt_config *cfg, const char *name) {
  const gt_backend_ops *ops = NULL;
  cr_assert_eq(gt__backend_find(cfg, name, &ops), 0, "backend %s: %s", name,
               gt_last_error());
  return ops;
}

int test_open(const char *name, const char *const *kv, void **state,
              gt_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  *state = NULL;
  /* A bad value may be refused by the configuration layer (it checks
   * types, enums and line breaks) or by the backend's open(): either way
   * it must fail naming the key. */
  gt_options *o = gt_options_new();
  cr_assert_not_null(o);
  int rc = 0;
  for (; kv && kv[0] && rc == 0; kv += 2)
    rc = gt_options_set(o, kv[0], kv[1]);
  if (rc == 0) rc = gt__options_build(o, cfg);
  gt_options_free(o);
  const gt_backend_ops *ops = NULL;
  if (rc == 0) rc = gt__backend_find(cfg, name, &ops);
  if (rc == 0) rc = ops->open(cfg, state);
  assert_no_secret("gt_last_error", gt_last_error());
  return rc;
}

void test_batch(gt_batch *b, uint64_t collected) {
  memset(b, 0, sizeof *b);
  b->seq = 1;
  b->collected = collected;
  b->sampled = collected;
  b->scale = 1;
}

char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  size_t got;
  while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += got;
    if (n + 1 >= cap) {
      char *nb = realloc(buf, cap *= 2);
      if (!nb) {
        free(buf);
        buf = NULL;
      }
      buf = nb;
    }
  }
  fclose(f);
  if (buf) buf[n] = '\0';
  return buf;
}

static const char *const secrets[] = {
    SMS_KEY_OK,     SMS_KEY_BAD,  SMS_KEY_429,   SMS_KEY_500,    SMTP_PASSWORD,
    HOOK_SECRET,    URL_PASSWORD, URL_BASIC_B64, SMTP_BASIC_B64, SMTP_PLAIN_B64,
    SMTP_LOGIN_B64, "SECRET",     NULL};

void assert_no_secret(const char *what, const char *text) {
  if (!text) return;
  for (size_t i = 0; secrets[i]; i++)
    cr_assert_null(strstr(text, secrets[i]), "%s leaks a secret: %s", what,
                   text);
}

void assert_file_no_secret(const char *path) {
  char *t = slurp(path);
  assert_no_secret(path, t);
  free(t);
}

__attribute__((noinline)) void test_make(int n, const char *name) {
  for (int i = 0; i < n; i++) {
    volatile char *p = gt_malloc(32, name);
    p[0] = (char)i;
  }
}

__attribute__((noinline)) void test_scrub_stack(void) {
  volatile char junk[16384];
  memset((char *)junk, 0, sizeof junk);
}
