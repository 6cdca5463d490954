/* Misuse: what a program may get wrong, and bdwgc calls on gt objects.
 *
 *   torture_misuse CASE
 *
 * Each case runs in a forked child so that a crash is contained; the
 * parent reads the child's stderr and judges the outcome. A case either
 * works correctly (the child's own checks pass and it exits 0) or fails
 * loudly: the child aborts (SIGABRT) after printing a message that names
 * the function misused. A segfault, a sanitizer report, a hang (killed
 * after 20 s) or a wrong count is a failure. Some cases must work (the
 * bdwgc calls the issue promises); double gt_free must abort. */
#include <poll.h>
#include <signal.h>
#include <strings.h>
#include <sys/wait.h>

#include "torture.h"

#define N 100

/* Allocates, fills with a pattern, returns the object (out of the
 * caller's frame, so dropping is the caller's only reference). */
static TT_NOINLINE void *made(size_t size, const char *name, uint32_t i) {
  void *p = gt_malloc(size, name);
  if (p) tt_fill(p, size, tt_seed(7, i, 0));
  return p;
}

static bool intact(const void *p, size_t size, uint32_t i) {
  return tt_verify(p, size, size, tt_seed(7, i, 0)) < 0;
}

/* After dropping everything: `name` reported exactly `n` times in all
 * (collected + freed), and the totals agree. */
static void expect_reported(const char *name, uint64_t n) {
  tt_collect_settle(4);
  gt_name_stats ns = tt_name(name);
  char what[128];
  snprintf(what, sizeof what, "name %s: collected + freed", name);
  if (!CHECK_EQ(ns.collected + ns.freed, n, what)) tt_print_stats(name);
  gt_stats s;
  gt_get_stats(&s);
  CHECK(s.collected + s.freed <= s.allocated,
        "stats: collected %llu + freed %llu > allocated %llu",
        (unsigned long long)s.collected, (unsigned long long)s.freed,
        (unsigned long long)s.allocated);
}

/* Memory gt did not allocate, with guards on both sides. */
typedef struct guarded {
  uint64_t before[4];
  unsigned char bytes[64];
  uint64_t after[4];
} guarded;

static void guard_fill(guarded *g) {
  for (int i = 0; i < 4; i++)
    g->before[i] = g->after[i] = 0x5a5a5a5a5a5a5a5aull;
  tt_fill(g->bytes, sizeof g->bytes, tt_seed(9, 0, 0));
}

static bool guard_ok(const guarded *g) {
  for (int i = 0; i < 4; i++)
    if (g->before[i] != 0x5a5a5a5a5a5a5a5aull ||
        g->after[i] != 0x5a5a5a5a5a5a5a5aull)
      return false;
  return tt_verify(g->bytes, sizeof g->bytes, sizeof g->bytes,
                   tt_seed(9, 0, 0)) < 0;
}

/* ---- the cases (run in the child) ---------------------------------------- */

static TT_NOINLINE void double_free(void) {
  void *p = made(16, "m.double", 0);
  gt_free(p);
  gt_free(p); /* must abort, naming gt_free */
  tt_step("gt_collect after a double gt_free");
  gt_collect();
  CHECK(false, "double gt_free returned (and gt_collect after it too)");
}

/* gt_free / gt_realloc of memory gt does not own: no effect on it, no
 * count, or an abort naming the function. */
static void foreign(bool realloc_it, unsigned char *bytes, const char *what) {
  gt_stats before, after;
  gt_get_stats(&before);
  if (realloc_it) {
    void *r = gt_realloc(bytes, 128);
    CHECK(r == NULL, "gt_realloc(%s, 128) returned %p, not NULL", what, r);
  } else {
    gt_free(bytes);
  }
  gt_collect();
  gt_get_stats(&after);
  CHECK_EQ(after.freed, before.freed, "stats.freed after the foreign call");
}

static void free_malloc(bool realloc_it) {
  guarded *g = malloc(sizeof *g);
  guard_fill(g);
  foreign(realloc_it, g->bytes, "a malloc'd block");
  CHECK(guard_ok(g), "the malloc'd block or its neighbours were written");
  free(g);
}

