/* The alertmanager backend against a REAL Prometheus Alertmanager cluster:
 * two replicas gossiping on loopback, configured with docs/alertmanager.yml
 * (the file docs/fleet.md documents), routing to a local webhook receiver.
 * Separate processes using gt post to every member; the cluster must notify
 * once, not once per replica. Without /usr/bin/prometheus-alertmanager the
 * cluster tests skip loudly, except under CI where they fail. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <gc.h> /* GC_THREADS: pthread_create registers with the GC */
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support.h"

extern char **environ;

#define AM_BIN "/usr/bin/prometheus-alertmanager"
#define DOC_CONFIG GT_SOURCE_DIR "/docs/alertmanager.yml"
/* The receiver URL docs/alertmanager.yml names; replaced with ours. */
#define DOC_RECEIVER "http://127.0.0.1:9099/gt-relay"
/* How long a replica waits per position before notifying, so the first
 * one's notification log has gossiped over: short, for a fast test. */
#define PEER_TIMEOUT_MS 2000

typedef struct am_proc {
  pid_t pid; /* of /usr/bin/timeout, which forwards SIGTERM */
  int web, cluster;
  char dir[256];
  char log[300];
} am_proc;

static test_server recv_srv;
static am_proc am[2];
static char workdir[64], config_path[300];

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* A port free for both TCP and UDP (the gossip uses both). */
static int free_port(void) {
  for (int tries = 0; tries < 50; tries++) {
    int t = socket(AF_INET, SOCK_STREAM, 0), u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = 0;
    if (bind(t, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(t, (struct sockaddr *)&a, &len) == 0 &&
        bind(u, (struct sockaddr *)&a, sizeof a) == 0)
      port = ntohs(a.sin_port);
    close(t);
    close(u);
    if (port) return port;
  }
  cr_assert_fail("no free port");
  return 0;
}

/* GT_TEST_ALERTMANAGER overrides the binary (another version, or a
 * missing path to check the skip). */
static const char *am_bin(void) {
  const char *e = getenv("GT_TEST_ALERTMANAGER");
  return e && *e ? e : AM_BIN;
}

static int have_alertmanager(void) {
  if (access(am_bin(), X_OK) == 0) return 1;
  const char *ci = getenv("CI");
  if (ci && *ci && strcmp(ci, "false") != 0 && strcmp(ci, "0") != 0)
    cr_assert_fail("CI is set but %s is missing: .ci/run must install the "
                   "Debian package prometheus-alertmanager",
                   am_bin());
  fprintf(stderr,
          "\n*** SKIPPING the Alertmanager cluster tests: %s is not "
          "installed (apt-get install prometheus-alertmanager). They fail "
          "instead when CI is set. ***\n\n",
          am_bin());
  return 0;
}

/* ---- HTTP GET for the Alertmanager API ---------------------------------- */

typedef struct buf {
  char *p;
  size_t n;
} buf;

static size_t on_data(char *d, size_t sz, size_t nm, void *ud) {
  buf *b = ud;
  char *p = realloc(b->p, b->n + sz * nm + 1);
  if (!p) return 0;
  memcpy(p + b->n, d, sz * nm);
  b->n += sz * nm;
  p[b->n] = '\0';
  b->p = p;
  return sz * nm;
}

/* GET http://127.0.0.1:port/path; the status (0 if none) and the JSON. */
static long http_get(int port, const char *path, json_t **out) {
  char url[200];
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
  CURL *c = curl_easy_init();
  buf b = {0};
  long status = 0;
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
  if (curl_easy_perform(c) == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  if (out) *out = b.p ? json_loads(b.p, 0, NULL) : NULL;
  free(b.p);
  return status;
}

/* ---- the cluster ------------------------------------------------------- */

/* docs/alertmanager.yml with the receiver URL pointing at our receiver. */
static void write_config(const char *receiver_url) {
  char *doc = slurp(DOC_CONFIG);
  cr_assert_not_null(doc, "cannot read %s", DOC_CONFIG);
  char *at = strstr(doc, DOC_RECEIVER);
  cr_assert_not_null(at, "%s no longer names " DOC_RECEIVER, DOC_CONFIG);
  cr_assert_null(strstr(at + 1, DOC_RECEIVER), "placeholder twice");
  snprintf(config_path, sizeof config_path, "%s/alertmanager.yml", workdir);
  FILE *f = fopen(config_path, "w");
  cr_assert_not_null(f);
  fprintf(f, "%.*s%s%s", (int)(at - doc), doc, receiver_url,
          at + strlen(DOC_RECEIVER));
  fclose(f);
  free(doc);
}

static void am_start(am_proc *a, const am_proc *peer) {
  snprintf(a->dir, sizeof a->dir, "%s/am-%d", workdir, a->web);
  cr_assert_eq(mkdir(a->dir, 0700), 0);
  snprintf(a->log, sizeof a->log, "%s.log", a->dir);
  char cfg[400], storage[300], web[64], listen[64], adv[64], peer_arg[64],
      peer_to[64];
  snprintf(cfg, sizeof cfg, "--config.file=%s", config_path);
  snprintf(storage, sizeof storage, "--storage.path=%s", a->dir);
  snprintf(web, sizeof web, "--web.listen-address=127.0.0.1:%d", a->web);
  snprintf(listen, sizeof listen, "--cluster.listen-address=127.0.0.1:%d",
           a->cluster);
  snprintf(adv, sizeof adv, "--cluster.advertise-address=127.0.0.1:%d",
           a->cluster);
  snprintf(peer_arg, sizeof peer_arg, "--cluster.peer=127.0.0.1:%d",
           peer->cluster);
  snprintf(peer_to, sizeof peer_to, "--cluster.peer-timeout=%dms",
           PEER_TIMEOUT_MS);
  /* timeout(1) bounds a replica's life should this test crash before its
   * fini; it forwards our SIGTERM. Gossip timings are shortened so the
   * cluster settles in about 2 s instead of a minute. */
  const char *argv[] = {"/usr/bin/timeout",
                        "90",
                        am_bin(),
                        cfg,
                        storage,
                        web,
                        listen,
                        adv,
                        peer_arg,
                        peer_to,
                        "--cluster.gossip-interval=50ms",
                        "--cluster.pushpull-interval=1s",
                        "--cluster.settle-timeout=3s",
                        "--cluster.probe-interval=200ms",
                        "--cluster.probe-timeout=100ms",
                        "--cluster.reconnect-interval=1s",
                        "--log.level=debug",
                        NULL};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, a->log, O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  int rc =
      posix_spawn(&a->pid, argv[0], &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  cr_assert_eq(rc, 0, "cannot start alertmanager: %s", strerror(rc));
}

static void am_stop(am_proc *a) {
  if (a->pid <= 0) return;
  kill(a->pid, SIGTERM);
  for (int i = 0; i < 250; i++) {
    if (waitpid(a->pid, NULL, WNOHANG) == a->pid) {
      a->pid = 0;
      return;
    }
    sleep_ms(20);
  }
  kill(a->pid, SIGKILL); /* timeout(1) then leaves it: its own timer ends it */
  waitpid(a->pid, NULL, 0);
  a->pid = 0;
}

static void am_dump_log(const am_proc *a) {
  char *log = slurp(a->log);
  if (!log) return;
  size_t n = strlen(log);
  fprintf(stderr, "---- %s (last 3000 bytes) ----\n%s\n", a->log,
          n > 3000 ? log + n - 3000 : log);
  free(log);
}

/* Both replicas up, each seeing two peers, gossip settled ("ready"). */
static void cluster_wait_ready(void) {
  for (int i = 0; i < 2; i++) {
    int ok = 0;
    for (int waited = 0; waited < 20000 && !ok; waited += 100) {
      json_t *st = NULL;
      if (http_get(am[i].web, "/api/v2/status", &st) == 200 && st) {
        json_t *c = json_object_get(st, "cluster");
        const char *status = json_string_value(json_object_get(c, "status"));
        ok = json_array_size(json_object_get(c, "peers")) == 2 && status &&
             strcmp(status, "ready") == 0;
      }
      json_decref(st);
      if (!ok) sleep_ms(100);
    }
    if (!ok) {
      am_dump_log(&am[0]);
      am_dump_log(&am[1]);
      cr_assert_fail("alertmanager on port %d did not form a settled "
                     "2-member cluster within 20 s",
                     am[i].web);
    }
  }
}

static void cluster_up(void) {
  char tmpl[] = "/tmp/gt-am-XXXXXX";
  cr_assert_not_null(mkdtemp(tmpl));
  snprintf(workdir, sizeof workdir, "%s", tmpl);
  server_start(&recv_srv, "webhook_receiver.py", false, NULL);
  char url[80];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/alertmanager", recv_srv.port);
  write_config(url);
  for (int i = 0; i < 2; i++) {
    am[i].web = free_port();
    do
      am[i].cluster = free_port();
    while (am[i].cluster == am[i].web ||
           (i == 1 &&
            (am[1].cluster == am[0].web || am[1].cluster == am[0].cluster)));
    if (i == 1)
      while (am[1].web == am[0].web || am[1].web == am[0].cluster)
        am[1].web = free_port();
  }
  am_start(&am[0], &am[1]);
  am_start(&am[1], &am[0]);
  cluster_wait_ready();
}

static void fini(void) {
  am_stop(&am[0]);
  am_stop(&am[1]);
  if (recv_srv.pid > 0 || recv_srv.dir[0]) server_stop(&recv_srv);
  if (workdir[0] && strncmp(workdir, "/tmp/gt-am-", 11) == 0) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", workdir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", workdir);
  }
}

/* ---- processes using gt ------------------------------------------------ */

typedef struct child {
  pid_t pid;
  char out[320], err[320];
} child;

/* Allocates and drops what a round lists: "Node=3,Thing=2". */
static void run_round(const char *spec) {
  char name[32];
  int n, used;
  while (sscanf(spec, "%31[^=]=%d%n", name, &n, &used) == 2) {
    test_make(n, name);
    spec += used;
    if (*spec == ',') spec++;
  }
}

static void *round_thread(void *spec) {
  run_round(spec);
  return NULL;
}

/* A separate process: gt_init with the alertmanager backend, one
 * gt_collect() per round (one batch each), stats written to c->out, its
 * stderr (gt's warnings) to c->err. */
static void child_start(child *c, const char *urls, const char *instance,
                        const char *const *rounds) {
  snprintf(c->out, sizeof c->out, "%s/%s.stats", workdir, instance);
  snprintf(c->err, sizeof c->err, "%s/%s.stderr", workdir, instance);
  fflush(NULL);
  c->pid = fork();
  cr_assert_geq(c->pid, 0);
  if (c->pid > 0) return;
  int fd = open(c->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) _exit(10);
  dup2(fd, 2);
  close(fd);
  gt_options *o = gt_options_new();
  const char *kv[] = {"gt.backend",
                      "alertmanager",
                      "gt.rate_per_minute",
                      "0",
                      "gt.retry_max",
                      "0",
                      "gt.batch_window_ms",
                      "600000",
                      "gt.timeout_ms",
                      "3000",
                      "alertmanager.url",
                      urls,
                      "alertmanager.service",
                      "fleet-test",
                      "alertmanager.instance",
                      instance,
                      "alertmanager.labels",
                      "env=ci, team=gc",
                      NULL};
  for (const char *const *p = kv; *p; p += 2)
    if (gt_options_set(o, p[0], p[1]) != 0) {
      fprintf(stderr, "set %s: %s\n", p[0], gt_last_error());
      _exit(11);
    }
  if (gt_init(o) != 0) {
    fprintf(stderr, "gt_init: %s\n", gt_last_error());
    _exit(12);
  }
  gt_options_free(o);
  size_t reported = 0;
  for (; *rounds; rounds++) {
    /* Allocated on a thread that then ends: no stale pointer can survive
     * in this thread's registers or stack (ASan builds keep some), so
     * every object is garbage at gt_collect(). */
    pthread_t t;
    if (pthread_create(&t, NULL, round_thread, (void *)*rounds) != 0 ||
        pthread_join(t, NULL) != 0)
      _exit(14);
    test_scrub_stack();
    reported += gt_collect();
  }
  gt_stats st;
  gt_get_stats(&st);
  FILE *f = fopen(c->out, "w");
  if (!f) _exit(13);
  fprintf(f,
          "{\"reported\":%zu,\"collected\":%llu,\"sent\":%llu,"
          "\"failed\":%llu,\"retried\":%llu,\"spooled\":%llu}\n",
          reported, (unsigned long long)st.collected,
          (unsigned long long)st.sent, (unsigned long long)st.failed,
          (unsigned long long)st.retried, (unsigned long long)st.spooled);
  fclose(f);
  gt_shutdown(5000);
  fflush(stderr);
  _exit(0);
}

/* Waits (bounded) for the child and returns its stats. */
static json_t *child_wait(child *c) {
  int st = 0;
  pid_t r = 0;
  for (int waited = 0; waited < 30000 && r == 0; waited += 20) {
    r = waitpid(c->pid, &st, WNOHANG);
    if (r == 0) sleep_ms(20);
  }
  if (r == 0) {
    kill(c->pid, SIGKILL);
    waitpid(c->pid, &st, 0);
  }
  char *err = slurp(c->err);
  cr_assert(r == c->pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
            "gt process %s failed (status %d):\n%s", c->out, st,
            err ? err : "");
  free(err);
  json_t *j = json_load_file(c->out, 0, NULL);
  cr_assert_not_null(j, "no stats from %s", c->out);
  return j;
}

static long long jint(json_t *o, const char *k) {
  return (long long)json_integer_value(json_object_get(o, k));
}

static const char *label(json_t *alert, const char *k) {
  return json_string_value(
      json_object_get(json_object_get(alert, "labels"), k));
}

/* The alert for instance/name in an array of alerts, or NULL. */
static json_t *find_alert(json_t *alerts, const char *instance,
                          const char *name) {
  size_t i;
  json_t *a;
  json_array_foreach(alerts, i, a) {
    const char *in = label(a, "instance"), *nm = label(a, "name");
    if (in && nm && strcmp(in, instance) == 0 && strcmp(nm, name) == 0)
      return a;
  }
  return NULL;
}

static const char *annotation(json_t *alert, const char *k) {
  return json_string_value(
      json_object_get(json_object_get(alert, "annotations"), k));
}

/* Alertmanager notifications the receiver got (webhook payloads). */
static json_t *notifications(void) {
  json_t *recs = server_records(&recv_srv), *out = json_array();
  size_t i;
  json_t *r;
  json_array_foreach(recs, i, r) {
    json_t *j = json_object_get(r, "json");
    if (json_object_get(j, "alerts")) json_array_append(out, j);
  }
  json_decref(recs);
  return out;
}

static void expect_alert(json_t *alerts, const char *instance, const char *name,
                         const char *collected) {
  json_t *a = find_alert(alerts, instance, name);
  cr_assert_not_null(a, "no alert for %s/%s in %s", instance, name,
                     json_dumps(alerts, JSON_COMPACT));
  cr_expect_str_eq(label(a, "alertname"), "GarbageCollected");
  cr_expect_str_eq(label(a, "service"), "fleet-test");
  cr_expect_str_eq(label(a, "env"), "ci");
  cr_expect_str_eq(label(a, "team"), "gc");
  cr_expect_str_eq(annotation(a, "collected"), collected, "%s/%s", instance,
                   name);
  cr_expect_not_null(annotation(a, "summary"));
}

static char urls[200];

static void set_urls(void) {
  snprintf(urls, sizeof urls, "http://127.0.0.1:%d,http://127.0.0.1:%d",
           am[0].web, am[1].web);
}

/* ---- tests -------------------------------------------------------------- */

TestSuite(alertmanager_cluster, .fini = fini, .timeout = 60);

Test(alertmanager_cluster, two_processes_one_notification) {
  if (!have_alertmanager()) cr_skip_test("prometheus-alertmanager missing");
  cluster_up();
  set_urls();
  const char *a[] = {"Node=3,Thing=2", NULL};
  const char *b[] = {"Node=4,Leaf=1", NULL};
  child ca, cb;
  child_start(&ca, urls, "fleet-a", a);
  child_start(&cb, urls, "fleet-b", b);
  json_t *sa = child_wait(&ca), *sb = child_wait(&cb);
  cr_expect_eq(jint(sa, "collected"), 5, "%s", json_dumps(sa, JSON_COMPACT));
  cr_expect_eq(jint(sb, "collected"), 5);
  cr_expect_eq(jint(sa, "sent"), 1);
  cr_expect_eq(jint(sb, "sent"), 1);
  cr_expect_eq(jint(sa, "failed") + jint(sb, "failed"), 0);
  json_decref(sa);
  json_decref(sb);

  /* Every member holds every alert: they were posted to each. */
  for (int i = 0; i < 2; i++) {
    json_t *alerts = NULL;
    cr_assert_eq(http_get(am[i].web, "/api/v2/alerts", &alerts), 200);
    cr_expect_eq(json_array_size(alerts), 4, "member %d: %s", i,
                 json_dumps(alerts, JSON_COMPACT));
    expect_alert(alerts, "fleet-a", "Node", "3");
    expect_alert(alerts, "fleet-a", "Thing", "2");
    expect_alert(alerts, "fleet-b", "Node", "4");
    expect_alert(alerts, "fleet-b", "Leaf", "1");
    json_decref(alerts);
  }

  /* group_wait (10 s in the docs' config) after the first alert, the
   * cluster notifies. Then wait past the second replica's turn (one peer
   * timeout) and more: a replica that missed the gossip would notify
   * again by then. */
  cr_assert_geq(server_wait_records(&recv_srv, 1, 25000), 1,
                "no notification within 25 s");
  sleep_ms(PEER_TIMEOUT_MS * 2 + 1000);
  json_t *n = notifications();
  cr_assert_eq(json_array_size(n), 1,
               "expected ONE notification from the cluster, got %zu: %s",
               json_array_size(n), json_dumps(n, JSON_COMPACT));
  json_t *note = json_array_get(n, 0);
  cr_expect_str_eq(json_string_value(json_object_get(note, "status")),
                   "firing");
  cr_expect_str_eq(json_string_value(json_object_get(
                       json_object_get(note, "groupLabels"), "service")),
                   "fleet-test");
  json_t *alerts = json_object_get(note, "alerts");
  cr_expect_eq(json_array_size(alerts), 4, "%s",
               json_dumps(alerts, JSON_COMPACT));
  expect_alert(alerts, "fleet-a", "Node", "3");
  expect_alert(alerts, "fleet-a", "Thing", "2");
  expect_alert(alerts, "fleet-b", "Node", "4");
  expect_alert(alerts, "fleet-b", "Leaf", "1");
  /* What the receiver got, kept next to the test (a CI artifact). */
  char *dump = json_dumps(note, JSON_INDENT(1) | JSON_SORT_KEYS);
  FILE *f = fopen("alertmanager-notification.json", "w");
  if (f) {
    fputs(dump, f);
    fclose(f);
  }
  free(dump);
  json_decref(n);
}

static int count_substr(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle))
    n++;
  return n;
}

