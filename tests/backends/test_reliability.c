/* Reliability: fault injection against the loopback servers, the spool and
 * its replay, the rate limiter and the daily cap, exit without
 * gt_shutdown, SIGKILL mid-flight, fork. Every test checks that the counts
 * add up: objects collected == objects in delivered messages + objects in
 * spooled files (docs/reliability.md).
 *
 * Each phase runs in a fresh child process (fork, then GC_INIT + gt_init in
 * the child), so a "later process on the same spool" is really one. A child
 * reports through a shared page and its exit status; only the parent
 * asserts. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support.h"

#define EXPECTED_TEXT "5 objects collected (sampled 5): Node x3, Thing x2"
#define CAP_NOTE " (daily cap reached: later objects are counted and spooled)"

/* ---- what a child reports ---------------------------------------------- */

typedef struct child_out {
  gt_stats st;
  int init_rc, shutdown_rc;
  size_t ret[4];       /* gt_collect() of each round */
  int64_t elapsed[4];  /* ms taken by each gt_collect() */
  int64_t shutdown_ms; /* ms taken by gt_shutdown() */
} child_out;

static child_out *out;
static char spool_base[64], spool_dir[80], errfile[80];

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* ---- the spool as the parent sees it ------------------------------------ */

typedef struct spool_info {
  size_t msg, tmp, claim, corrupt, rejected, other;
  size_t bad; /* .msg files that are not JSON (replay sets them aside) */
  uint64_t collected;                       /* sum over the .msg files */
  char text[512], reason[256], backend[32]; /* of the oldest .msg */
  json_int_t merged;
} spool_info;

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void spool_scan(spool_info *si) {
  memset(si, 0, sizeof *si);
  DIR *d = opendir(spool_dir);
  if (!d) return;
  char *names[4096];
  size_t n = 0;
  for (struct dirent *e; (e = readdir(d));) {
    const char *nm = e->d_name;
    size_t len = strlen(nm);
    if (!strcmp(nm, ".") || !strcmp(nm, "..")) continue;
    char path[400];
    snprintf(path, sizeof path, "%s/%s", spool_dir, nm);
    assert_file_no_secret(path);
    if (!strncmp(nm, ".tmp.", 5))
      si->tmp++;
    else if (strstr(nm, ".claim."))
      si->claim++;
    else if (len > 8 && !strcmp(nm + len - 8, ".corrupt"))
      si->corrupt++;
    else if (len > 9 && !strcmp(nm + len - 9, ".rejected"))
      si->rejected++;
    else if (len > 4 && !strcmp(nm + len - 4, ".msg") && n < 4096)
      names[n++] = strdup(nm);
    else
      si->other++;
  }
  closedir(d);
  qsort(names, n, sizeof *names, by_name);
  for (size_t i = 0; i < n; i++) {
    char path[400];
    snprintf(path, sizeof path, "%s/%s", spool_dir, names[i]);
    json_t *o = json_load_file(path, 0, NULL);
    free(names[i]);
    if (!o) {
      si->bad++;
      continue;
    }
    json_t *b = json_object_get(o, "batch");
    si->collected +=
        (uint64_t)json_integer_value(json_object_get(b, "collected"));
    if (si->msg++ == 0) {
      snprintf(si->text, sizeof si->text, "%s",
               json_string_value(json_object_get(o, "text")));
      snprintf(si->reason, sizeof si->reason, "%s",
               json_string_value(json_object_get(o, "reason")));
      snprintf(si->backend, sizeof si->backend, "%s",
               json_string_value(json_object_get(o, "backend")));
      si->merged = json_integer_value(json_object_get(b, "merged"));
    }
    json_decref(o);
  }
}

/* ---- fixtures ------------------------------------------------------------ */

static test_server srv;

