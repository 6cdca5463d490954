/* gt-bench child: one workload under one mode, in a fresh process (gt_init
 * runs once per process and bdwgc state persists, so every measurement gets
 * its own). Prints exactly one JSON object on stdout.
 *
 * Timed section: the workload only (gt_init / GC_INIT before it). After it,
 * an untimed "final" phase forces collections until the number of reported
 * objects stops growing, so "reported" says how many objects the mechanism
 * reported at all, and "reported_in_run" how many it had reported by the end
 * of the timed section.
 *
 * Workload e2e is timed differently (run_e2e): from the first allocation to
 * the moment the loopback mock of Infobip has recorded SMS texts whose
 * counts add up to every object, collections and deliveries included.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#ifndef GC_THREADS
#define GC_THREADS
#endif
#include <gc/gc.h>
#include <gc/gc_disclaim.h>
#include <gc/gc_inline.h>
#include <gc/gc_mark.h>

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "gc/ring.h"
#include "gt/gt.h"

/* ---- measurement helpers ------------------------------------------------ */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void cpu_s(double *user, double *sys) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  *user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6;
  *sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

static long maxrss_kb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

static long rss_kb(void) {
  long pages = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return -1;
  if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = -1;
  fclose(f);
  return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* bdwgc keeps no peak; it calls this hook whenever the heap grows. */
static _Atomic uint64_t g_heap_peak;
static void GC_CALLBACK on_heap_resize(GC_word size) {
  uint64_t cur = atomic_load_explicit(&g_heap_peak, memory_order_relaxed);
  while (size > cur && !atomic_compare_exchange_weak_explicit(
                           &g_heap_peak, &cur, size, memory_order_relaxed,
                           memory_order_relaxed)) {
  }
}

/* Clears stale pointers left on the stack by the workload so that the final
 * collections are not fooled by conservative stack scanning. */
static void __attribute__((noinline)) scrub_stack(void) {
  volatile char buf[256 * 1024];
  memset((char *)buf, 0, sizeof buf);
}

/* bdwgc warnings (ordered finalization prints one line per object caught in
 * a cycle, millions on `graph`) are counted, not printed. */
static _Atomic uint64_t g_gc_warnings;
static void GC_CALLBACK count_warning(char *msg, GC_word arg) {
  (void)msg;
  (void)arg;
  atomic_fetch_add_explicit(&g_gc_warnings, 1, memory_order_relaxed);
}

static void die(const char *what) {
  fprintf(stderr, "gt-bench child: %s\n", what);
  exit(2);
}

/* ---- modes ----------------------------------------------------------------
 */

/* A raw-mode notification: one relaxed atomic increment. */
static _Atomic uint64_t g_reported;

static void GC_CALLBACK count_finalizer(void *obj, void *cd) {
  (void)obj;
  (void)cd;
  atomic_fetch_add_explicit(&g_reported, 1, memory_order_relaxed);
}

/* Raw disclaim (what gt's default mechanism is built on): an own kind whose
 * disclaim procedure runs at sweep for every unmarked object of the kind,
 * free-list entries included. A live object carries a tag in the last word of
 * its slot, which bdwgc's +1 byte and 16-byte rounding leave free for the
 * sizes used here (a swept slot is cleared, so free entries carry no tag).
 * The heap use is then that of GC_MALLOC. */
#define RAW_TAG ((uintptr_t)0x5bd1e9955bd1e995u) /* odd: never a pointer */
static unsigned g_raw_kind;

static int GC_CALLBACK raw_disclaim(void *obj) {
  size_t sz = GC_size(obj);
  uintptr_t *tag = (uintptr_t *)((char *)obj + sz - sizeof(uintptr_t));
  if (*tag == RAW_TAG) {
    *tag = 0;
    atomic_fetch_add_explicit(&g_reported, 1, memory_order_relaxed);
  }
  return 0;
}

static const char *g_name = "Node";

typedef void *(*alloc_fn)(size_t size, int atomic);

static inline void *checked(void *p) {
  if (!p) die("out of memory");
  return p;
}

static void *a_plain(size_t n, int atomic) {
  return checked(atomic ? GC_MALLOC_ATOMIC(n) : GC_MALLOC(n));
}
static void *a_finalizer(size_t n, int atomic) {
  void *p = a_plain(n, atomic);
  GC_register_finalizer(p, count_finalizer, NULL, NULL, NULL);
  return p;
}
static void *a_finalizer_no_order(size_t n, int atomic) {
  void *p = a_plain(n, atomic);
  GC_register_finalizer_no_order(p, count_finalizer, NULL, NULL, NULL);
  return p;
}
static void *a_disclaim(size_t n, int atomic) {
  (void)atomic; /* the kind is scanned: one kind keeps the baseline simple */
  void *p = checked(GC_generic_malloc(n, (int)g_raw_kind));
  size_t sz = GC_size(p);
  if (sz < n + sizeof(uintptr_t)) die("disclaim mode: no slack for the tag");
  *(uintptr_t *)((char *)p + sz - sizeof(uintptr_t)) = RAW_TAG;
  return p;
}
/* The same kind, allocated through per-thread free lists refilled by
 * GC_generic_malloc_many (gc_inline.h's GC_FAST_MALLOC_GRANS), as bdwgc does
 * for its own kinds: no allocation lock per object. The lists live in an
 * uncollectable (hence traced) per-thread array, as gc_inline.h requires. */
static __thread void **t_tiny_fl;
static void *a_disclaim_tl(size_t n, int atomic) {
  (void)atomic;
  void *p;
  if (!t_tiny_fl) {
    t_tiny_fl = GC_MALLOC_UNCOLLECTABLE(GC_TINY_FREELISTS * sizeof(void *));
    if (!t_tiny_fl) die("out of memory");
  }
  /* one extra byte, as GC_MALLOC adds with interior pointers recognised */
  size_t granules = (n + 1 + GC_GRANULE_BYTES - 1) / GC_GRANULE_BYTES;
  GC_FAST_MALLOC_GRANS(p, granules, t_tiny_fl, 0, (int)g_raw_kind,
                       GC_generic_malloc(n, (int)g_raw_kind), *(void **)p = 0);
  checked(p);
  size_t sz = GC_size(p);
  if (sz < n + sizeof(uintptr_t)) die("disclaim mode: no slack for the tag");
  *(uintptr_t *)((char *)p + sz - sizeof(uintptr_t)) = RAW_TAG;
  return p;
}
static void *a_gt(size_t n, int atomic) {
  return checked(atomic ? gt_malloc_atomic(n, g_name) : gt_malloc(n, g_name));
}
static void *a_gt_watch(size_t n, int atomic) {
  void *p = a_plain(n, atomic);
  if (gt_watch(p, g_name) != 0) die("gt_watch failed");
  return p;
}

typedef struct mode_impl {
  const char *name;
  alloc_fn alloc;
  const char *gt_opts; /* extra gt options, "k=v;k=v" */
} mode_impl;

static const mode_impl g_impls[] = {
    {"plain", a_plain, NULL},
    {"finalizer", a_finalizer, NULL},
    {"finalizer-no-order", a_finalizer_no_order, NULL},
    {"disclaim", a_disclaim, NULL},
    {"disclaim-tl", a_disclaim_tl, NULL},
    {"gt", a_gt, ""},
    {"gt-finalizer", a_gt, "gt.alloc_mechanism=finalizer"},
    {"gt-watch", a_gt_watch, ""},
    {"gt-sample-alloc", a_gt, "gt.alloc_sample_every=1000"},
};

/* Options every gt mode gets: the log backend writing to /dev/null, and no
 * rate limit to speak of, so every batch is rendered and "sent". */
static const char *const g_gt_base_opts =
    "gt.backend=log;log.path=/dev/null;gt.rate_per_minute=100000000;"
    "gt.daily_cap=0";

static int set_opts(gt_options *o, const char *list) {
  char *copy = strdup(list), *save = NULL;
  int rc = 0;
  for (char *kv = strtok_r(copy, ";", &save); kv && rc == 0;
       kv = strtok_r(NULL, ";", &save)) {
    char *eq = strchr(kv, '=');
    if (!eq) continue;
    *eq = '\0';
    rc = gt_options_set(o, kv, eq + 1);
    if (rc != 0)
      fprintf(stderr, "gt-bench child: option %s=%s: %s (%s)\n", kv, eq + 1,
              gt_strerror(rc), gt_last_error());
  }
  free(copy);
  return rc;
}

/* ---- workloads ----------------------------------------------------------- */

typedef struct node {
  struct node *l, *r;
  uintptr_t value;
} node;

static alloc_fn g_alloc;

static node *make_tree(int d) {
  node *n = g_alloc(sizeof(node), 0);
  n->value = (uintptr_t)d * 2 + 1;
  if (d > 0) {
    n->l = make_tree(d - 1);
    n->r = make_tree(d - 1);
  }
  return n;
}

static uint64_t walk_tree(const node *n) {
  uint64_t c = 0;
  while (n) {
    c += 1 + walk_tree(n->l);
    n = n->r;
  }
  return c;
}

/* One long-lived tree of depth D-2, then for d = 4, 6, ..., D build, walk
 * and drop 2^(D-d+4) complete trees of depth d. Returns nodes allocated. */
static uint64_t trees(int D) {
  uint64_t count = 0, walked = 0;
  node *keep = make_tree(D - 2);
  count += ((uint64_t)1 << (D - 1)) - 1;
  for (int d = 4; d <= D; d += 2) {
    uint64_t iters = (uint64_t)1 << (D - d + 4);
    for (uint64_t i = 0; i < iters; i++) {
      node *t = make_tree(d);
      walked += walk_tree(t);
      count += ((uint64_t)1 << (d + 1)) - 1;
    }
  }
  walked += walk_tree(keep);
  if (walked != count) die("trees: walked count differs from allocated");
  keep = NULL;
  return count;
}

static uint64_t xorshift(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

/* Isolated small objects: half pointer-free (32 B), half pointer-holding
 * (32 B: a pointer to a long-lived anchor and one to itself, a 1-cycle).
 * Each replaces a random entry of a 4096-entry keep set. */
static uint64_t churn(uint64_t n) {
  enum { K = 4096 };
  void **keep = GC_MALLOC(K * sizeof(void *));
  void **anchor = GC_MALLOC(4 * sizeof(void *));
  uint64_t rng = 0x9e3779b97f4a7c15u;
  if (!keep || !anchor) die("out of memory");
  for (uint64_t i = 0; i < n; i++) {
    int atomic = (int)(i & 1);
    void **p = g_alloc(32, atomic);
    if (atomic) {
      ((uint64_t *)p)[0] = i;
    } else {
      p[0] = anchor;
      p[1] = p;
    }
    keep[xorshift(&rng) & (K - 1)] = p;
  }
  memset(keep, 0, K * sizeof(void *));
  return n;
}

/* Random pointer graphs with cycles: graphs of `size` nodes (4 words: three
 * edges to random nodes of the same graph, a value); the last one stays
 * live while the next is built, the others become cyclic garbage. The index
 * arrays are plain GC_MALLOC in every mode and not counted. */
typedef struct gnode {
  struct gnode *e[3];
  uintptr_t value;
} gnode;

static uint64_t graph(uint64_t total, uint64_t size) {
  uint64_t rng = 0x2545f4914f6cdd1du, count = 0;
  gnode **live = NULL;
  while (count < total) {
    uint64_t m = size < total - count ? size : total - count;
    gnode **idx = GC_MALLOC(m * sizeof(gnode *));
    if (!idx) die("out of memory");
    for (uint64_t i = 0; i < m; i++) {
      idx[i] = g_alloc(sizeof(gnode), 0);
      idx[i]->value = 2 * i + 1;
    }
    for (uint64_t i = 0; i < m; i++)
      for (int k = 0; k < 3; k++)
        idx[i]->e[k] = idx[xorshift(&rng) % m];
    count += m;
    live = idx; /* the previous graph is now garbage */
  }
  (void)live;
  return count;
}

/* 2 (nthreads) mutator threads, each running trees(D) (registered with
 * bdwgc: GC_THREADS redirects pthread_create to GC_pthread_create). */
static void *trees_thread(void *arg) {
  int D = *(int *)arg;
  return (void *)(uintptr_t)trees(D);
}

static uint64_t threads(int nthreads, int D) {
  pthread_t th[16];
  uint64_t count = 0;
  if (nthreads > 16) nthreads = 16;
  for (int i = 0; i < nthreads; i++)
    if (pthread_create(&th[i], NULL, trees_thread, &D) != 0)
      die("pthread_create");
  for (int i = 0; i < nthreads; i++) {
    void *ret = NULL;
    pthread_join(th[i], &ret);
    count += (uint64_t)(uintptr_t)ret;
  }
  return count;
}

/* ---- pipeline: the event ring alone ------------------------------------- */

typedef struct ring_prod {
  gt_ring *r;
  uint64_t n;
  uint64_t full_spins;
} ring_prod;

static void *ring_producer(void *arg) {
  ring_prod *rp = arg;
  gt_event ev = {.kind = GT_EV_COLLECTED, .size = 24};
  for (uint64_t i = 0; i < rp->n; i++) {
    ev.site = (uint32_t)(i & 0xfffff);
    ev.birth_gc = i;
    while (!gt__ring_push(rp->r, &ev))
      rp->full_spins++;
  }
  return NULL;
}

static int run_pipeline(int rep, const bench_params *p) {
  long rss0 = rss_kb();
  gt_ring *r = gt__ring_new(p->ring_cap);
  if (!r) die("gt__ring_new failed");
  size_t cap = gt__ring_capacity(r);
  uint64_t rounds = p->ring_events / cap;
  if (rounds == 0) rounds = 1;
  gt_event ev = {.kind = GT_EV_COLLECTED, .size = 24}, out;
  double push_s = 0, pop_s = 0;
  uint64_t pushed = 0, popped = 0, sum = 0, bad = 0;
  long rss_first = 0;

  double u0, s0, u1, s1;
  cpu_s(&u0, &s0);
  double t_all = now_s();
  /* Phase 1, one thread: fill the ring, then drain it, `rounds` times. */
  for (uint64_t k = 0; k < rounds; k++) {
    double t0 = now_s();
    for (size_t i = 0; i < cap; i++) {
      ev.birth_gc = i;
      ev.site = (uint32_t)i;
      pushed += gt__ring_push(r, &ev);
    }
    double t1 = now_s();
    if (gt__ring_push(r, &ev)) bad++; /* must be full now */
    double t2 = now_s();
    while (gt__ring_pop(r, &out)) {
      sum += out.birth_gc;
      popped++;
    }
    double t3 = now_s();
    push_s += t1 - t0;
    pop_s += t3 - t2;
    if (k == 0) rss_first = rss_kb();
  }
  long rss_after1 = rss_kb();
  uint64_t expect = rounds * ((uint64_t)cap * (cap - 1) / 2);
  if (pushed != rounds * cap || popped != pushed || sum != expect) bad++;

  /* Phase 2: one producer thread, this thread drains concurrently. */
  ring_prod rp = {.r = r, .n = rounds * cap};
  pthread_t th;
  double tc0 = now_s();
  if (pthread_create(&th, NULL, ring_producer, &rp) != 0) die("pthread");
  uint64_t got = 0, csum = 0;
  while (got < rp.n) {
    if (gt__ring_pop(r, &out)) {
      csum += out.birth_gc;
      got++;
    }
  }
  pthread_join(th, NULL);
  double tc1 = now_s();
  if (csum != rp.n * (rp.n - 1) / 2) bad++;
  long rss_after2 = rss_kb();
  double wall = now_s() - t_all;
  cpu_s(&u1, &s1);
  gt__ring_free(r);

  double push_ns = push_s * 1e9 / (double)pushed;
  double drain_eps = (double)popped / pop_s;
  double conc_eps = (double)rp.n / (tc1 - tc0);
  printf("{\"workload\":\"pipeline\",\"mode\":\"ring\",\"rep\":%d,\"ok\":%s,"
         "\"wall_s\":%.6f,\"cpu_s\":%.6f,\"user_s\":%.6f,\"sys_s\":%.6f,"
         "\"maxrss_kb\":%ld,\"ring_capacity\":%zu,\"event_bytes\":%zu,"
         "\"ring_bytes\":%zu,\"events\":%llu,\"push_ns\":%.3f,"
         "\"pop_ns\":%.3f,\"drain_events_per_s\":%.0f,"
         "\"concurrent_events_per_s\":%.0f,\"concurrent_full_spins\":%llu,"
         "\"rss_before_kb\":%ld,\"rss_after_first_round_kb\":%ld,"
         "\"rss_after_kb\":%ld,\"rss_growth_after_first_round_kb\":%ld,"
         "\"rss_growth_concurrent_kb\":%ld,"
         "\"allocated\":%llu,\"reported\":%llu,\"events_per_s\":%.0f}\n",
         rep, bad ? "false" : "true", wall, (u1 - u0) + (s1 - s0), u1 - u0,
         s1 - s0, maxrss_kb(), cap, sizeof(gt_event), cap * sizeof(gt_event),
         (unsigned long long)pushed, push_ns, pop_s * 1e9 / (double)popped,
         drain_eps, conc_eps, (unsigned long long)rp.full_spins, rss0,
         rss_first, rss_after2, rss_after1 - rss_first, rss_after2 - rss_after1,
         (unsigned long long)pushed, (unsigned long long)popped, drain_eps);
  return bad ? 1 : 0;
}

/* ---- e2e: objects -> batches -> SMS backend -> loopback TLS mock -------- */

/* Mode `gt`: gt_malloc objects, gt.backend=sms against the mock, at the
 * configured rate of BENCH_E2E_RATE messages a minute, default batching.
 * Mode `seed`: the seed blog post's design, GC_MALLOC plus one ordered
 * finalizer per object that POSTs one SMS (synchronously, HTTPS verified
 * against the test CA, one reused curl handle), as its __del__ does. */

static const char *need_env(const char *name) {
  const char *v = getenv(name);
  if (!v || !*v) {
    fprintf(stderr,
            "gt-bench child: e2e needs $%s; run it through the driver "
            "(gt-bench --workloads e2e), which starts the mock server\n",
            name);
    exit(2);
  }
  return v;
}

static long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* What the mock recorded from `offset` on: SMS POSTs it answered with 200,
 * and the objects their texts count ("1,234 objects collected ..." or the
 * single-object text, 1). Lines still being written are left for later. */
typedef struct sms_tally {
  uint64_t posts, objects, unparsed;
} sms_tally;

static uint64_t text_count(const char *t, bool *ok) {
  static const char single[] = "The object with name ";
  if (strncmp(t, single, sizeof single - 1) == 0) return 1;
  uint64_t v = 0;
  bool digits = false;
  const char *p = t;
  for (; *p; p++) {
    if (*p >= '0' && *p <= '9') {
      v = v * 10 + (uint64_t)(*p - '0');
      digits = true;
    } else if (!(*p == ',' && digits)) {
      break;
    }
  }
  if (!digits || strncmp(p, " objects collected", 18) != 0) {
    *ok = false;
    return 0;
  }
  return v;
}

static void tally_record(const char *path, long offset, sms_tally *t) {
  memset(t, 0, sizeof *t);
  FILE *f = fopen(path, "r");
  if (!f) return;
  if (fseek(f, offset, SEEK_SET) != 0) {
    fclose(f);
    return;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, f)) > 0) {
    if (line[n - 1] != '\n') break; /* being written */
    json_t *e = json_loads(line, 0, NULL);
    if (!e) {
      t->unparsed++;
      continue;
    }
    const char *ep = json_string_value(json_object_get(e, "path"));
    if (json_integer_value(json_object_get(e, "status")) == 200 && ep &&
        strcmp(ep, "/sms/3/messages") == 0) {
      t->posts++;
      json_t *msgs = json_object_get(json_object_get(e, "json"), "messages");
      size_t i;
      json_t *m;
      json_array_foreach(msgs, i, m) {
        const char *text = json_string_value(
            json_object_get(json_object_get(m, "content"), "text"));
        bool ok = text != NULL;
        uint64_t c = text ? text_count(text, &ok) : 0;
        if (!ok) t->unparsed++;
        t->objects += c;
      }
    }
    json_decref(e);
  }
  free(line);
  fclose(f);
}