Test(alertmanager_cluster, member_down_others_still_deliver) {
  if (!have_alertmanager()) cr_skip_test("prometheus-alertmanager missing");
  cluster_up();
  set_urls();
  am_stop(&am[1]); /* the second member goes away before anything is sent */
  const char *rounds[] = {"Node=3", "Thing=2", "Node=1", NULL};
  child c;
  child_start(&c, urls, "fleet-solo", rounds);
  json_t *st = child_wait(&c);
  /* Nothing lost: every batch counts as delivered (one member took it). */
  cr_expect_eq(jint(st, "collected"), 6);
  cr_expect_eq(jint(st, "reported"), 6);
  cr_expect_eq(jint(st, "sent"), 3);
  cr_expect_eq(jint(st, "failed"), 0);
  cr_expect_eq(jint(st, "spooled"), 0);
  json_decref(st);

  /* Reported once, clearly, over three batches. */
  char *err = slurp(c.err);
  char down[120];
  snprintf(down, sizeof down, "member http://127.0.0.1:%d is down", am[1].web);
  cr_expect_eq(count_substr(err, down), 1, "stderr:\n%s", err);
  cr_expect_eq(count_substr(err, "is down"), 1, "stderr:\n%s", err);
  cr_expect(strstr(err, "still delivering"), "stderr:\n%s", err);
  cr_expect_null(strstr(err, "delivery failed"), "stderr:\n%s", err);
  assert_no_secret("stderr", err);
  free(err);

  json_t *alerts = NULL;
  cr_assert_eq(http_get(am[0].web, "/api/v2/alerts", &alerts), 200);
  cr_expect_eq(json_array_size(alerts), 2, "%s",
               json_dumps(alerts, JSON_COMPACT));
  /* The same labels update one alert: Node's latest batch said 1. */
  json_t *node = find_alert(alerts, "fleet-solo", "Node");
  cr_assert_not_null(node);
  cr_expect_str_eq(annotation(node, "collected"), "1");
  cr_expect_not_null(find_alert(alerts, "fleet-solo", "Thing"));
  json_decref(alerts);

  cr_assert_geq(server_wait_records(&recv_srv, 1, 25000), 1,
                "the surviving member did not notify within 25 s");
  json_t *n = notifications();
  json_t *got = json_object_get(json_array_get(n, 0), "alerts");
  cr_expect_not_null(find_alert(got, "fleet-solo", "Node"));
  cr_expect_not_null(find_alert(got, "fleet-solo", "Thing"));
  json_decref(n);
}