static void rel_init(void) {
  test_pki(); /* made once, before any fork */
  /* gt makes the spool itself (tests check the mode it gives it). */
  test_tmpdir(spool_base, sizeof spool_base, "rel");
  snprintf(spool_dir, sizeof spool_dir, "%s/spool", spool_base);
  snprintf(errfile, sizeof errfile, "/tmp/gt-rel-stderr-%d", (int)getpid());
  unlink(errfile); /* children append: not to what a crashed run left */
  out = mmap(NULL, sizeof *out, PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  cr_assert(out != MAP_FAILED);
  memset(&srv, 0, sizeof srv);
}

/* Test 12 for every test: neither what the children wrote to stderr nor
 * any spool file (delivered, rejected, corrupt) holds a secret. */
static void rel_fini(void) {
  assert_file_no_secret(errfile);
  spool_info si;
  spool_scan(&si);
  if (!getenv("KEEPERR")) unlink(errfile);
  test_rm_rf(spool_base);
  if (srv.pid) server_stop(&srv);
}

TestSuite(reliability, .init = rel_init, .fini = rel_fini, .timeout = 60);

/* ---- children ------------------------------------------------------------ */

/* gt_init with test defaults (no rate limit, no cap, few retries, one
 * batch per gt_collect), this test's spool, then kv on top. */
static void child_init(const char *const *kv) {
  gt_options *o = gt_options_new();
  const char *common[] = {"gt.rate_per_minute",
                          "0",
                          "gt.daily_cap",
                          "0",
                          "gt.retry_max",
                          "0",
                          "gt.batch_window_ms",
                          "600000",
                          "gt.timeout_ms",
                          "3000",
                          "gt.spool_dir",
                          spool_dir,
                          NULL};
  for (const char *const *p = common; *p; p += 2)
    gt_options_set(o, p[0], p[1]);
  for (; kv && *kv; kv += 2)
    if (gt_options_set(o, kv[0], kv[1]) != 0) {
      fprintf(stderr, "set %s: %s\n", kv[0], gt_last_error());
      _exit(11);
    }
  out->init_rc = gt_init(o);
  gt_options_free(o);
  if (out->init_rc) {
    fprintf(stderr, "gt_init: %s\n", gt_last_error());
    _exit(12);
  }
}

typedef struct job {
  const char *const *kv;
  int rounds;
  int nodes[4], things[4]; /* objects dropped before each gt_collect */
  int shutdown_ms;
  uint64_t wait_replayed; /* before shutdown, wait for this many replays */
} job;

/* One process: init, rounds of drop + gt_collect, maybe wait for replay,
 * gt_shutdown; reports into *out. */
static void child_job(const job *j) {
  child_init(j->kv);
  for (int r = 0; r < j->rounds; r++) {
    test_make(j->nodes[r], "Node");
    test_make(j->things[r], "Thing");
    test_scrub_stack();
    int64_t t0 = now_ms();
    out->ret[r] = gt_collect();
    out->elapsed[r] = now_ms() - t0;
  }
  for (int waited = 0; j->wait_replayed && waited < 20000; waited += 20) {
    gt_get_stats(&out->st);
    if (out->st.replayed >= j->wait_replayed) break;
    nap(20);
  }
  int64_t t0 = now_ms();
  out->shutdown_rc = gt_shutdown(j->shutdown_ms ? j->shutdown_ms : 5000);
  out->shutdown_ms = now_ms() - t0;
  gt_get_stats(&out->st);
}

static pid_t spawn(void (*fn)(const void *), const void *arg) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    int fd = open(errfile, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      dup2(fd, 2);
      close(fd);
    }
    alarm(50); /* a deadlock shows as SIGALRM, not as a hung suite */
    fn(arg);
    fflush(stderr);
    _exit(0);
  }
  return pid;
}

static void run(void (*fn)(const void *), const void *arg) {
  memset(out, 0, sizeof *out);
  pid_t pid = spawn(fn, arg);
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  char *err = slurp(errfile);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
            "child failed (status 0x%x); stderr:\n%s", st, err ? err : "");
  free(err);
}

static void run_job(const void *j) {
  child_job(j);
}

/* ---- readers ------------------------------------------------------------- */

static const char *sms_text(json_t *rec) {
  json_t *m = json_array_get(
      json_object_get(json_object_get(rec, "json"), "messages"), 0);
  return json_string_value(
      json_object_get(json_object_get(m, "content"), "text"));
}

static size_t nrecords(void) {
  json_t *r = server_records(&srv);
  size_t n = json_array_size(r);
  json_decref(r);
  return n;
}

/* Sum of "collected" over the webhook posts answered 200, and how many. */
static uint64_t hook_total(size_t *posts) {
  json_t *r = server_records(&srv), *rec;
  size_t i;
  uint64_t sum = 0;
  *posts = 0;
  json_array_foreach(r, i, rec) {
    if (json_integer_value(json_object_get(rec, "status")) != 200) continue;
    (*posts)++;
    sum += (uint64_t)json_integer_value(
        json_object_get(json_object_get(rec, "json"), "collected"));
  }
  json_decref(r);
  return sum;
}

static size_t count_in(const char *text, const char *needle) {
  size_t n = 0;
  for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle))
    n++;
  return n;
}

static char *stderr_text(void) {
  char *e = slurp(errfile);
  return e ? e : strdup("");
}

/* A loopback port nobody listens on. */
static int dead_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  close(fd);
  return ntohs(a.sin_port);
}

static char sms_url[80], hook_url[80], ca[320], other_ca[320];

static void sms_server(void) {
  server_start(&srv, "infobip_mock.py", true, NULL);
  snprintf(sms_url, sizeof sms_url, "https://127.0.0.1:%d", srv.port);
  snprintf(ca, sizeof ca, "%s", test_pki_file("ca.pem"));
  snprintf(other_ca, sizeof other_ca, "%s", test_pki_file("other-ca.pem"));
}

static void hook_server(void) {
  const char *extra[] = {"--secret", HOOK_SECRET, NULL};
  server_start(&srv, "webhook_receiver.py", true, extra);
  snprintf(hook_url, sizeof hook_url, "https://127.0.0.1:%d/hook", srv.port);
  snprintf(ca, sizeof ca, "%s", test_pki_file("ca.pem"));
}

#define SMS_KV(key, cafile)                                                    \
  "gt.backend", "sms", "sms.base_url", sms_url, "sms.api_key", key, "sms.to",  \
      "41793026727", "sms.ca_file", cafile

#define HOOK_KV(url)                                                           \
  "gt.backend", "webhook", "webhook.url", url, "webhook.secret", HOOK_SECRET,  \
      "webhook.ca_file", ca

/* A later process on the same spool, sink up, nothing of its own: waits
 * until it has replayed `n` messages. */
static void replay_phase(const char *const *kv, uint64_t n) {
  job j = {.kv = kv, .rounds = 0, .wait_replayed = n};
  run(run_job, &j);
}

/* ---- 1. 5xx: retried, spooled, replayed ---------------------------------- */