static CURL *g_seed_curl;
static pthread_mutex_t g_seed_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t g_seed_ok, g_seed_failed;

static size_t discard_body(char *p, size_t size, size_t n, void *ud) {
  (void)p;
  (void)ud;
  return size * n;
}

/* The seed's __del__: one SMS per object, sent before the finalizer
 * returns. */
static void GC_CALLBACK seed_finalizer(void *obj, void *cd) {
  (void)obj;
  char body[512];
  snprintf(body, sizeof body,
           "{\"messages\":[{\"sender\":\"GarbageTexts\",\"destinations\":"
           "[{\"to\":\"%s\"}],\"content\":{\"text\":\"The object with name "
           "%s is being removed from memory!\"}}]}",
           BENCH_E2E_TO, (const char *)cd);
  long code = 0;
  pthread_mutex_lock(&g_seed_mu);
  curl_easy_setopt(g_seed_curl, CURLOPT_POSTFIELDS, body);
  CURLcode rc = curl_easy_perform(g_seed_curl);
  if (rc == CURLE_OK)
    curl_easy_getinfo(g_seed_curl, CURLINFO_RESPONSE_CODE, &code);
  pthread_mutex_unlock(&g_seed_mu);
  if (rc == CURLE_OK && code == 200)
    atomic_fetch_add(&g_seed_ok, 1);
  else
    atomic_fetch_add(&g_seed_failed, 1);
  atomic_fetch_add(&g_reported, 1);
}