/* ---- the backend alone: configuration, body, partial delivery ----------
 * These need no Alertmanager: a webhook receiver stands in for a member
 * (it records what an Alertmanager would be sent) and a closed port for a
 * member that is down. */

static char errfile[64];
static int saved_stderr = -1;
static test_server fake[2];

/* gt__warn writes to stderr: keep it in a file to count the reports. */
static void backend_up(void) {
  snprintf(errfile, sizeof errfile, "/tmp/gt-am-stderr-XXXXXX");
  int fd = mkstemp(errfile);
  cr_assert_geq(fd, 0);
  fflush(stderr);
  saved_stderr = dup(2);
  dup2(fd, 2);
  close(fd);
}

static void backend_down(void) {
  fflush(stderr);
  if (saved_stderr >= 0) {
    dup2(saved_stderr, 2);
    close(saved_stderr);
    saved_stderr = -1;
  }
  assert_file_no_secret(errfile);
  unlink(errfile);
  for (int i = 0; i < 2; i++)
    if (fake[i].dir[0]) server_stop(&fake[i]);
}

TestSuite(alertmanager_backend, .init = backend_up, .fini = backend_down,
          .timeout = 30);

static char *stderr_text(void) {
  fflush(stderr);
  char *t = slurp(errfile);
  return t ? t : strdup("");
}