Test(reliability, http_500_is_retried_then_spooled_then_replayed) {
  sms_server();
  const char *kv[] = {SMS_KV(SMS_KEY_500, ca), "gt.retry_max", "2", NULL};
  job j = {.kv = kv, .rounds = 1, .nodes = {3}, .things = {2}};
  run(run_job, &j);
  cr_expect_eq(out->ret[0], 5);
  cr_expect_eq(out->st.collected, 5);
  cr_expect_eq(out->st.sent, 0);
  cr_expect_eq(out->st.retried, 2);
  cr_expect_eq(out->st.failed, 1);
  cr_expect_eq(out->st.spooled, 1);
  cr_expect_eq(out->st.lost, 0);
  cr_expect_eq(nrecords(), 3, "one attempt and two retries");
  spool_info si;
  spool_scan(&si);
  cr_assert_eq(si.msg, 1);
  cr_expect_eq(si.collected, 5, "collected == delivered (0) + spooled");
  cr_expect_str_eq(si.text, EXPECTED_TEXT);
  cr_expect_str_eq(si.backend, "sms");
  cr_expect(strstr(si.reason, "HTTP 500"), "reason: %s", si.reason);

  /* Phase 2: a fresh process with a good key delivers the spooled text. */
  const char *good[] = {SMS_KV(SMS_KEY_OK, ca), NULL};
  replay_phase(good, 1);
  cr_expect_eq(out->st.replayed, 1);
  cr_expect_eq(out->st.sent, 1);
  cr_expect_eq(out->st.collected, 0);
  json_t *r = server_records(&srv);
  cr_assert_eq(json_array_size(r), 4);
  json_t *last = json_array_get(r, 3);
  cr_expect_eq(json_integer_value(json_object_get(last, "status")), 200);
  cr_expect_str_eq(sms_text(last), EXPECTED_TEXT);
  json_decref(r);
  spool_scan(&si);
  cr_expect_eq(si.msg + si.claim + si.tmp + si.rejected + si.corrupt, 0,
               "the spool is empty after replay");
}

/* ---- 2. 429 with Retry-After -------------------------------------------- */

Test(reliability, http_429_honours_retry_after_then_spools) {
  sms_server();
  /* gt_collect may wait for the whole retry here, to measure it. */
  const char *kv[] = {SMS_KV(SMS_KEY_429, ca), "gt.retry_max", "1",
                      "gt.collect_wait_ms",    "15000",        NULL};
  job j = {.kv = kv, .rounds = 1, .nodes = {3}, .things = {2}};
  run(run_job, &j);
  cr_expect_geq(out->elapsed[0], 7000, "waited %lld ms, Retry-After is 7 s",
                (long long)out->elapsed[0]);
  cr_expect_lt(out->elapsed[0], 12000);
  cr_expect_eq(out->st.retried, 1);
  cr_expect_eq(out->st.failed, 1);
  cr_expect_eq(out->st.spooled, 1);
  cr_expect_eq(nrecords(), 2);
  spool_info si;
  spool_scan(&si);
  cr_expect_eq(si.msg, 1);
  cr_expect_eq(si.collected, out->st.collected);
  cr_expect_eq(si.collected, 5);
}

/* ---- 3. a reply slower than gt.timeout_ms -------------------------------- */

Test(reliability, slow_reply_times_out_is_retried_then_spooled) {
  sms_server();
  const char *kv[] = {SMS_KV("ib-SECRET-slow-1", ca),
                      "gt.retry_max",
                      "1",
                      "gt.timeout_ms",
                      "1000",
                      NULL};
  job j = {.kv = kv, .rounds = 1, .nodes = {3}, .things = {2}};
  run(run_job, &j);
  cr_expect_geq(out->elapsed[0], 2000, "two attempts of 1 s each");
  cr_expect_lt(out->elapsed[0], 4500, "took %lld ms",
               (long long)out->elapsed[0]);
  cr_expect_eq(out->st.retried, 1);
  cr_expect_eq(out->st.failed, 1);
  cr_expect_eq(out->st.spooled, 1);
  cr_expect_eq(out->st.sent, 0);
  spool_info si;
  spool_scan(&si);
  cr_expect_eq(si.msg, 1);
  cr_expect_eq(si.collected, 5);
  char *e = stderr_text();
  cr_expect(strstr(e, "imeout") || strstr(e, "timed out"), "%s", e);
  free(e);
}

/* ---- 4. connection refused, replayed to a live receiver ------------------ */

Test(reliability, connection_refused_spools_then_replays_to_live_receiver) {
  char dead[80];
  snprintf(dead, sizeof dead, "http://127.0.0.1:%d/hook", dead_port());
  snprintf(ca, sizeof ca, "%s", test_pki_file("ca.pem"));
  const char *kv[] = {HOOK_KV(dead), "gt.retry_max", "1", NULL};
  job j = {.kv = kv, .rounds = 1, .nodes = {3}, .things = {2}};
  run(run_job, &j);
  cr_expect_eq(out->st.collected, 5);
  cr_expect_eq(out->st.retried, 1);
  cr_expect_eq(out->st.failed, 1);
  cr_expect_eq(out->st.spooled, 1);
  spool_info si;
  spool_scan(&si);
  cr_assert_eq(si.msg, 1);
  cr_expect_eq(si.collected, 5);

  hook_server();
  const char *live[] = {HOOK_KV(hook_url), NULL};
  replay_phase(live, 1);
  cr_expect_eq(out->st.replayed, 1);
  size_t posts;
  cr_expect_eq(hook_total(&posts), 5, "the receiver gets the spooled counts");
  cr_expect_eq(posts, 1);
  json_t *r = server_records(&srv);
  json_t *rec = json_array_get(r, 0);
  cr_expect(json_is_true(json_object_get(rec, "verified")),
            "the replay is signed");
  cr_expect_str_eq(
      json_string_value(json_object_get(json_object_get(rec, "json"), "text")),
      EXPECTED_TEXT);
  json_decref(r);
  spool_scan(&si);
  cr_expect_eq(si.msg + si.claim + si.tmp, 0);
}