static void free_stack(bool realloc_it) {
  guarded g;
  guard_fill(&g);
  foreign(realloc_it, g.bytes, "a stack array");
  CHECK(guard_ok(&g), "the stack array or its neighbours were written");
}

/* An interior pointer of a gt object: no effect, the object stays tracked
 * and its neighbours intact; reported once when dropped. */
static TT_NOINLINE void interior_inner(bool realloc_it) {
  void **keep = GC_MALLOC_UNCOLLECTABLE(3 * sizeof(void *));
  for (uint32_t i = 0; i < 3; i++)
    keep[i] = made(64, "m.interior", i);
  if (realloc_it) {
    void *r = gt_realloc((char *)keep[1] + 16, 128);
    CHECK(r == NULL, "gt_realloc(interior pointer, 128) returned %p", r);
  } else {
    gt_free((char *)keep[1] + 16);
  }
  gt_collect();
  for (uint32_t i = 0; i < 3; i++)
    CHECK(intact(keep[i], 64, i), "object %u of 3 was written", i);
  memset(keep, 0, 3 * sizeof(void *));
  GC_FREE(keep);
}

static void free_interior(bool realloc_it) {
  interior_inner(realloc_it);
  expect_reported("m.interior", 3);
}

/* gt_free / gt_realloc of a GC_MALLOC object just frees / reallocates it
 * (or aborts, naming the function); never counted as a gt object. */
static TT_NOINLINE void free_gcmalloc(bool realloc_it) {
  gt_stats before, after;
  gt_get_stats(&before);
  for (uint32_t i = 0; i < N; i++) {
    unsigned char *g = GC_MALLOC(64);
    tt_fill(g, 64, tt_seed(8, i, 0));
    if (!realloc_it) {
      gt_free(g);
      continue;
    }
    size_t to = i & 1 ? 16 : 256;
    unsigned char *q = gt_realloc(g, to);
    if (!CHECK(q != NULL, "gt_realloc(GC_MALLOC object, %zu) = NULL", to))
      break;
    size_t keep = to < 64 ? to : 64;
    CHECK(tt_verify(q, keep, 64, tt_seed(8, i, 0)) < 0,
          "gt_realloc(GC_MALLOC object, %zu) lost its content", to);
    CHECK(GC_size(q) >= to, "GC_size %zu < %zu after gt_realloc", GC_size(q),
          to);
    memset(q, 0xab, to);
  }
  for (int i = 0; i < N; i++) /* the allocator still works */
    GC_reachable_here(made(64, "m.after", (uint32_t)i));
  gt_collect();
  gt_get_stats(&after);
  CHECK_EQ(after.freed, before.freed,
           "stats.freed (a GC_MALLOC object is not gt's)");
  CHECK_EQ(after.allocated - before.allocated, N,
           "stats.allocated: only the gt objects");
}

/* gt_watch of a gt object: one report, under the watch name. */
static TT_NOINLINE void watch_inner(void) {
  void *p = gt_malloc(16, "m.tracked");
  int rc = gt_watch(p, "m.watched");
  CHECK(rc == 0, "gt_watch(gt object) = %d (%s)", rc, gt_last_error());
}

static void watch_gt(void) {
  watch_inner();
  tt_collect_settle(4);
  gt_stats s;
  gt_get_stats(&s);
  CHECK_EQ(s.collected, 1, "stats.collected for one watched gt object");
  CHECK_EQ(tt_name("m.watched").collected, 1, "reports under the watch name");
  CHECK_EQ(tt_name("m.tracked").collected, 0,
           "reports under the allocation name");
}

/* GC_FREE on gt objects counts them as freed. */
static TT_NOINLINE void gc_free_inner(void) {
  for (uint32_t i = 0; i < N; i++)
    GC_FREE(made(40, "m.gcfree", i));
}

