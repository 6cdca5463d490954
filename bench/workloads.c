/* gt-bench child: the mutator workloads (BENCH_WORKLOADS' body column),
 * allocating through the mode's bench_alloc. Each returns the number of
 * objects it allocated through it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#ifndef GC_THREADS
#define GC_THREADS
#endif
#include <gc/gc.h>

#include <pthread.h>
#include <string.h>

#include "child.h"

static node *make_tree(int d) {
  node *n = bench_alloc(sizeof(node), 0);
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
 * and drop 2^(D-d+4) complete trees of depth d. */
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
  if (walked != count) bench_die("trees: walked count differs from allocated");
  keep = NULL;
  return count;
}

static uint64_t wl_trees(const bench_params *p) {
  return trees(p->depth);
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
static uint64_t wl_churn(const bench_params *prm) {
  enum { K = 4096 };
  uint64_t n = prm->churn_n;
  void **keep = GC_MALLOC(K * sizeof(void *));
  void **anchor = GC_MALLOC(4 * sizeof(void *));
  uint64_t rng = 0x9e3779b97f4a7c15u;
  if (!keep || !anchor) bench_die("out of memory");
  for (uint64_t i = 0; i < n; i++) {
    int atomic = (int)(i & 1);
    void **p = bench_alloc(32, atomic);
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

static uint64_t wl_graph(const bench_params *p) {
  uint64_t total = p->graph_n, size = p->graph_size;
  uint64_t rng = 0x2545f4914f6cdd1du, count = 0;
  gnode **live = NULL;
  while (count < total) {
    uint64_t m = size < total - count ? size : total - count;
    gnode **idx = bench_checked(GC_MALLOC(m * sizeof(gnode *)));
    for (uint64_t i = 0; i < m; i++) {
      idx[i] = bench_alloc(sizeof(gnode), 0);
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

/* nthreads mutator threads, each running trees(D) (registered with bdwgc:
 * GC_THREADS redirects pthread_create to GC_pthread_create). */
static void *trees_thread(void *arg) {
  int D = *(int *)arg;
  return (void *)(uintptr_t)trees(D);
}

static uint64_t wl_threads(const bench_params *p) {
  pthread_t th[16];
  uint64_t count = 0;
  int nthreads = p->nthreads > 16 ? 16 : p->nthreads, D = p->thread_depth;
  for (int i = 0; i < nthreads; i++)
    if (pthread_create(&th[i], NULL, trees_thread, &D) != 0)
      bench_die("pthread_create");
  for (int i = 0; i < nthreads; i++) {
    void *ret = NULL;
    pthread_join(th[i], &ret);
    count += (uint64_t)(uintptr_t)ret;
  }
  return count;
}

typedef uint64_t body_fn(const bench_params *p);

static body_fn *const bodies[BW_COUNT] = {
#define BODY_ROW(id, name, family, body, describe) [BW_##id] = body,
    BENCH_WORKLOADS(BODY_ROW)
#undef BODY_ROW
};

uint64_t bench_workload_run(int wl, const bench_params *p) {
  if (!bodies[wl]) bench_die("not a mutator workload");
  return bodies[wl](p);
}