/* ---- 5. TLS with a CA that did not sign the server ----------------------- */

Test(reliability, wrong_ca_fails_permanently_never_insecure) {
  sms_server();
  const char *kv[] = {SMS_KV(SMS_KEY_OK, other_ca), "gt.retry_max", "2", NULL};
  job j = {.kv = kv, .rounds = 1, .nodes = {3}, .things = {2}};
  run(run_job, &j);
  cr_expect_eq(out->st.sent, 0);
  cr_expect_eq(out->st.failed, 1);
  cr_expect_eq(out->st.retried, 0, "a certificate problem is permanent");
  cr_expect_eq(out->st.spooled, 1);
  cr_expect_eq(nrecords(), 0, "the server never saw a request");
  spool_info si;
  spool_scan(&si);
  cr_expect_eq(si.collected, 5);
  char *e = stderr_text();
  cr_expect(strstr(e, "(permanent)"), "%s", e);
  free(e);
}

/* ---- 6. a 200 whose body is not JSON; a connection closed unanswered ---- */

/* A 2xx is Infobip's acceptance (F12): whatever happens to the rest of the
 * reply, the message was delivered and must not be sent again. */
static void expect_sent_once(const char *key, int64_t max_ms) {
  const char *kv[] = {SMS_KV(key, ca), "gt.retry_max", "2",
                      "gt.timeout_ms", "10000",        NULL};
  job j = {.kv = kv, .rounds = 1, .nodes = {3}, .things = {2}};
  run(run_job, &j);
  cr_expect_eq(out->st.sent, 1, "%s", key);
  cr_expect_eq(out->st.failed, 0, "%s", key);
  cr_expect_eq(out->st.retried, 0, "%s", key);
  cr_expect_eq(out->st.spooled, 0, "%s", key);
  cr_expect_eq(nrecords(), 1, "%s: the SMS went out once", key);
  cr_expect_lt(out->elapsed[0], max_ms, "%s: took %lld ms", key,
               (long long)out->elapsed[0]);
  spool_info si;
  spool_scan(&si);
  cr_expect_eq(si.msg, 0);
}

Test(reliability, malformed_200_reply_is_delivered_once) {
  sms_server();
  expect_sent_once("ib-SECRET-garbage-1", 3000);
}

Test(reliability, a_200_cut_mid_body_is_delivered_once) {
  sms_server();
  expect_sent_once("ib-SECRET-cut-1", 3000);
}

Test(reliability, a_200_whose_body_stalls_is_delivered_once_after_a_grace) {
  sms_server();
  /* Bounded by the 2 s grace after the status line, not gt.timeout_ms. */
  expect_sent_once("ib-SECRET-stall-1", 4500);
}

Test(reliability, connection_closed_without_reply_is_retried_then_spooled) {
  sms_server();
  const char *kv[] = {SMS_KV("ib-SECRET-close-1", ca), "gt.retry_max", "2",
                      NULL};
  job j = {.kv = kv, .rounds = 1, .nodes = {3}, .things = {2}};
  run(run_job, &j);
  cr_expect_eq(out->st.sent, 0);
  cr_expect_eq(out->st.failed, 1);
  cr_expect_eq(out->st.retried, 2);
  cr_expect_eq(out->st.spooled, 1);
  cr_expect_eq(nrecords(), 3);
  spool_info si;
  spool_scan(&si);
  cr_expect_eq(si.collected, 5);
}

/* ---- 7. rate limit: hold and merge, spooled at shutdown ------------------ */

Test(reliability, rate_limit_holds_merges_and_spools_at_shutdown) {
  sms_server();
  const char *kv[] = {SMS_KV(SMS_KEY_OK, ca), "gt.rate_per_minute", "1", NULL};
  job j = {.kv = kv, .rounds = 3, .nodes = {3, 2, 4}, .things = {2, 0, 1}};
  run(run_job, &j);
  cr_expect_eq(out->ret[0] + out->ret[1] + out->ret[2], 12);
  cr_expect_eq(out->st.collected, 12);
  cr_expect_eq(out->st.sent, 1, "one token: one message");
  cr_expect_eq(out->st.held, 2);
  cr_expect_eq(out->st.spooled, 1, "the merged held batch, at shutdown");
  cr_expect_eq(out->st.lost, 0);
  json_t *r = server_records(&srv);
  cr_assert_eq(json_array_size(r), 1);
  cr_expect_str_eq(sms_text(json_array_get(r, 0)), EXPECTED_TEXT);
  json_decref(r);
  spool_info si;
  spool_scan(&si);
  cr_assert_eq(si.msg, 1);
  cr_expect_eq(si.collected, 7, "5 delivered + 7 spooled == 12 collected");
  cr_expect_eq(si.merged, 1, "two batches merged into one: merged == 1");
}

/* ---- 8. daily cap ---------------------------------------------------------
 */