static void *a_seed(size_t n, int atomic) {
  void *p = a_plain(n, atomic);
  GC_register_finalizer(p, seed_finalizer, (void *)g_name, NULL, NULL);
  return p;
}

static struct curl_slist *seed_open(const char *hostport, const char *ca) {
  char url[300];
  snprintf(url, sizeof url, "https://%s/sms/3/messages", hostport);
  struct curl_slist *h = NULL;
  h = curl_slist_append(h, "Authorization: App " BENCH_E2E_KEY);
  h = curl_slist_append(h, "Content-Type: application/json");
  h = curl_slist_append(h, "Accept: application/json");
  if (!h || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
      !(g_seed_curl = curl_easy_init()))
    die("seed: libcurl setup failed");
  CURL *c = g_seed_curl;
  curl_easy_setopt(c, CURLOPT_URL, url); /* copied by libcurl */
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  /* the mock answers only garbage-texts' user agent */
  curl_easy_setopt(c, CURLOPT_USERAGENT, "garbage-texts/seed-bench");
  curl_easy_setopt(c, CURLOPT_CAINFO, ca);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
  return h;
}

static uint64_t reported_now(bool gt);

typedef struct e2e_arg {
  uint64_t n;
} e2e_arg;

/* Allocates n 24-byte objects (scanned, holding no pointer), each replacing
 * a slot of a 1024-entry keep set, so all die young; the thread exits
 * after, so no stale stack word of it keeps one alive. */