static void gc_free(void) {
  gc_free_inner();
  tt_collect_settle(4);
  gt_stats s;
  gt_get_stats(&s);
  CHECK_EQ(s.freed, N, "stats.freed after GC_FREE of gt objects");
  CHECK_EQ(tt_name("m.gcfree").freed, N, "name m.gcfree: freed");
  CHECK_EQ(tt_name("m.gcfree").collected, 0, "name m.gcfree: collected");
}

/* GC_REALLOC keeps the object tracked under its name, reported once. */
static TT_NOINLINE void gc_realloc_inner(size_t to, void **keep) {
  for (uint32_t i = 0; i < N; i++) {
    void *p = made(40, "m.gcrealloc", i);
    void *q = GC_REALLOC(p, to);
    if (!CHECK(q != NULL, "GC_REALLOC(gt object, %zu) = NULL", to)) break;
    size_t kept = to < 40 ? to : 40;
    CHECK(tt_verify(q, kept, 40, tt_seed(7, i, 0)) < 0,
          "GC_REALLOC(gt object, %zu) lost its content", to);
    tt_fill(q, to, tt_seed(7, i, 1));
    keep[i] = q;
  }
}

typedef struct gc_realloc_job {
  size_t to;
  void **keep;
} gc_realloc_job;

/* On a thread of its own: a stale copy of the last pointer in a register
 * or a dead stack slot of this thread would keep one object alive (bdwgc
 * is conservative), and the count is meant to be exact. */
static void *gc_realloc_thread(void *arg) {
  gc_realloc_job *j = arg;
  gc_realloc_inner(j->to, j->keep);
  return NULL;
}

static void *gc_realloc_verify(void *arg) {
  gc_realloc_job *j = arg;
  for (uint32_t i = 0; i < N; i++)
    CHECK(!j->keep[i] ||
              tt_verify(j->keep[i], j->to, j->to, tt_seed(7, i, 1)) < 0,
          "object %u changed after GC_REALLOC", i);
  return NULL;
}

static void gc_realloc(size_t to) {
  void **keep = GC_MALLOC_UNCOLLECTABLE(N * sizeof(void *));
  gc_realloc_job job = {to, keep};
  tt_join(tt_spawn(gc_realloc_thread, &job));
  gt_collect(); /* nothing of it may be reported while it lives */
  CHECK_EQ(tt_name("m.gcrealloc").collected, 0,
           "reported while still reachable");
  tt_join(tt_spawn(gc_realloc_verify, &job));
  memset(keep, 0, N * sizeof(void *));
  GC_FREE(keep);
  expect_reported("m.gcrealloc", N);
}

/* Every byte GC_size() reports belongs to the program: filling them all
 * loses no report and breaks neither gt_realloc nor gt_free. */
static TT_NOINLINE void gc_size_inner(void **keep) {
  static const size_t sizes[] = {1, 8, 24, 100, 1000, 5000};
  for (uint32_t i = 0; i < N; i++) {
    size_t n = sizes[i % 6];
    unsigned char *p =
        i & 1 ? gt_malloc_atomic(n, "m.full") : gt_malloc(n, "m.full");
    size_t all = GC_size(p);
    CHECK(all >= n, "GC_size %zu < %zu requested", all, n);
    memset(p, i & 2 ? 0xff : 'A', all);
    if (i % 3 == 0) { /* shrink or grow a full object */
      size_t to = i & 4 ? n / 2 + 1 : n * 3;
      unsigned char *q = gt_realloc(p, to);
      if (!CHECK(q != NULL, "gt_realloc of a full object = NULL")) continue;
      size_t kept = to < n ? to : n;
      for (size_t j = 0; j < kept; j++)
        if (q[j] != (i & 2 ? 0xff : 'A')) {
          CHECK(false, "gt_realloc(full object, %zu) lost byte %zu", to, j);
          break;
        }
      memset(q, 0x5c, GC_size(q));
      p = q;
    }
    if (i % 10 == 9) {
      gt_free(p);
      continue;
    }
    keep[i] = p;
  }
}

