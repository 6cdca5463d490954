/* gt-bench child: what each mode of BENCH_MODES does — its allocation
 * function and set-up (the table's alloc and setup columns, expanded here)
 * — and how gt is started with options. A raw notification is one relaxed
 * atomic increment of bench_reported.
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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "child.h"

alloc_fn bench_alloc;
_Atomic uint64_t bench_reported;

static void GC_CALLBACK count_finalizer(void *obj, void *cd) {
  (void)obj;
  (void)cd;
  atomic_fetch_add_explicit(&bench_reported, 1, memory_order_relaxed);
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
    atomic_fetch_add_explicit(&bench_reported, 1, memory_order_relaxed);
  }
  return 0;
}

static void raw_kind_setup(void) {
  g_raw_kind = GC_new_kind(GC_new_free_list(), GC_DS_LENGTH, 1, 1);
  GC_register_disclaim_proc((int)g_raw_kind, raw_disclaim, 0);
}

static void *tag(void *p, size_t n) {
  size_t sz = GC_size(p);
  if (sz < n + sizeof(uintptr_t))
    bench_die("disclaim mode: no slack for the tag");
  *(uintptr_t *)((char *)p + sz - sizeof(uintptr_t)) = RAW_TAG;
  return p;
}

static void *a_plain(size_t n, int atomic) {
  return bench_checked(atomic ? GC_MALLOC_ATOMIC(n) : GC_MALLOC(n));
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
  return tag(bench_checked(GC_generic_malloc(n, (int)g_raw_kind)), n);
}
/* The same kind, allocated through per-thread free lists refilled by
 * GC_generic_malloc_many (gc_inline.h's GC_FAST_MALLOC_GRANS), as bdwgc does
 * for its own kinds: no allocation lock per object. The lists live in an
 * uncollectable (hence traced) per-thread array, as gc_inline.h requires. */
static __thread void **t_tiny_fl;
static void *a_disclaim_tl(size_t n, int atomic) {
  (void)atomic;
  void *p;
  if (!t_tiny_fl)
    t_tiny_fl = bench_checked(
        GC_MALLOC_UNCOLLECTABLE(GC_TINY_FREELISTS * sizeof(void *)));
  /* one extra byte, as GC_MALLOC adds with interior pointers recognised */
  size_t granules = (n + 1 + GC_GRANULE_BYTES - 1) / GC_GRANULE_BYTES;
  GC_FAST_MALLOC_GRANS(p, granules, t_tiny_fl, 0, (int)g_raw_kind,
                       GC_generic_malloc(n, (int)g_raw_kind), *(void **)p = 0);
  return tag(bench_checked(p), n);
}
static void *a_gt(size_t n, int atomic) {
  return bench_checked(atomic ? gt_malloc_atomic(n, BENCH_NAME)
                              : gt_malloc(n, BENCH_NAME));
}
/* Leak mode: every object is marked as owning something to release, and
 * none is released (each one is a leak to count; with gt.report=unreleased
 * each is also a notification, as with mode gt). */
static void *a_gt_leak(size_t n, int atomic) {
  void *p = a_gt(n, atomic);
  if (gt_expect_release(p) != 0) bench_die("gt_expect_release failed");
  return p;
}
static void *a_gt_watch(size_t n, int atomic) {
  void *p = a_plain(n, atomic);
  if (gt_watch(p, BENCH_NAME) != 0) bench_die("gt_watch failed");
  return p;
}

typedef struct mode_impl {
  alloc_fn alloc;
  void (*setup)(void);
} mode_impl;

static const mode_impl impls[BM_COUNT] = {
#define IMPL_ROW(id, family, name, raw, track, alloc, setup, gt_opts, what)    \
  [BM_##id] = {alloc, setup},
    BENCH_MODES(IMPL_ROW)
#undef IMPL_ROW
};

void bench_mode_begin(int mode) {
  if (impls[mode].setup) impls[mode].setup();
  bench_alloc = impls[mode].alloc;
}

/* ---- gt's options -------------------------------------------------------- */

static _Noreturn void gt_failed(const char *what, int rc) {
  fprintf(stderr, "gt-bench child: %s: %s (%s)\n", what, gt_strerror(rc),
          gt_last_error());
  bench_die("gt rejected the set-up");
}

gt_options *bench_gt_options(void) {
  gt_options *o = gt_options_new();
  if (!o) bench_die("gt_options_new");
  return o;
}

void bench_gt_set(gt_options *o, const char *key, const char *value) {
  int rc = gt_options_set(o, key, value);
  if (rc != 0) {
    fprintf(stderr, "gt-bench child: option %s\n", key); /* values: secrets */
    gt_failed("gt_options_set", rc);
  }
}

void bench_gt_set_list(gt_options *o, const char *list) {
  char *copy = bench_checked(strdup(list)), *save = NULL;
  for (char *kv = strtok_r(copy, ";", &save); kv;
       kv = strtok_r(NULL, ";", &save)) {
    char *eq = strchr(kv, '=');
    if (!eq) continue;
    *eq = '\0';
    bench_gt_set(o, kv, eq + 1);
  }
  free(copy);
}

void bench_gt_init(gt_options *o) {
  const char *extra = getenv("GT_BENCH_OPTS"); /* the user's, last */
  if (extra) bench_gt_set_list(o, extra);
  int rc = gt_init(o);
  gt_options_free(o);
  if (rc != 0) gt_failed("gt_init", rc);
}

/* ---- leak mode's calls alone --------------------------------------------- */

#define MICRO_OBJECTS 1024
#define MICRO_ROUNDS 4096 /* over every object: 4 M calls of each */

static int cmp_round(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* ns per call in the median round: a round the scheduler interrupted on a
 * shared machine moves a sum, not the median. */
static double per_call_ns(double *round_s) {
  qsort(round_s, MICRO_ROUNDS, sizeof *round_s, cmp_round);
  return round_s[MICRO_ROUNDS / 2] / MICRO_OBJECTS * 1e9;
}

/* ns per gt_expect_release and per gt_release on live gt objects, after
 * the run (its counts are read before: these objects are not the
 * workload's). The objects are reused round after round, as a program
 * marks and releases a pool of connections. */
void bench_leak_micro(json_t *j) {
  static double expect_s[MICRO_ROUNDS], release_s[MICRO_ROUNDS];
  void **objs = bench_checked(GC_MALLOC(MICRO_OBJECTS * sizeof *objs));
  for (int i = 0; i < MICRO_OBJECTS; i++)
    objs[i] = bench_checked(gt_malloc(24, "Micro"));
  int bad = 0;
  for (int r = 0; r < MICRO_ROUNDS; r++) {
    double t0 = bench_now_s();
    for (int i = 0; i < MICRO_OBJECTS; i++)
      bad |= gt_expect_release(objs[i]);
    double t1 = bench_now_s();
    for (int i = 0; i < MICRO_OBJECTS; i++)
      bad |= gt_release(objs[i]);
    release_s[r] = bench_now_s() - t1;
    expect_s[r] = t1 - t0;
  }
  if (bad) bench_die("gt_expect_release/gt_release failed");
  json_object_set_new(j, "expect_release_ns", json_real(per_call_ns(expect_s)));
  json_object_set_new(j, "release_ns", json_real(per_call_ns(release_s)));
}