Test(alertmanager_backend, bad_configuration_names_the_key) {
  const char *cases[][2] = {
      {"alertmanager.url", ""},
      {"alertmanager.url", "http://alertmanager.example.org:9093"},
      {"alertmanager.url", "gopher://127.0.0.1:9093"},
      {"alertmanager.url", "http://127.0.0.1:9093,http://127.0.0.1:9093/"},
      {"alertmanager.url", "http://127.0.0.1:9093,,"},
      {"alertmanager.service", ""},
      {"alertmanager.labels", "bad-name=x"},
      {"alertmanager.labels", "__reserved=x"},
      {"alertmanager.labels", "9lives=x"},
      {"alertmanager.labels", "instance=x"},
      {"alertmanager.labels", "env"},
      {"alertmanager.labels", "env=a,env=b"},
      {"alertmanager.labels", "env="},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    const char *kv[] = {"alertmanager.url",
                        "http://127.0.0.1:9093",
                        "alertmanager.service",
                        "svc",
                        cases[i][0],
                        cases[i][1],
                        NULL};
    gt_config cfg;
    void *st = NULL;
    int rc = test_open("alertmanager", kv, &st, &cfg);
    cr_expect_eq(rc, GT_EINVAL, "%s=%s accepted", cases[i][0], cases[i][1]);
    cr_expect(strncmp(gt_last_error(), cases[i][0], strlen(cases[i][0])) == 0,
              "%s=%s: %s", cases[i][0], cases[i][1], gt_last_error());
    if (rc == 0) test_backend(&cfg, "alertmanager")->close(st);
    gt__config_free(&cfg);
  }
}