static void gc_size(void) {
  void **keep = GC_MALLOC_UNCOLLECTABLE(N * sizeof(void *));
  gc_size_inner(keep);
  memset(keep, 0, N * sizeof(void *));
  GC_FREE(keep);
  expect_reported("m.full", N);
  CHECK_EQ(tt_name("m.full").freed, N / 10, "name m.full: freed");
}

/* Sizes that overflow are refused: NULL, and the object is untouched and
 * still tracked. */
static TT_NOINLINE void realloc_max_inner(void) {
  for (uint32_t i = 0; i < N; i++) {
    void *p = made(24, "m.rmax", i);
    const size_t huge[] = {SIZE_MAX, SIZE_MAX - 7, SIZE_MAX / 2 + 1};
    for (int k = 0; k < 3; k++) {
      void *r = gt_realloc(p, huge[k]);
      if (!CHECK(r == NULL, "gt_realloc(p, %zu) = %p (p = %p), not NULL",
                 huge[k], r, p))
        return;
    }
    CHECK(intact(p, 24, i), "gt_realloc(p, SIZE_MAX) changed p");
  }
  CHECK(gt_malloc(SIZE_MAX, "m.huge") == NULL, "gt_malloc(SIZE_MAX)");
  CHECK(gt_malloc_atomic(SIZE_MAX - 8, "m.huge") == NULL,
        "gt_malloc_atomic(SIZE_MAX - 8)");
  CHECK(gt_malloc_at(SIZE_MAX - 16, "m.huge", __FILE__, __LINE__) == NULL,
        "gt_malloc_at(SIZE_MAX - 16)");
  CHECK(gt_calloc(SIZE_MAX / 8, 16, "m.huge") == NULL,
        "gt_calloc(SIZE_MAX / 8, 16)");
  CHECK(gt_calloc(1, SIZE_MAX - 4, "m.huge") == NULL,
        "gt_calloc(1, SIZE_MAX - 4)");
}

/* On a thread of its own, like gc_realloc_thread. */
static void *realloc_max_thread(void *arg) {
  (void)arg;
  realloc_max_inner();
  return NULL;
}

static void realloc_max(void) {
  tt_join(tt_spawn(realloc_max_thread, NULL));
  expect_reported("m.rmax", N);
}

/* ---- the table and the judge ------------------------------------------- */

enum outcome { MUST_WORK, WORK_OR_ABORT, MUST_ABORT };

typedef struct mcase {
  const char *name;
  void (*run)(bool);
  bool arg;
  enum outcome allowed;
  const char *names; /* an abort's message must contain this */
} mcase;

#define NOARG(fn)                                                              \
  static void fn##_b(bool b) {                                                 \
    (void)b;                                                                   \
    fn();                                                                      \
  }
NOARG(double_free)
NOARG(watch_gt)
NOARG(gc_free)
NOARG(gc_size)
NOARG(realloc_max)
static void gc_realloc_shrink(bool b) {
  (void)b;
  gc_realloc(30);
}
static void gc_realloc_grow(bool b) {
  (void)b;
  gc_realloc(400);
}

static const mcase cases[] = {
    {"double-free", double_free_b, 0, MUST_ABORT, "gt_free"},
    {"free-malloc", free_malloc, 0, WORK_OR_ABORT, "gt_free"},
    {"free-stack", free_stack, 0, WORK_OR_ABORT, "gt_free"},
    {"free-interior", free_interior, 0, WORK_OR_ABORT, "gt_free"},
    {"free-gcmalloc", free_gcmalloc, 0, WORK_OR_ABORT, "gt_free"},
    {"realloc-malloc", free_malloc, 1, WORK_OR_ABORT, "gt_realloc"},
    {"realloc-stack", free_stack, 1, WORK_OR_ABORT, "gt_realloc"},
    {"realloc-interior", free_interior, 1, WORK_OR_ABORT, "gt_realloc"},
    {"realloc-gcmalloc", free_gcmalloc, 1, WORK_OR_ABORT, "gt_realloc"},
    {"realloc-max", realloc_max_b, 0, MUST_WORK, NULL},
    {"watch-gt", watch_gt_b, 0, MUST_WORK, NULL},
    {"gc-free", gc_free_b, 0, WORK_OR_ABORT, "GC_free"},
    {"gc-realloc-shrink", gc_realloc_shrink, 0, WORK_OR_ABORT, "GC_realloc"},
    {"gc-realloc-grow", gc_realloc_grow, 0, WORK_OR_ABORT, "GC_realloc"},
    {"gc-size", gc_size_b, 0, MUST_WORK, NULL},
};