static void *e2e_alloc_thread(void *arg) {
  enum { K = 1024 };
  e2e_arg *ea = arg;
  node **keep = GC_MALLOC(K * sizeof(node *));
  if (!keep) die("out of memory");
  for (uint64_t i = 0; i < ea->n; i++) {
    node *p = g_alloc(sizeof(node), 0);
    p->value = 2 * i + 1; /* isolated: no finalization order to respect */
    keep[i & (K - 1)] = p;
  }
  memset(keep, 0, K * sizeof(node *));
  return NULL;
}

/* Ends a result line: gt's counters (st NULL: none), then closes stdout so
 * the driver has the result even if shutdown hangs, then shuts gt down. */
static void finish_json(const gt_stats *st) {
  if (st)
    printf(",\"gt\":{\"allocated\":%llu,\"tracked\":%llu,\"collected\":%llu,"
           "\"estimated\":%llu,\"sampled\":%llu,\"batches\":%llu,"
           "\"sent\":%llu,\"failed\":%llu,\"retried\":%llu,"
           "\"spooled\":%llu,\"lost\":%llu,\"held\":%llu,"
           "\"overflowed\":%llu,\"bytes\":%llu}",
           (unsigned long long)st->allocated, (unsigned long long)st->tracked,
           (unsigned long long)st->collected, (unsigned long long)st->estimated,
           (unsigned long long)st->sampled, (unsigned long long)st->batches,
           (unsigned long long)st->sent, (unsigned long long)st->failed,
           (unsigned long long)st->retried, (unsigned long long)st->spooled,
           (unsigned long long)st->lost, (unsigned long long)st->held,
           (unsigned long long)st->overflowed, (unsigned long long)st->bytes);
  printf("}\n");
  fclose(stdout);
  if (st) {
    int rc = gt_shutdown(10000);
    if (rc != 0)
      fprintf(stderr, "gt-bench child: gt_shutdown: %s (%s)\n", gt_strerror(rc),
              gt_last_error());
  }
}