Test(alertmanager_backend, good_configuration_opens) {
  const char *kv[] = {"alertmanager.url",
                      " http://127.0.0.1:9093/ , http://localhost:9095/api/v2/"
                      "alerts,https://am.example.org",
                      "alertmanager.service",
                      "svc",
                      "alertmanager.labels",
                      "env=prod, region=eu_1",
                      NULL};
  gt_config cfg;
  void *st = NULL;
  cr_assert_eq(test_open("alertmanager", kv, &st, &cfg), 0, "%s",
               gt_last_error());
  test_backend(&cfg, "alertmanager")->close(st);
  gt__config_free(&cfg);
}

/* A batch with one group "Node", as the pipeline hands it over. */
static void node_batch(gt_batch *b, gt_group *g, uint64_t n) {
  test_batch(b, n);
  uint32_t site = gt__intern_site("Node", NULL, 0);
  cr_assert_neq(site, 0);
  memset(g, 0, sizeof *g);
  g->name_id = gt__site(site)->name_id;
  g->count = n;
  g->bytes = 32 * n;
  b->groups = g;
  b->ngroups = 1;
  b->bytes = g->bytes;
}

static int am_send_one(void *st, uint64_t n, gt_send_result *res) {
  gt_batch b;
  gt_group g;
  node_batch(&b, &g, n);
  char text[64];
  snprintf(text, sizeof text, "%llu objects collected", (unsigned long long)n);
  gt_message m = {.text = text, .batch = &b};
  memset(res, 0, sizeof *res);
  int rc = gt__backend_alertmanager.send(st, &m, res);
  assert_no_secret("detail", res->detail);
  return rc;
}