static void child(const mcase *c) {
  GC_INIT();
  tt_presize_heap(32);
  tt_gt_start(NULL);
  tt_step(c->name);
  c->run(c->arg);
  tt_step("shutdown");
  CHECK(gt_shutdown(5000) == 0, "gt_shutdown: %s", gt_last_error());
  fflush(NULL);
  _exit(tt_finish(c->name));
}

#define DEADLINE_MS 20000

/* Runs the case in a child; returns its wait status, or -1 if it had to
 * be killed. Its stderr is copied to ours and into err. */
static int run_child(const mcase *c, char *err, size_t cap) {
  int fds[2];
  if (pipe(fds) != 0) {
    perror("pipe");
    exit(2);
  }
  tt_make_spool(); /* here: a child ends with _exit, or aborts */
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    exit(2);
  }
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], 2);
    close(fds[1]);
    child(c);
  }
  close(fds[1]);
  size_t len = 0;
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  bool killed = false;
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    long left = DEADLINE_MS - ((now.tv_sec - t0.tv_sec) * 1000 +
                               (now.tv_nsec - t0.tv_nsec) / 1000000);
    if (left <= 0) {
      kill(pid, SIGKILL);
      killed = true;
      break;
    }
    struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
    if (poll(&pfd, 1, (int)left) <= 0) continue;
    char buf[4096];
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) break; /* EOF: the child is gone */
    (void)!write(2, buf, (size_t)n);
    size_t k = (size_t)n < cap - 1 - len ? (size_t)n : cap - 1 - len;
    memcpy(err + len, buf, k);
    len += k;
  }
  err[len] = 0;
  close(fds[0]);
  int status;
  while (waitpid(pid, &status, 0) < 0) {
  }
  return killed ? -1 : status;
}

static int judge(const mcase *c) {
  static char err[1 << 16];
  int st = run_child(c, err, sizeof err);
  bool sanitizer = strstr(err, "Sanitizer") != NULL;
  if (st == -1) {
    printf("%s: FAIL: no exit after %d s (a hang)\n", c->name,
           DEADLINE_MS / 1000);
    return 1;
  }
  if (sanitizer) {
    printf("%s: FAIL: a sanitizer found an error (above)\n", c->name);
    return 1;
  }
  if (WIFEXITED(st)) {
    int code = WEXITSTATUS(st);
    if (code == 0 && c->allowed != MUST_ABORT) {
      printf("%s: ok: works correctly\n", c->name);
      return 0;
    }
    if (code == 0)
      printf("%s: FAIL: returned silently; it must abort naming %s\n", c->name,
             c->names);
    else
      printf("%s: FAIL: exit status %d (wrong results, above)\n", c->name,
             code);
    return 1;
  }
  int sig = WTERMSIG(st);
  if (sig == SIGABRT && c->allowed != MUST_WORK) {
    if (strcasestr(err, c->names)) {
      printf("%s: ok: aborted with a message naming %s\n", c->name, c->names);
      return 0;
    }
    printf("%s: FAIL: aborted without a message naming %s\n", c->name,
           c->names);
    return 1;
  }
  printf("%s: FAIL: killed by signal %d (%s)\n", c->name, sig, strsignal(sig));
  return 1;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *name = argc > 1 ? argv[1] : "";
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    if (strcmp(cases[i].name, name) == 0) return judge(&cases[i]);
  fprintf(stderr, "usage: %s CASE; cases:", argv[0]);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    fprintf(stderr, " %s", cases[i].name);
  fprintf(stderr, "\n");
  return 2;
}
