/* Helpers for the backend tests: a throw-away PKI, loopback servers run as
 * child processes, configurations built like gt_init builds them. */
#ifndef GT_TEST_SUPPORT_H
#define GT_TEST_SUPPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../internal.h"

/* Secrets the tests use; no captured output may ever contain them. */
#define SMS_KEY_OK "ib-SECRET-ok-5f2e91c4"
#define SMS_KEY_BAD "ib-wrong-d41d8cd9"
#define SMS_KEY_429 "ib-SECRET-429-77aa"
#define SMS_KEY_500 "ib-SECRET-500-88bb"
#define SMTP_USER "gt-mailer"
#define SMTP_PASSWORD "pw-SECRET-c0ffee42"
#define HOOK_SECRET "hook-SECRET-0123456789abcdef"
/* Credentials inside a URL (https://user:pass@host/), sent as HTTP Basic. */
#define URL_USER "hookuser"
#define URL_PASSWORD "hook-SECRET-pw"
/* The forms the credentials above travel in: base64 of user:pass (HTTP
 * Basic), of \0user\0pass (SASL PLAIN) and of the password (SASL LOGIN). */
#define URL_BASIC_B64 "aG9va3VzZXI6aG9vay1TRUNSRVQtcHc="
#define SMTP_BASIC_B64 "Z3QtbWFpbGVyOnB3LVNFQ1JFVC1jMGZmZWU0Mg=="
#define SMTP_PLAIN_B64 "AGd0LW1haWxlcgBwdy1TRUNSRVQtYzBmZmVlNDI="
#define SMTP_LOGIN_B64 "cHctU0VDUkVULWMwZmZlZTQy"

typedef struct test_server {
  pid_t pid;
  int port;
  char dir[256];     /* scratch directory of this server */
  char record[300];  /* JSON lines, one per request */
  char log[300];     /* its stdout and stderr */
  char maildir[300]; /* SMTP only */
} test_server;

/* Directory holding ca.pem, other-ca.pem, server.pem/key (made once per
 * process). */
const char *test_pki(void);
/* Path of a file in the PKI directory. */
const char *test_pki_file(const char *name);

/* Starts tests/servers/<script> with TLS (unless tls is false) and extra
 * arguments (NULL-terminated); waits for its port. Asserts on failure. */
void server_start(test_server *s, const char *script, bool tls,
                  const char *const *extra);
void server_stop(test_server *s);
/* Every recorded request as a JSON array (caller decrefs). */
json_t *server_records(const test_server *s);
/* Waits until at least n records exist (bounded); returns the count. */
size_t server_wait_records(const test_server *s, size_t n, int timeout_ms);

/* Builds a configuration from key/value pairs (NULL-terminated) the way
 * gt_init does; asserts that it builds. */
void test_config(gt_config *cfg, const char *const *kv);
/* Opens backend `name` with kv; returns open()'s result. */
/* The backend `name` stands for under cfg (asserts it is built). */
const gt_backend_ops *test_backend(const gt_config *cfg, const char *name);
int test_open(const char *name, const char *const *kv, void **state,
              gt_config *cfg);

/* A batch with one group, as the pipeline would hand it over. */
void test_batch(gt_batch *b, uint64_t collected);

/* Allocates n 32-byte gt objects named `name` and drops them; in a frame
 * of its own, so no pointer to them outlives the call. */
void test_make(int n, const char *name);
/* Overwrites dead stack below the caller (stale pointers keep objects). */
void test_scrub_stack(void);

char *slurp(const char *path); /* NULL if unreadable */
/* A new private directory /tmp/gt-<what>-XXXXXX (asserts). Never named
 * after the pid: pids come back, and a spool left by an earlier process
 * would be replayed into a later test. */
void test_tmpdir(char *buf, size_t size, const char *what);
/* Removes a directory under /tmp/gt- and all it holds. */
void test_rm_rf(const char *dir);
/* Asserts that text holds none of the test secrets. */
void assert_no_secret(const char *what, const char *text);
/* Asserts that a file holds none of the test secrets (if it exists). */
void assert_file_no_secret(const char *path);

#endif