Test(alertmanager_backend, body_and_one_report_per_outage) {
  server_start(&fake[0], "webhook_receiver.py", false, NULL);
  int down_port = free_port();
  char urls_kv[120], down_label[64];
  snprintf(urls_kv, sizeof urls_kv, "http://127.0.0.1:%d,http://127.0.0.1:%d",
           fake[0].port, down_port);
  snprintf(down_label, sizeof down_label, "http://127.0.0.1:%d", down_port);
  const char *kv[] = {"alertmanager.url",
                      urls_kv,
                      "alertmanager.service",
                      "svc",
                      "alertmanager.labels",
                      "env=test",
                      NULL};
  gt_config cfg;
  void *st = NULL;
  cr_assert_eq(test_open("alertmanager", kv, &st, &cfg), 0, "%s",
               gt_last_error());
  gt_send_result res;

  /* Delivered although the second member is down; the detail says so. */
  cr_expect_eq(am_send_one(st, 42, &res), 0, "%s", res.detail);
  cr_expect(strstr(res.detail, "accepted by 1 of 2 members"), "%s", res.detail);
  cr_expect(strstr(res.detail, down_label), "%s", res.detail);
  cr_expect_eq(am_send_one(st, 7, &res), 0, "%s", res.detail);

  cr_assert_eq(server_wait_records(&fake[0], 2, 3000), 2);
  json_t *recs = server_records(&fake[0]);
  json_t *r = json_array_get(recs, 0);
  cr_expect_str_eq(json_string_value(json_object_get(r, "path")),
                   "/api/v2/alerts");
  json_t *alerts = json_object_get(r, "json");
  cr_assert(json_is_array(alerts) && json_array_size(alerts) == 1, "%s",
            json_dumps(alerts, JSON_COMPACT));
  json_t *a = json_array_get(alerts, 0);
  cr_expect_str_eq(label(a, "alertname"), "GarbageCollected");
  cr_expect_str_eq(label(a, "service"), "svc");
  cr_expect_str_eq(label(a, "name"), "Node");
  cr_expect_str_eq(label(a, "env"), "test");
  /* Default instance: host:pid of this process. */
  char pid[32];
  snprintf(pid, sizeof pid, ":%ld", (long)getpid());
  const char *inst = label(a, "instance");
  cr_expect(inst && strlen(inst) > strlen(pid) &&
                strcmp(inst + strlen(inst) - strlen(pid), pid) == 0,
            "instance %s", inst);
  cr_expect_str_eq(annotation(a, "summary"), "42 objects collected");
  cr_expect_str_eq(annotation(a, "collected"), "42");
  cr_expect_str_eq(annotation(a, "bytes"), "1344");
  cr_expect_str_eq(annotation(a, "batch_sampled"), "42");
  const char *s = json_string_value(json_object_get(a, "startsAt"));
  const char *e = json_string_value(json_object_get(a, "endsAt"));
  cr_assert(s && e && strlen(s) == 20 && strlen(e) == 20, "%s %s", s, e);
  cr_expect_gt(strcmp(e, s), 0, "endsAt %s not after startsAt %s", e, s);
  json_decref(recs);

  char *err = stderr_text();
  cr_expect_eq(count_substr(err, "is down"), 1, "%s", err);
  cr_expect(strstr(err, down_label), "%s", err);
  free(err);

  /* The member comes back: said once, and it gets the next batch. */
  char port_arg[16];
  snprintf(port_arg, sizeof port_arg, "%d", down_port);
  const char *extra[] = {"--port", port_arg, NULL};
  server_start(&fake[1], "webhook_receiver.py", false, extra);
  cr_expect_eq(am_send_one(st, 1, &res), 0, "%s", res.detail);
  cr_expect(strstr(res.detail, "accepted by 2 of 2 members"), "%s", res.detail);
  cr_expect_eq(server_wait_records(&fake[1], 1, 3000), 1);
  err = stderr_text();
  cr_expect_eq(count_substr(err, "is back"), 1, "%s", err);
  cr_expect_eq(count_substr(err, "is down"), 1, "%s", err);
  free(err);

  test_backend(&cfg, "alertmanager")->close(st);
  gt__config_free(&cfg);
}