static int run_e2e(const char *mode, int rep, const bench_params *p) {
  bool gt = strcmp(mode, "gt") == 0;
  if (!gt && strcmp(mode, "seed") != 0) die("e2e: modes are gt and seed");
  const char *hostport = need_env(BENCH_E2E_URL_ENV);
  const char *ca = need_env(BENCH_E2E_CA_ENV);
  const char *record = need_env(BENCH_E2E_RECORD_ENV);
  const char *spool = getenv(BENCH_E2E_SPOOL_ENV);
  long rec0 = file_size(record); /* the children run one at a time */
  uint64_t n = gt ? p->e2e_n : p->e2e_seed_n;

  GC_set_warn_proc(count_warning);
  GC_INIT();
  GC_set_on_heap_resize(on_heap_resize);
  on_heap_resize(GC_get_heap_size());
  struct curl_slist *seed_hdrs = NULL;
  double t_init = now_s(); /* the token bucket starts full at gt_init */
  if (gt) {
    gt_options *o = gt_options_new();
    if (!o) die("gt_options_new");
    char rate[32];
    snprintf(rate, sizeof rate, "%d", BENCH_E2E_RATE);
    const char *extra = getenv("GT_BENCH_OPTS"); /* user overrides */
    int rc = 0;
    const char *kv[][2] = {{"gt.backend", "sms"},
                           {"sms.base_url", hostport},
                           {"sms.api_key", BENCH_E2E_KEY},
                           {"sms.to", BENCH_E2E_TO},
                           {"sms.ca_file", ca},
                           {"gt.rate_per_minute", rate},
                           {"gt.spool_dir", spool}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0] && rc == 0; i++)
      if (kv[i][1]) rc = gt_options_set(o, kv[i][0], kv[i][1]);
    if (rc != 0 || (extra && set_opts(o, extra) != 0)) {
      fprintf(stderr, "gt-bench child: e2e options: %s (%s)\n", gt_strerror(rc),
              gt_last_error());
      die("gt options rejected");
    }
    rc = gt_init(o);
    gt_options_free(o);
    if (rc != 0) {
      fprintf(stderr, "gt-bench child: gt_init: %s (%s)\n", gt_strerror(rc),
              gt_last_error());
      die("gt_init failed");
    }
    g_alloc = a_gt;
  } else {
    seed_hdrs = seed_open(hostport, ca);
    g_alloc = a_seed;
  }

  uint64_t gc0 = GC_get_gc_no();
  double u0, s0, u1, s1;
  cpu_s(&u0, &s0);
  double t0 = now_s();
  e2e_arg ea = {.n = n};
  pthread_t th;
  if (pthread_create(&th, NULL, e2e_alloc_thread, &ea) != 0) die("pthread");
  pthread_join(th, NULL);
  double t_alloc = now_s();
  scrub_stack();
  /* Collect until every object is reported (bounded). */
  uint64_t reported = 0;
  int collections = 0, flush_rc = 0;
  for (int i = 0; i < p->final_collections && reported < n; i++) {
    if (gt) {
      gt_collect();
    } else {
      GC_gcollect();
      while (GC_invoke_finalizers() > 0) {
      }
    }
    collections++;
    reported = reported_now(gt);
  }
  if (gt) flush_rc = gt_flush(10000);
  double t_reported = now_s();
  /* Delivered: the mock has recorded texts counting every reported object.
   * gt: the rate limiter may hold the last (merged) batch until its next
   * token, at most 60/rate s. */
  sms_tally tl;
  double deadline = t_reported + 60.0 / BENCH_E2E_RATE + 10;
  for (;;) {
    tally_record(record, rec0, &tl);
    if (tl.objects >= reported || now_s() > deadline) break;
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  double t_delivered = now_s();
  cpu_s(&u1, &s1);
  uint64_t gcs = GC_get_gc_no() - gc0;
  uint64_t heap_end = GC_get_heap_size();
  on_heap_resize(heap_end);

  gt_stats st;
  memset(&st, 0, sizeof st);
  if (gt) gt_get_stats(&st);
  double window = now_s() - t_init;
  double allowance = BENCH_E2E_RATE + BENCH_E2E_RATE * window / 60.0;
  uint64_t messages = gt ? st.sent : atomic_load(&g_seed_ok);
  uint64_t failed = gt ? st.failed : atomic_load(&g_seed_failed);
  uint64_t allocated = gt ? st.allocated : n;
  bool exact = reported == n && tl.objects == n && tl.unparsed == 0 &&
               allocated == n && messages == tl.posts && failed == 0 &&
               flush_rc == 0 && (!gt || st.collected == n);
  double wall = t_delivered - t0;

  printf("{\"workload\":\"e2e\",\"mode\":\"%s\",\"rep\":%d,\"ok\":%s,"
         "\"exact\":%s,\"wall_s\":%.6f,\"alloc_s\":%.6f,\"reported_s\":%.6f,"
         "\"delivered_s\":%.6f,\"cpu_s\":%.6f,\"user_s\":%.6f,\"sys_s\":%.6f,"
         "\"maxrss_kb\":%ld,\"heap_bytes\":%llu,\"heap_peak_bytes\":%llu,"
         "\"gc_count\":%llu,\"gc_warnings\":%llu,\"allocated\":%llu,"
         "\"tracked\":%llu,\"reported_in_run\":%llu,\"reported\":%llu,"
         "\"final_collections\":%d,\"messages\":%llu,\"messages_failed\":%llu,"
         "\"mock_posts\":%llu,\"mock_objects\":%llu,\"mock_unparsed\":%llu,"
         "\"rate_per_minute\":%d,\"rate_window_s\":%.6f,"
         "\"rate_allowance\":%.3f,\"objects_per_s\":%.0f,"
         "\"objects_per_s_reported\":%.0f,\"events_per_s\":%.0f",
         mode, rep, exact ? "true" : "false", exact ? "true" : "false", wall,
         t_alloc - t0, t_reported - t0, wall, (u1 - u0) + (s1 - s0), u1 - u0,
         s1 - s0, maxrss_kb(), (unsigned long long)heap_end,
         (unsigned long long)atomic_load(&g_heap_peak), (unsigned long long)gcs,
         (unsigned long long)atomic_load(&g_gc_warnings),
         (unsigned long long)allocated, (unsigned long long)n,
         (unsigned long long)reported, (unsigned long long)reported,
         collections, (unsigned long long)messages, (unsigned long long)failed,
         (unsigned long long)tl.posts, (unsigned long long)tl.objects,
         (unsigned long long)tl.unparsed, gt ? BENCH_E2E_RATE : 0, window,
         gt ? allowance : 0.0, (double)n / wall, (double)n / (t_reported - t0),
         (double)n / wall);
  finish_json(gt ? &st : NULL);
  if (!gt) {
    curl_easy_cleanup(g_seed_curl);
    curl_slist_free_all(seed_hdrs);
    curl_global_cleanup();
  }
  return exact ? 0 : 1;
}