Test(reliability, daily_cap_says_so_once_then_spools) {
  sms_server();
  const char *kv[] = {SMS_KV(SMS_KEY_OK, ca), "gt.daily_cap", "1", NULL};
  job j = {.kv = kv, .rounds = 2, .nodes = {3, 4}, .things = {2, 0}};
  run(run_job, &j);
  cr_expect_eq(out->st.collected, 9);
  cr_expect_eq(out->st.sent, 1);
  cr_expect_eq(out->st.spooled, 1);
  json_t *r = server_records(&srv);
  cr_assert_eq(json_array_size(r), 1);
  cr_expect_str_eq(sms_text(json_array_get(r, 0)), EXPECTED_TEXT CAP_NOTE);
  json_decref(r);
  spool_info si;
  spool_scan(&si);
  cr_assert_eq(si.msg, 1);
  cr_expect_eq(si.collected, 4);
  cr_expect_str_eq(si.reason, "daily cap reached");
}

/* ---- 9. exit() without gt_shutdown --------------------------------------- */

static int exit_n;

static void last_exit_handler(void) {
  /* Runs after gt's own atexit handler (registered later, so run first):
   * report and leave before the test framework's handlers run. */
  gt_get_stats(&out->st);
  fflush(stderr);
  _exit(0);
}

static void exit_child(const void *kv) {
  atexit(last_exit_handler);
  child_init(kv);
  test_make(exit_n, "Node");
  test_scrub_stack();
  exit(0); /* no gt_collect, no gt_shutdown */
}

Test(reliability, exit_without_shutdown_spools_everything_then_replays) {
  char dead[80];
  snprintf(dead, sizeof dead, "http://127.0.0.1:%d/hook", dead_port());
  snprintf(ca, sizeof ca, "%s", test_pki_file("ca.pem"));
  const char *kv[] = {HOOK_KV(dead), "gt.batch_max", "4", NULL};
  exit_n = 11;
  run(exit_child, kv);
  cr_expect_eq(out->st.collected, 11, "gt's atexit collected what was dropped");
  cr_expect_eq(out->st.sent, 0);
  cr_expect_eq(out->st.lost, 0);
  spool_info si;
  spool_scan(&si);
  cr_expect_eq(si.collected, 11, "nothing lost: all 11 are in the spool");
  cr_expect_eq(si.msg, out->st.spooled);
  cr_expect_eq(si.tmp, 0);

  hook_server();
  const char *live[] = {HOOK_KV(hook_url), NULL};
  replay_phase(live, si.msg);
  cr_expect_eq(out->st.replayed, si.msg);
  size_t posts;
  cr_expect_eq(hook_total(&posts), 11);
  cr_expect_eq(posts, si.msg);
  spool_scan(&si);
  cr_expect_eq(si.msg + si.claim + si.tmp, 0);
}

/* ---- 10. SIGKILL mid-flight -----------------------------------------------
 */

static void flood_child(const void *kv) {
  child_init(kv);
  for (;;) {
    test_make(100, "Flood");
    test_scrub_stack();
    gt_collect();
  }
}

static void plant(const char *name, const char *body) {
  char path[400];
  snprintf(path, sizeof path, "%s/%s", spool_dir, name);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs(body, f);
  fclose(f);
}

Test(reliability, sigkill_mid_flight_loses_nothing_spooled_delivers_once) {
  char dead[80];
  snprintf(dead, sizeof dead, "http://127.0.0.1:%d/hook", dead_port());
  snprintf(ca, sizeof ca, "%s", test_pki_file("ca.pem"));
  const char *kv[] = {HOOK_KV(dead), "gt.batch_max", "20", NULL};
  memset(out, 0, sizeof *out);
  pid_t pid = spawn(flood_child, kv);
  spool_info si = {0};
  for (int waited = 0; waited < 20000 && si.msg < 15; waited += 10) {
    nap(10);
    spool_scan(&si);
  }
  cr_assert_geq(si.msg, 15, "the flood did not spool");
  kill(pid, SIGKILL);
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

  /* What a crash can leave, planted next to the real files: a temporary
   * of the dead writer (never delivered, removed), a message claimed by a
   * dead replayer (released, delivered once), a corrupt message (set
   * aside, start-up goes on). */
  char name[200], body[300];
  snprintf(name, sizeof name, ".tmp.%d.999999", (int)pid);
  plant(name, "{\"v\":1,\"backend\":\"webhook\",\"text\":\"tmp\","
              "\"batch\":{\"collected\":100000}}");
  snprintf(name, sizeof name, "0000000000001.%d.7.webhook.msg.claim.%d",
           (int)pid, (int)pid);
  snprintf(body, sizeof body,
           "{\"v\":1,\"backend\":\"webhook\",\"text\":\"claimed\","
           "\"batch\":{\"collected\":11,\"batch\":424242}}");
  plant(name, body);
  plant("0000000000002.1.1.webhook.msg", "{\"v\":1,\"backend\":\"webh");

  spool_info before;
  spool_scan(&before);
  cr_assert_eq(before.claim, 1);
  cr_assert_geq(before.tmp, 1);
  cr_assert_eq(before.bad, 1);
  size_t want_posts = before.msg + 1; /* + the released claim */
  uint64_t want_total = before.collected + 11;
  cr_log_info("killed after %zu complete spool files (%llu objects)",
              before.msg, (unsigned long long)before.collected);

  hook_server();
  const char *live[] = {HOOK_KV(hook_url), NULL};
  replay_phase(live, want_posts);
  cr_expect_eq(out->st.replayed, want_posts, "replayed %llu of %zu",
               (unsigned long long)out->st.replayed, want_posts);
  size_t posts;
  uint64_t total = hook_total(&posts);
  cr_expect_eq(total, want_total,
               "every complete spool file is delivered, nothing else: "
               "%llu of %llu in %zu of %zu posts",
               (unsigned long long)total, (unsigned long long)want_total, posts,
               want_posts);
  cr_expect_eq(posts, want_posts);
  /* Exactly once: every batch number arrives once (one writer process, so
   * batch numbers are unique), the temporary never, the claim once. */
  json_t *r = server_records(&srv), *rec;
  size_t i, claimed = 0;
  json_array_foreach(r, i, rec) {
    json_t *body = json_object_get(rec, "json");
    const char *text = json_string_value(json_object_get(body, "text"));
    cr_expect(!text || strcmp(text, "tmp") != 0, "a .tmp file was delivered");
    claimed += text && !strcmp(text, "claimed");
    json_int_t seq = json_integer_value(json_object_get(body, "batch"));
    for (size_t k = 0; k < i; k++) {
      json_t *o = json_object_get(json_array_get(r, k), "json");
      cr_expect_neq(json_integer_value(json_object_get(o, "batch")), seq,
                    "batch %lld delivered twice", (long long)seq);
    }
  }
  json_decref(r);
  cr_expect_eq(claimed, 1);
  spool_info after;
  spool_scan(&after);
  cr_expect_eq(after.msg + after.bad, 0, "left: %zu msg, %zu bad", after.msg,
               after.bad);
  cr_expect_eq(after.tmp, 0, "the dead writer's temporary is removed");
  cr_expect_eq(after.claim, 0);
  cr_expect_eq(after.corrupt, 1, "the corrupt file is set aside");
  char *e = stderr_text();
  cr_expect(strstr(e, "set aside"), "%s", e);
  free(e);
}