Test(alertmanager_backend, all_members_down_is_retryable) {
  char urls_kv[120];
  snprintf(urls_kv, sizeof urls_kv, "http://127.0.0.1:%d,http://127.0.0.1:%d",
           free_port(), free_port());
  const char *kv[] = {"alertmanager.url", urls_kv, "alertmanager.service",
                      "svc", NULL};
  gt_config cfg;
  void *st = NULL;
  cr_assert_eq(test_open("alertmanager", kv, &st, &cfg), 0, "%s",
               gt_last_error());
  gt_send_result res;
  cr_expect_eq(am_send_one(st, 3, &res), GT_ESEND);
  cr_expect(res.retryable);
  cr_expect(strstr(res.detail, "accepted by 0 of 2 members"), "%s", res.detail);
  cr_expect_str_eq(gt_last_error(), res.detail);
  test_backend(&cfg, "alertmanager")->close(st);
  gt__config_free(&cfg);
}

Test(alertmanager_backend,
     refused_credentials_are_an_auth_failure_and_stay_secret) {
  /* A member behind a login that repeats what it was sent. */
  const char *extra[] = {"--status", "401", "--echo", NULL};
  server_start(&fake[0], "webhook_receiver.py", false, extra);
  char urls_kv[160];
  snprintf(urls_kv, sizeof urls_kv,
           "http://" URL_USER ":" URL_PASSWORD "@127.0.0.1:%d", fake[0].port);
  const char *kv[] = {"alertmanager.url", urls_kv, "alertmanager.service",
                      "svc", NULL};
  gt_config cfg;
  void *st = NULL;
  cr_assert_eq(test_open("alertmanager", kv, &st, &cfg), 0, "%s",
               gt_last_error());
  gt_send_result res;
  cr_expect_eq(am_send_one(st, 3, &res), GT_ESEND); /* no secret in it */
  cr_expect(res.auth_failed, "%s", res.detail);
  cr_expect_not(res.retryable, "%s", res.detail);
  cr_expect(strstr(res.detail, "HTTP 401"), "%s", res.detail);
  cr_expect(strstr(res.detail, "Basic ***"), "%s", res.detail);
  assert_no_secret("gt_last_error", gt_last_error());
  char *err = stderr_text(); /* the "member is down" report */
  assert_no_secret("stderr", err);
  cr_expect(strstr(err, "Basic ***"), "%s", err);
  free(err);
  test_backend(&cfg, "alertmanager")->close(st);
  gt__config_free(&cfg);

  /* With another member merely down, it may still go through later. */
  snprintf(urls_kv, sizeof urls_kv,
           "http://" URL_USER ":" URL_PASSWORD
           "@127.0.0.1:%d,http://127.0.0.1:%d",
           fake[0].port, free_port());
  cr_assert_eq(test_open("alertmanager", kv, &st, &cfg), 0, "%s",
               gt_last_error());
  cr_expect_eq(am_send_one(st, 3, &res), GT_ESEND);
  cr_expect(res.retryable, "%s", res.detail);
  cr_expect_not(res.auth_failed, "%s", res.detail);
  test_backend(&cfg, "alertmanager")->close(st);
  gt__config_free(&cfg);
}