/* ---- one run ---------------------------------------------------------------
 */

static uint64_t run_workload(const char *w, const bench_params *p) {
  if (strcmp(w, "trees") == 0) return trees(p->depth);
  if (strcmp(w, "churn") == 0) return churn(p->churn_n);
  if (strcmp(w, "graph") == 0) return graph(p->graph_n, p->graph_size);
  if (strcmp(w, "threads") == 0) return threads(p->nthreads, p->thread_depth);
  die("unknown workload");
  return 0;
}

typedef struct workload_arg {
  const char *workload;
  const bench_params *p;
  uint64_t allocated;
} workload_arg;

static void *workload_thread(void *arg) {
  workload_arg *wa = arg;
  wa->allocated = run_workload(wa->workload, wa->p);
  return NULL;
}

static uint64_t reported_now(bool gt) {
  if (gt) {
    gt_stats st;
    gt_get_stats(&st);
    return st.collected;
  }
  return atomic_load(&g_reported);
}

int bench_child(const char *workload, const char *mode, int rep,
                const bench_params *p) {
  if (strcmp(workload, "pipeline") == 0) return run_pipeline(rep, p);
  if (strcmp(workload, "e2e") == 0) return run_e2e(mode, rep, p);

  const mode_impl *m = NULL;
  for (size_t i = 0; i < sizeof g_impls / sizeof g_impls[0]; i++)
    if (strcmp(g_impls[i].name, mode) == 0) m = &g_impls[i];
  if (!m) die("unknown mode");
  bool gt = m->gt_opts != NULL;

  GC_set_warn_proc(count_warning);
  GC_INIT();
  GC_set_on_heap_resize(on_heap_resize);
  on_heap_resize(GC_get_heap_size());
  if (strncmp(mode, "disclaim", 8) == 0) {
    g_raw_kind = GC_new_kind(GC_new_free_list(), GC_DS_LENGTH, 1, 1);
    GC_register_disclaim_proc((int)g_raw_kind, raw_disclaim, 0);
  }
  if (gt) {
    gt_options *o = gt_options_new();
    if (!o) die("gt_options_new");
    const char *extra = getenv("GT_BENCH_OPTS"); /* user overrides */
    if (set_opts(o, g_gt_base_opts) != 0 || set_opts(o, m->gt_opts) != 0 ||
        (extra && set_opts(o, extra) != 0))
      die("gt options rejected");
    int rc = gt_init(o);
    gt_options_free(o);
    if (rc != 0) {
      fprintf(stderr, "gt-bench child: gt_init: %s (%s)\n", gt_strerror(rc),
              gt_last_error());
      die("gt_init failed");
    }
  }
  g_alloc = m->alloc;

  uint64_t gc0 = GC_get_gc_no();
  double u0, s0, u1, s1;
  cpu_s(&u0, &s0);
  double t0 = now_s();
  /* The workload runs in its own (registered) thread: once it has exited,
   * no stale register or stack word of it can keep objects alive, so the
   * final collections can be expected to find every object dead. */
  workload_arg wa = {.workload = workload, .p = p};
  pthread_t th;
  if (pthread_create(&th, NULL, workload_thread, &wa) != 0) die("pthread");
  pthread_join(th, NULL);
  uint64_t allocated = wa.allocated;
  double wall = now_s() - t0;
  cpu_s(&u1, &s1);
  uint64_t gcs = GC_get_gc_no() - gc0;
  uint64_t reported_in_run = reported_now(gt);
  uint64_t heap_end = GC_get_heap_size();
  on_heap_resize(heap_end);
  long rss_run = maxrss_kb();

  /* Untimed: make the mechanism report what it can. */
  scrub_stack();
  double f0 = now_s();
  uint64_t last = reported_now(gt), reported_first = 0;
  int collections = 0, stable = 0;
  for (int i = 0; i < p->final_collections && stable < 2; i++) {
    if (gt) {
      gt_collect();
    } else {
      GC_gcollect();
      GC_invoke_finalizers();
    }
    collections++;
    uint64_t now = reported_now(gt);
    if (i == 0) reported_first = now;
    stable = now == last ? stable + 1 : 0;
    last = now;
  }
  double final_s = now_s() - f0;

  gt_stats st;
  memset(&st, 0, sizeof st);
  if (gt) gt_get_stats(&st);
  /* objects the mechanism was asked to report (gt-sample-alloc: 1 in M) */
  uint64_t tracked = gt ? st.tracked : allocated;
  bool ok = true;
  if (gt && strcmp(mode, "gt-sample-alloc") != 0 && st.allocated != allocated)
    ok = false;
  if (last > tracked) ok = false; /* reported twice */

  printf(
      "{\"workload\":\"%s\",\"mode\":\"%s\",\"rep\":%d,\"ok\":%s,"
      "\"wall_s\":%.6f,\"cpu_s\":%.6f,\"user_s\":%.6f,\"sys_s\":%.6f,"
      "\"maxrss_kb\":%ld,\"heap_bytes\":%llu,\"heap_peak_bytes\":%llu,"
      "\"gc_count\":%llu,\"gc_warnings\":%llu,\"allocated\":%llu,"
      "\"tracked\":%llu,\"reported_in_run\":%llu,"
      "\"reported_after_1_collect\":%llu,\"reported\":%llu,"
      "\"final_collections\":%d,\"final_s\":%.6f,\"events_per_s\":%.0f,"
      "\"messages\":%llu",
      workload, mode, rep, ok ? "true" : "false", wall, (u1 - u0) + (s1 - s0),
      u1 - u0, s1 - s0, rss_run, (unsigned long long)heap_end,
      (unsigned long long)atomic_load(&g_heap_peak), (unsigned long long)gcs,
      (unsigned long long)atomic_load(&g_gc_warnings),
      (unsigned long long)allocated, (unsigned long long)tracked,
      (unsigned long long)reported_in_run, (unsigned long long)reported_first,
      (unsigned long long)last, collections, final_s,
      (double)reported_in_run / wall, (unsigned long long)st.sent);
  finish_json(gt ? &st : NULL);
  return ok ? 0 : 1;
}