/* ---- 11. fork -------------------------------------------------------------
 */

static char log_a[80], log_b[80];

/* Sum of "collected" over a JSON-lines log written by the log backend. */
static uint64_t log_total(const char *path, size_t *lines, const char *forbid) {
  uint64_t sum = 0;
  *lines = 0;
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    json_t *j = json_loads(line, 0, NULL);
    cr_expect_not_null(j, "not JSON: %s", line);
    if (forbid) cr_expect_null(strstr(line, forbid), "%s in %s", forbid, path);
    sum += (uint64_t)json_integer_value(json_object_get(j, "collected"));
    (*lines)++;
    json_decref(j);
  }
  free(line);
  fclose(f);
  return sum;
}

static void fork_child(const void *arg) {
  (void)arg;
  /* No pipeline here: counted only, and gt_collect must not wait for a
   * worker that does not exist in this process. */
  test_make(4, "Kid");
  test_scrub_stack();
  out->ret[0] = gt_collect();
  const char *kv[] = {"gt.backend", "log",  "log.path", log_b,
                      "log.format", "json", NULL};
  child_init(kv);
  test_make(3, "Kid");
  test_scrub_stack();
  out->ret[1] = gt_collect();
  out->shutdown_rc = gt_shutdown(5000);
  gt_get_stats(&out->st);
}

Test(reliability, fork_child_gets_its_own_pipeline_parent_unaffected) {
  snprintf(log_a, sizeof log_a, "/tmp/gt-rel-a-%d.log", (int)getpid());
  snprintf(log_b, sizeof log_b, "/tmp/gt-rel-b-%d.log", (int)getpid());
  gt_options *o = gt_options_new();
  const char *kv[] = {"gt.backend",
                      "log",
                      "log.path",
                      log_a,
                      "log.format",
                      "json",
                      "gt.batch_window_ms",
                      "600000",
                      "gt.spool_dir",
                      spool_dir,
                      NULL};
  for (const char *const *p = kv; *p; p += 2)
    cr_assert_eq(gt_options_set(o, p[0], p[1]), 0);
  cr_assert_eq(gt_init(o), 0, "%s", gt_last_error());
  gt_options_free(o);
  test_make(2, "Parent");
  test_scrub_stack();
  cr_expect_eq(gt_collect(), 2);

  run(fork_child, NULL); /* SIGALRM after 50 s would mean a deadlock */
  cr_expect_eq(out->ret[1] + out->st.overflowed, out->st.collected);
  cr_expect_eq(out->st.collected, 7,
               "the child's 4 pre-init objects reach its own pipeline");
  cr_expect_eq(out->shutdown_rc, 0);
  size_t lines;
  cr_expect_eq(log_total(log_b, &lines, "Parent"), 7);

  test_make(5, "Parent");
  test_scrub_stack();
  cr_expect_eq(gt_collect(), 5, "the parent's pipeline still works");
  cr_expect_eq(gt_shutdown(5000), 0);
  gt_stats st;
  gt_get_stats(&st);
  cr_expect_eq(st.collected, 7);
  cr_expect_eq(log_total(log_a, &lines, "Kid"), 7, "the parent's log only");
  cr_expect_eq(lines, 3, "two batches and the exit line");
  unlink(log_a);
  unlink(log_b);
}

/* ---- gt_shutdown's deadline ------------------------------------------------
 */

static void deadline_child(const void *kv) {
  child_init(kv);
  test_make(3, "Node");
  test_make(2, "Thing");
  test_scrub_stack();
  int64_t t0 = now_ms();
  out->shutdown_rc = gt_shutdown(1000); /* the final collection finds them */
  out->shutdown_ms = now_ms() - t0;
  gt_get_stats(&out->st);
}

Test(reliability, shutdown_deadline_bounds_retries_and_spools) {
  char dead[80];
  snprintf(dead, sizeof dead, "http://127.0.0.1:%d/hook", dead_port());
  snprintf(ca, sizeof ca, "%s", test_pki_file("ca.pem"));
  /* 5 retries back off 0.2+0.4+0.8+1.6+3.2 s: far beyond the deadline. */
  const char *kv[] = {HOOK_KV(dead), "gt.retry_max", "5", NULL};
  run(deadline_child, kv);
  cr_expect_eq(out->st.collected, 5);
  cr_expect_eq(out->st.spooled, 1);
  cr_expect_eq(out->st.lost, 0);
  cr_expect_lt(out->shutdown_ms, 2500, "gt_shutdown(1000) took %lld ms",
               (long long)out->shutdown_ms);
  spool_info si;
  spool_scan(&si);
  cr_expect_eq(si.collected, 5);
}

/* ---- no usable spool: the only way a count is lost, loudly ----------------
 */

Test(reliability, unusable_spool_counts_lost_objects_loudly) {
  char dead[80];
  snprintf(dead, sizeof dead, "http://127.0.0.1:%d/hook", dead_port());
  snprintf(ca, sizeof ca, "%s", test_pki_file("ca.pem"));
  const char *kv[] = {HOOK_KV(dead), "gt.spool_dir", "/dev/null/gt-spool",
                      NULL};
  job j = {.kv = kv, .rounds = 1, .nodes = {3}, .things = {2}};
  run(run_job, &j);
  cr_expect_eq(out->st.collected, 5);
  cr_expect_eq(out->st.failed, 1);
  cr_expect_eq(out->st.spooled, 0);
  cr_expect_eq(out->st.lost, 5, "collected == delivered + spooled + lost");
  char *e = stderr_text();
  cr_expect(strstr(e, "undelivered messages will be lost"), "%s", e);
  cr_expect(strstr(e, "a message for 5 objects is lost"), "%s", e);
  free(e);
}

/* ---- two processes replaying one spool ------------------------------------
 */

static bool spool_has_messages(void) {
  DIR *d = opendir(spool_dir);
  bool any = false;
  for (struct dirent *e; d && !any && (e = readdir(d));) {
    size_t len = strlen(e->d_name);
    any = strstr(e->d_name, ".msg") &&
          !(len > 8 && !strcmp(e->d_name + len - 8, ".corrupt")) &&
          !(len > 9 && !strcmp(e->d_name + len - 9, ".rejected"));
  }
  if (d) closedir(d);
  return any;
}

static void drain_child(const void *kv) {
  child_init(kv);
  for (int waited = 0; spool_has_messages() && waited < 20000; waited += 20)
    nap(20);
  out->shutdown_rc = gt_shutdown(5000);
  gt_get_stats(&out->st);
}

Test(reliability, two_replaying_processes_never_deliver_a_file_twice) {
  char dead[80];
  snprintf(dead, sizeof dead, "http://127.0.0.1:%d/hook", dead_port());
  snprintf(ca, sizeof ca, "%s", test_pki_file("ca.pem"));
  const char *kv[] = {HOOK_KV(dead), "gt.batch_max", "1", NULL};
  job j = {.kv = kv, .rounds = 1, .nodes = {24}, .things = {16}};
  run(run_job, &j);
  cr_expect_eq(out->st.collected, 40);
  spool_info si;
  spool_scan(&si);
  cr_assert_eq(si.collected, 40);
  size_t files = si.msg;
  cr_assert_geq(files, 20);

  hook_server();
  const char *live[] = {HOOK_KV(hook_url), NULL};
  memset(out, 0, sizeof *out);
  pid_t a = spawn(drain_child, live), b = spawn(drain_child, live);
  int sa, sb;
  cr_assert_eq(waitpid(a, &sa, 0), a);
  cr_assert_eq(waitpid(b, &sb, 0), b);
  cr_assert(WIFEXITED(sa) && !WEXITSTATUS(sa) && WIFEXITED(sb) &&
            !WEXITSTATUS(sb));
  size_t posts;
  cr_expect_eq(hook_total(&posts), 40, "each file delivered exactly once");
  cr_expect_eq(posts, files);
  spool_scan(&si);
  cr_expect_eq(si.msg + si.claim + si.tmp, 0);
}

/* ---- a permanent refusal at replay ------------------------------------------
 */

Test(reliability, replay_refused_permanently_is_set_aside_as_rejected) {
  sms_server();
  const char *kv[] = {SMS_KV(SMS_KEY_500, ca), NULL};
  job j = {.kv = kv, .rounds = 1, .nodes = {3}, .things = {2}};
  run(run_job, &j);
  spool_info si;
  spool_scan(&si);
  cr_assert_eq(si.msg, 1);
  /* The next process sends to a number Infobip refuses (REJECTED): a
   * permanent verdict on the message itself, not a refused key. */
  const char *bad[] = {SMS_KV(SMS_KEY_OK, ca), "sms.to", "41000000000", NULL};
  job k = {.kv = bad, .rounds = 0};
  run(run_job, &k);
  for (int w = 0; w < 5000 && si.rejected == 0; w += 50) {
    nap(50);
    spool_scan(&si);
  }
  cr_expect_eq(si.rejected, 1, "set aside as .rejected, not retried forever");
  cr_expect_eq(si.msg, 0);
  cr_expect_eq(out->st.replayed, 0);
  char *e = stderr_text();
  cr_expect(strstr(e, "refused it permanently"), "%s", e);
  free(e);
}

/* ---- 12. secrets, once per distinct failure -------------------------------
 */

Test(reliability, permanent_failure_warns_once_and_leaks_no_secret) {
  sms_server();
  const char *kv[] = {SMS_KV(SMS_KEY_BAD, ca), "gt.retry_max", "3", NULL};
  job j = {.kv = kv, .rounds = 3, .nodes = {3, 1, 2}, .things = {2, 1, 0}};
  run(run_job, &j);
  cr_expect_eq(out->st.collected, 9);
  cr_expect_eq(out->st.failed, 3);
  cr_expect_eq(out->st.retried, 0, "401 is permanent");
  cr_expect_eq(out->st.spooled, 3);
  cr_expect_eq(nrecords(), 3);
  spool_info si;
  spool_scan(&si); /* also asserts that no spool file holds a secret */
  cr_expect_eq(si.msg, 3);
  cr_expect_eq(si.collected, 9);
  char *e = stderr_text();
  cr_expect_eq(count_in(e, "delivery failed"), 1,
               "identical failures are reported once:\n%s", e);
  cr_expect(strstr(e, "Invalid login details"), "%s", e);
  assert_no_secret("stderr", e);
  free(e);
  struct stat sb;
  cr_assert_eq(stat(spool_dir, &sb), 0);
  cr_expect_eq(sb.st_mode & 0777, 0700, "spool dir mode %o", sb.st_mode & 0777);
  DIR *d = opendir(spool_dir);
  for (struct dirent *ent; d && (ent = readdir(d));) {
    if (ent->d_name[0] == '.') continue;
    char path[400];
    snprintf(path, sizeof path, "%s/%s", spool_dir, ent->d_name);
    cr_assert_eq(stat(path, &sb), 0);
    cr_expect_eq(sb.st_mode & 0777, 0600, "%s mode %o", ent->d_name,
                 sb.st_mode & 0777);
  }
  if (d) closedir(d);
}

/* ---- a server that repeats the key (F11) ----------------------------------
 */

Test(reliability,
     a_server_echoing_the_key_gets_it_into_neither_stderr_nor_spool) {
  sms_server();
  const char *kv[] = {SMS_KV("ib-SECRET-echo-1", ca), "gt.retry_max", "2",
                      NULL};
  job j = {.kv = kv, .rounds = 1, .nodes = {3}, .things = {2}};
  run(run_job, &j);
  cr_expect_eq(out->st.failed, 1);
  cr_expect_eq(out->st.retried, 0, "a refused key is permanent");
  cr_expect_eq(out->st.spooled, 1);
  spool_info si;
  spool_scan(&si); /* asserts that no spool file holds a secret */
  cr_expect_eq(si.msg, 1);
  cr_expect(strstr(si.reason, "Authorization: App ***"), "reason: %s",
            si.reason);
  char *e = stderr_text();
  assert_no_secret("stderr", e);
  cr_expect(strstr(e, "Authorization: App ***"), "%s", e);
  free(e);
}

/* ---- a log that cannot be written (N6) -----------------------------------
 */

Test(reliability, a_failed_log_write_is_a_failed_message) {
  const char *kv[] = {"gt.backend", "log", "log.path", "/dev/full", NULL};
  job j = {.kv = kv, .rounds = 1, .nodes = {3}, .things = {2}};
  run(run_job, &j);
  cr_expect_eq(out->st.collected, 5);
  cr_expect_eq(out->st.sent, 0);
  cr_expect_eq(out->st.failed, 1);
  cr_expect_eq(out->st.spooled, 1);
  spool_info si;
  spool_scan(&si);
  cr_expect_eq(si.collected, 5, "collected == delivered (0) + spooled");
  cr_expect(strstr(si.reason, "log: write failed: No space left"), "%s",
            si.reason);
}

/* ---- a server that accepts and never answers ------------------------------
 * gt_collect waits for delivery at most gt.collect_wait_ms, and
 * gt_shutdown(ms) returns within about ms, spooling what is in flight. The
 * listener lives in the parent; the kernel completes the TCP handshake, the
 * TLS handshake never does. */

static int silent_listener(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  cr_assert_eq(listen(fd, 16), 0);
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

Test(reliability, hanging_server_bounds_collect_and_shutdown_then_spools) {
  int port, fd = silent_listener(&port);
  char url[80];
  snprintf(url, sizeof url, "https://127.0.0.1:%d/hook", port);
  snprintf(ca, sizeof ca, "%s", test_pki_file("ca.pem"));
  /* A request may hang for 30 s; gt_collect waits 400 ms for delivery and
   * gt_shutdown is given 1 s. */
  const char *kv[] = {HOOK_KV(url),         "gt.timeout_ms", "30000",
                      "gt.collect_wait_ms", "400",           NULL};
  job j = {.kv = kv,
           .rounds = 2,
           .nodes = {3, 1},
           .things = {2, 0},
           .shutdown_ms = 1000};
  run(run_job, &j);
  close(fd);
  cr_expect_eq(out->ret[0], 5);
  cr_expect_eq(out->ret[1], 1);
  for (int r = 0; r < 2; r++)
    cr_expect_lt(out->elapsed[r], 1500, "gt_collect %d took %lld ms", r,
                 (long long)out->elapsed[r]);
  cr_expect_lt(out->shutdown_ms, 1600, "gt_shutdown(1000) took %lld ms",
               (long long)out->shutdown_ms);
  cr_expect_eq(out->st.collected, 6, "counted at once, whatever delivery does");
  cr_expect_eq(out->st.sent, 0);
  cr_expect_eq(out->st.lost, 0);
  spool_info si;
  spool_scan(&si);
  cr_expect_eq(si.collected, 6, "every object is in the spool");
}
