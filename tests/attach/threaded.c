/* A bdwgc program of our own for `gt run` to attach to: it links libgc
 * only (never libgt), like w3m or Guile, and uses every allocation call
 * libgt-attach.so forwards or counts, from four threads at once:
 *
 *   threaded MODE      MODE: default | incremental | no_interior | no_dls |
 *                            parallel
 *
 * The mode is set before the first allocation, as bdwgc requires. Each
 * thread makes lists and trees of GC_MALLOC nodes, GC_MALLOC_ATOMIC and
 * off-page buffers, GC_STRDUP/GC_STRNDUP strings, GC_REALLOC'd blocks,
 * GC_malloc_many objects (walked with GC_NEXT), uncollectable objects that
 * alone keep collectable ones alive (then GC_FREE), GC_memalign and
 * GC_posix_memalign blocks, and objects of a kind of its own handed out by
 * gc_inline.h's GC_FAST_MALLOC_GRANS from a free list refilled by
 * GC_generic_malloc_many (as Guile does). Every byte of GC_size(p) is
 * written with a pattern, and checked when the object is dropped, after
 * collections and at the end; most objects are dropped, some freed.
 *
 * stdout is deterministic (counts and checksums of what was checked, no
 * addresses, no timings): it must be the same with and without gt run.
 * Exit status 0 only if every check passed; each failure is on stderr. */
#define GC_THREADS
#include <gc.h>
#include <gc/gc_inline.h>
#include <gc/gc_mark.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 4
#define ROUNDS 2500
#define RING 64    /* objects each thread holds at a time */
#define KEEP 32    /* per thread, in a global array (a root of its own) */
#define COLLECT 97 /* a thread calls GC_gcollect every COLLECT rounds */

/* ---- checks -------------------------------------------------------------- */

static _Atomic unsigned failures;

static void fail(int t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fail(int t, const char *fmt, ...) {
  if (atomic_fetch_add(&failures, 1) >= 20) return; /* enough said */
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "threaded: FAIL: thread %d: %s\n", t, msg);
}

/* ---- deterministic numbers and bytes ------------------------------------- */

static uint64_t next_rand(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 0x2545F4914F6CDD1Dull;
}

static uint32_t below(uint64_t *s, uint32_t n) {
  return (uint32_t)(next_rand(s) % n);
}

/* Never two zero bytes in a row, so never a user-space address: the
 * pattern does not keep anything alive by accident. */
static unsigned char pat(uint32_t seed, size_t i) {
  return (unsigned char)(seed * 158u + (uint32_t)i * 31u + (uint32_t)(i >> 8));
}

/* ---- per thread ---------------------------------------------------------- */

enum type {
  T_NONE,
  T_LIST,    /* GC_MALLOC nodes through next */
  T_TREE,    /* GC_MALLOC nodes, left/right */
  T_ATOMIC,  /* GC_MALLOC_ATOMIC */
  T_BIG,     /* GC_malloc_ignore_off_page */
  T_BIGA,    /* GC_malloc_atomic_ignore_off_page */
  T_STR,     /* GC_STRDUP / GC_STRNDUP; n is the length */
  T_REALLOC, /* GC_REALLOC'd from NULL or a small object */
  T_MANY,    /* GC_malloc_many objects chained through their first word */
  T_UNCOLL,  /* GC_MALLOC_UNCOLLECTABLE holding atomic buffers */
  T_AUNCOLL, /* GC_MALLOC_ATOMIC_UNCOLLECTABLE */
  T_ALIGN,   /* GC_memalign / GC_posix_memalign; n bytes, not GC_size */
  T_INLINE,  /* our own kind, GC_FAST_MALLOC_GRANS */
  T_COUNT
};

static const char *const type_names[T_COUNT] = {"none",
                                                "list",
                                                "tree",
                                                "atomic",
                                                "big",
                                                "big_atomic",
                                                "string",
                                                "realloc",
                                                "many",
                                                "uncollectable",
                                                "atomic_uncollectable",
                                                "aligned",
                                                "inline"};

typedef struct rec {
  void *p;
  uint32_t type, n, seed, extra; /* extra: nodes, or alignment */
} rec;

/* A node of a list or a tree; the pattern starts at data. */
typedef struct node {
  struct node *next, *right;
  uint32_t seed, n; /* n: bytes asked for, data included */
  unsigned char data[];
} node;

#define UNCOLL_SLOTS 6
typedef struct uncoll {
  void *slot[UNCOLL_SLOTS];
  uint32_t seed, n[UNCOLL_SLOTS];
} uncoll;

/* What a thread counted; no pointers (a global, not a root in no_dls). */
typedef struct result {
  uint64_t sum; /* over the bytes asked for, as read back */
  unsigned long made[T_COUNT], checked[T_COUNT], objects, freed, collects;
} result;

/* On the thread's stack, which the collector scans in every mode. */
typedef struct thread_state {
  int id;
  uint64_t rng;
  rec *ring;  /* GC_MALLOC'd */
  void *many; /* what is left of the last GC_malloc_many list */
  size_t many_n;
  void *tiny_fl[GC_TINY_FREELISTS]; /* the inline kind's free lists */
  result *res;
} thread_state;

static int own_kind;
static result results[THREADS];
static void *keep[THREADS][KEEP];
static rec keep_rec[THREADS][KEEP];

static void sum_byte(thread_state *st, unsigned char c) {
  st->res->sum = (st->res->sum ^ c) * 0x100000001B3ull;
}

static void fill(void *p, size_t from, size_t to, uint32_t seed) {
  unsigned char *b = p;
  for (size_t i = from; i < to; i++)
    b[i] = pat(seed, i);
}

/* Checks bytes [from, to) and sums those below n. */
static bool check_bytes(thread_state *st, const void *p, size_t from, size_t to,
                        size_t n, uint32_t seed, const char *what) {
  const unsigned char *b = p;
  for (size_t i = from; i < to; i++) {
    if (b[i] != pat(seed, i)) {
      fail(st->id, "%s: byte %zu of %zu is %#x, not %#x", what, i, to, b[i],
           pat(seed, i));
      return false;
    }
    if (i < n) sum_byte(st, b[i]);
  }
  return true;
}

static bool check_size(thread_state *st, const void *p, size_t n,
                       const char *what) {
  size_t s = GC_size(p);
  if (s >= n) return true;
  fail(st->id, "%s: GC_size %zu < %zu asked for", what, s, n);
  return false;
}

/* ---- making and checking each type --------------------------------------- */

static node *new_node(thread_state *st, uint32_t n, const char *what) {
  node *x = GC_MALLOC(n);
  if (!x) return fail(st->id, "%s: GC_MALLOC(%u) failed", what, n), NULL;
  check_size(st, x, n, what);
  x->seed = (uint32_t)next_rand(&st->rng);
  x->n = n;
  fill(x, offsetof(node, data), GC_size(x), x->seed);
  st->res->objects++;
  return x;
}

static bool check_node(thread_state *st, const node *x, const char *what) {
  if (!x) return fail(st->id, "%s: a node is missing", what), false;
  return check_bytes(st, x, offsetof(node, data), GC_size(x), x->n, x->seed,
                     what);
}

static uint32_t node_size(thread_state *st) {
  return (uint32_t)sizeof(node) + below(&st->rng, 200);
}

static void *make_list(thread_state *st, uint32_t *count) {
  node *head = NULL;
  *count = 1 + below(&st->rng, 24);
  for (uint32_t i = 0; i < *count; i++) {
    node *x = new_node(st, node_size(st), "list");
    if (!x) return head;
    x->next = head;
    head = x;
  }
  return head;
}

static unsigned long check_list(thread_state *st, node *x) {
  unsigned long k = 0;
  for (; x; x = x->next, k++)
    if (!check_node(st, x, "list node")) break;
  return k;
}

static node *make_tree(thread_state *st, int depth, uint32_t *count) {
  if (depth == 0 || below(&st->rng, 8) == 0) return NULL;
  node *x = new_node(st, node_size(st), "tree");
  if (!x) return NULL;
  ++*count;
  x->next = make_tree(st, depth - 1, count);
  x->right = make_tree(st, depth - 1, count);
  return x;
}

static unsigned long check_tree(thread_state *st, const node *x) {
  if (!x) return 0;
  if (!check_node(st, x, "tree node")) return 0;
  return 1 + check_tree(st, x->next) + check_tree(st, x->right);
}

/* Frees a list node by node; the next pointer is read first. */
static void free_list(thread_state *st, node *x) {
  while (x) {
    node *next = x->next;
    GC_FREE(x);
    st->res->freed++;
    x = next;
  }
}

static void *make_buffer(thread_state *st, uint32_t n, uint32_t seed, int how,
                         const char *what) {
  void *p = how == 0   ? GC_MALLOC_ATOMIC(n)
            : how == 1 ? GC_malloc_ignore_off_page(n)
                       : GC_malloc_atomic_ignore_off_page(n);
  if (!p) return fail(st->id, "%s: no memory for %u bytes", what, n), NULL;
  check_size(st, p, n, what);
  fill(p, 0, GC_size(p), seed);
  st->res->objects++;
  return p;
}

static void make_text(thread_state *st, char *buf, uint32_t len,
                      uint32_t seed) {
  (void)st;
  for (uint32_t i = 0; i < len; i++)
    buf[i] = (char)('a' + (seed + i * 7u) % 26u);
  buf[len] = '\0';
}

static char *make_string(thread_state *st, uint32_t *len, uint32_t seed) {
  char buf[600];
  uint32_t full = below(&st->rng, 400);
  make_text(st, buf, full, seed);
  char *s;
  if (below(&st->rng, 2)) {
    s = GC_STRDUP(buf);
    *len = full;
  } else {
    uint32_t k = below(&st->rng, full + 9);
    s = GC_STRNDUP(buf, k);
    *len = k < full ? k : full;
  }
  if (!s) return fail(st->id, "string: GC_STRDUP failed"), NULL;
  st->res->objects++;
  if (strlen(s) != *len || memcmp(s, buf, *len) != 0) {
    fail(st->id, "string: GC_STR(N)DUP gave %zu bytes '%.40s', not %u",
         strlen(s), s, *len);
    return s;
  }
  check_size(st, s, *len + 1, "string");
  fill(s, *len + 1, GC_size(s), seed); /* after the NUL */
  return s;
}

static bool check_string(thread_state *st, const char *s, uint32_t len,
                         uint32_t seed) {
  char buf[600];
  make_text(st, buf, len, seed);
  if (memcmp(s, buf, len + 1) != 0)
    return fail(st->id, "string: '%.40s' changed (length %u)", s, len), false;
  for (uint32_t i = 0; i < len; i++)
    sum_byte(st, (unsigned char)s[i]);
  return check_bytes(st, s, len + 1, GC_size(s), 0, seed, "string tail");
}

/* Grows a block a few times, checking what realloc keeps each time. */
static void *make_realloc(thread_state *st, uint32_t *n, uint32_t seed) {
  uint32_t size = 8 + below(&st->rng, 64);
  void *p = below(&st->rng, 2)   ? GC_REALLOC(NULL, size)
            : below(&st->rng, 2) ? GC_MALLOC(size)
                                 : GC_MALLOC_ATOMIC(size);
  if (!p) return fail(st->id, "realloc: no first block"), NULL;
  st->res->objects++;
  fill(p, 0, GC_size(p), seed);
  int steps = 1 + (int)below(&st->rng, 5);
  for (int i = 0; i < steps; i++) {
    size_t had = GC_size(p);
    bool shrink = i > 0 && below(&st->rng, 4) == 0;
    size = shrink ? size / 2 + 1 : size * 2 + below(&st->rng, 3000);
    void *q = GC_REALLOC(p, size);
    if (!q) return fail(st->id, "realloc: GC_REALLOC(%u) failed", size), p;
    size_t kept = had < size ? had : size;
    if (!check_bytes(st, q, 0, kept, 0, seed, "realloc kept")) return q;
    check_size(st, q, size, "realloc");
    fill(q, 0, GC_size(q), seed);
    p = q;
  }
  *n = size;
  return p;
}

/* k objects of n bytes from GC_malloc_many lists, chained through their
 * first words; a list's leftovers serve the next call of the same size. */
static void *make_many(thread_state *st, uint32_t n, uint32_t k,
                       uint32_t seed) {
  void *head = NULL;
  if (st->many_n != n) st->many = NULL; /* dropped: the collector's now */
  st->many_n = n;
  for (uint32_t i = 0; i < k; i++) {
    if (!st->many) st->many = GC_malloc_many(n);
    if (!st->many) return fail(st->id, "many: GC_malloc_many failed"), head;
    void *p = st->many;
    st->many = GC_NEXT(p);
    GC_NEXT(p) = NULL;
    check_size(st, p, n, "many");
    fill(p, sizeof(void *), GC_size(p), seed + i);
    GC_NEXT(p) = head;
    head = p;
    st->res->objects++;
  }
  return head;
}

static unsigned long check_many(thread_state *st, void *p, uint32_t n,
                                uint32_t k, uint32_t seed) {
  unsigned long got = 0;
  for (uint32_t i = k; p && i-- > 0; p = GC_NEXT(p), got++)
    if (!check_bytes(st, p, sizeof(void *), GC_size(p), n, seed + i, "many"))
      break;
  if (got != k) fail(st->id, "many: %lu objects of %u", got, k);
  return got;
}

/* An uncollectable object alone keeps its buffers alive. */
static uncoll *make_uncoll(thread_state *st, uint32_t seed) {
  uncoll *u = GC_MALLOC_UNCOLLECTABLE(sizeof *u + below(&st->rng, 100));
  if (!u) return fail(st->id, "uncollectable: none"), NULL;
  st->res->objects++;
  check_size(st, u, sizeof *u, "uncollectable");
  fill(u, sizeof *u, GC_size(u), seed);
  u->seed = seed;
  for (int i = 0; i < UNCOLL_SLOTS; i++) {
    u->n[i] = 1 + below(&st->rng, 300);
    u->slot[i] = make_buffer(st, u->n[i], seed + (uint32_t)i, 0, "held");
  }
  return u;
}

static bool check_uncoll(thread_state *st, const uncoll *u) {
  bool ok =
      check_bytes(st, u, sizeof *u, GC_size(u), 0, u->seed, "uncollectable");
  for (int i = 0; i < UNCOLL_SLOTS && ok; i++)
    ok = u->slot[i] &&
         check_bytes(st, u->slot[i], 0, GC_size(u->slot[i]), u->n[i],
                     u->seed + (uint32_t)i, "held by an uncollectable object");
  return ok;
}

static void *make_aligned(thread_state *st, uint32_t n, uint32_t align,
                          uint32_t seed) {
  void *p = NULL;
  if (below(&st->rng, 2)) {
    p = GC_memalign(align, n);
  } else {
    int rc = GC_posix_memalign(&p, align, n);
    if (rc != 0) fail(st->id, "aligned: GC_posix_memalign: %d", rc);
  }
  if (!p) return fail(st->id, "aligned: no memory"), NULL;
  st->res->objects++;
  if ((uintptr_t)p % align != 0)
    fail(st->id, "aligned: %u bytes not aligned to %u", n, align);
  check_size(st, p, n, "aligned");
  fill(p, 0, n, seed); /* GC_size may count from below p */
  return p;
}

/* Objects of our kind, as compilers and Guile hand them out: from a
 * thread-local free list, refilled by GC_generic_malloc_many. */
static void *make_inline(thread_state *st, uint32_t granules, uint32_t k,
                         uint32_t seed) {
  void *head = NULL;
  for (uint32_t i = 0; i < k; i++) {
    void *p;
    GC_FAST_MALLOC_GRANS(
        p, granules, st->tiny_fl, 0, own_kind,
        GC_generic_malloc(granules * GC_GRANULE_BYTES, own_kind),
        *(void **)(p) = 0);
    if (!p) return fail(st->id, "inline: no object"), head;
    check_size(st, p, granules * GC_GRANULE_BYTES, "inline");
    fill(p, sizeof(void *), GC_size(p), seed + i);
    GC_NEXT(p) = head;
    head = p;
    st->res->objects++;
  }
  return head;
}

/* ---- the ring ------------------------------------------------------------ */

static void make(thread_state *st, rec *r) {
  uint32_t seed = (uint32_t)next_rand(&st->rng);
  rec x = {.type = 1 + below(&st->rng, T_COUNT - 1), .seed = seed};
  switch (x.type) {
  case T_LIST:
    x.p = make_list(st, &x.extra);
    break;
  case T_TREE:
    x.p = make_tree(st, 7, &x.extra);
    break;
  case T_ATOMIC:
    x.n = 1 + below(&st->rng, 2000);
    x.p = make_buffer(st, x.n, seed, 0, "atomic");
    break;
  case T_BIG:
  case T_BIGA:
    x.n = 4096 + below(&st->rng, 60000);
    x.p = make_buffer(st, x.n, seed, x.type == T_BIG ? 1 : 2, "off-page");
    break;
  case T_STR:
    x.p = make_string(st, &x.n, seed);
    break;
  case T_REALLOC:
    x.p = make_realloc(st, &x.n, seed);
    break;
  case T_MANY:
    x.n = 16 + 16 * below(&st->rng, 8);
    x.extra = 1 + below(&st->rng, 40);
    x.p = make_many(st, x.n, x.extra, seed);
    break;
  case T_UNCOLL:
    x.p = make_uncoll(st, seed);
    break;
  case T_AUNCOLL:
    x.n = 1 + below(&st->rng, 500);
    x.p = GC_MALLOC_ATOMIC_UNCOLLECTABLE(x.n);
    if (!x.p) fail(st->id, "atomic uncollectable: none");
    if (x.p) st->res->objects++, fill(x.p, 0, GC_size(x.p), seed);
    break;
  case T_ALIGN:
    x.extra = 16u << below(&st->rng, 9); /* 16 .. 4096 */
    x.n = 1 + below(&st->rng, 3000);
    x.p = make_aligned(st, x.n, x.extra, seed);
    break;
  case T_INLINE:
    x.n = 1 + below(&st->rng, GC_TINY_FREELISTS - 1); /* granules */
    x.extra = 1 + below(&st->rng, 30);
    x.p = make_inline(st, x.n, x.extra, seed);
    break;
  }
  st->res->made[x.type]++;
  *r = x;
}

/* Checks an object, then drops it: some are freed, the rest collected. */
static void check(thread_state *st, rec *r, bool drop) {
  if (r->type == T_NONE) return;
  if (!r->p) return; /* its failure is already told */
  unsigned long k = 1;
  bool free_it = drop && below(&st->rng, 4) == 0;
  switch (r->type) {
  case T_LIST:
    k = check_list(st, r->p);
    if (k != r->extra) fail(st->id, "list: %lu nodes of %u", k, r->extra);
    if (free_it) free_list(st, r->p);
    break;
  case T_TREE:
    k = check_tree(st, r->p);
    if (k != r->extra) fail(st->id, "tree: %lu nodes of %u", k, r->extra);
    break;
  case T_ATOMIC:
  case T_BIG:
  case T_BIGA:
  case T_AUNCOLL:
    check_bytes(st, r->p, 0, GC_size(r->p), r->n, r->seed, type_names[r->type]);
    if (free_it || (drop && r->type == T_AUNCOLL))
      GC_FREE(r->p), st->res->freed++;
    break;
  case T_STR:
    check_string(st, r->p, r->n, r->seed);
    if (free_it) GC_FREE(r->p), st->res->freed++;
    break;
  case T_REALLOC:
    check_bytes(st, r->p, 0, GC_size(r->p), r->n, r->seed, "realloc");
    if (free_it) GC_FREE(r->p), st->res->freed++;
    break;
  case T_MANY:
    k = check_many(st, r->p, r->n, r->extra, r->seed);
    break;
  case T_UNCOLL:
    check_uncoll(st, r->p);
    if (drop) GC_FREE(r->p), st->res->freed++;
    break;
  case T_ALIGN:
    check_bytes(st, r->p, 0, r->n, r->n, r->seed, "aligned");
    break;
  case T_INLINE:
    k = 0;
    for (void *p = r->p; p && k < r->extra; p = GC_NEXT(p), k++)
      if (!check_bytes(st, p, sizeof(void *), GC_size(p),
                       r->n * GC_GRANULE_BYTES, r->seed + r->extra - 1 - k,
                       "inline"))
        break;
    if (k != r->extra) fail(st->id, "inline: %lu objects of %u", k, r->extra);
    break;
  }
  st->res->checked[r->type] += k;
  if (drop) *r = (rec){0};
}

static void *run_thread(void *arg) {
  result *res = arg;
  int id = (int)(res - results);
  thread_state st = {.id = id, .res = res};
  st.rng = 0x9E3779B97F4A7C15ull * (uint64_t)(id + 1);
  st.ring = GC_MALLOC(RING * sizeof(rec));
  if (!st.ring) return fail(id, "no ring"), NULL;
  for (int round = 0; round < ROUNDS; round++) {
    rec *r = &st.ring[below(&st.rng, RING)];
    check(&st, r, true);
    make(&st, r);
    if (round % 50 == 49) { /* moved to the global array */
      int k = (round / 50) % KEEP;
      rec old = keep_rec[id][k];
      old.p = keep[id][k];
      check(&st, &old, true);
      keep[id][k] = r->p;
      keep_rec[id][k] = *r;
      keep_rec[id][k].p = NULL; /* keep[][] is the only root */
      *r = (rec){0};
    }
    if (round % COLLECT == COLLECT - 1 - id) {
      GC_gcollect();
      res->collects++;
      for (int i = 0; i < RING; i++)
        check(&st, &st.ring[i], false);
    }
  }
  for (int i = 0; i < RING; i++)
    check(&st, &st.ring[i], true);
  return NULL;
}

/* ---- main ---------------------------------------------------------------- */

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "default";
  static const char *const modes[] = {"default", "incremental", "no_interior",
                                      "no_dls", "parallel"};
  size_t m = 0;
  while (m < 5 && strcmp(mode, modes[m]) != 0)
    m++;
  if (m == 5) {
    fprintf(stderr,
            "usage: %s default|incremental|no_interior|no_dls|parallel\n",
            argv[0]);
    return 2;
  }
  if (strcmp(mode, "no_interior") == 0) GC_set_all_interior_pointers(0);
  if (strcmp(mode, "no_dls") == 0) GC_set_no_dls(1);
  if (strcmp(mode, "parallel") == 0) GC_set_markers_count(3);
  GC_INIT();
  if (strcmp(mode, "incremental") == 0) GC_enable_incremental();
  if (strcmp(mode, "no_dls") == 0) /* our data is no root of itself now */
    GC_add_roots(keep, (char *)keep + sizeof keep);
  own_kind = (int)GC_new_kind(GC_new_free_list(), GC_DS_LENGTH, 1, 1);

  /* The first allocation (gt run starts gt there) is the threads'. */
  pthread_t th[THREADS];
  for (int t = 0; t < THREADS; t++) {
    int rc = pthread_create(&th[t], NULL, run_thread, &results[t]);
    if (rc != 0) return fprintf(stderr, "pthread_create: %d\n", rc), 1;
  }
  for (int t = 0; t < THREADS; t++)
    pthread_join(th[t], NULL);

  /* What only the global array holds, after a last collection. */
  GC_gcollect();
  unsigned long kept = 0;
  for (int t = 0; t < THREADS; t++) {
    thread_state st = {.id = t, .res = &results[t], .rng = 1};
    for (int k = 0; k < KEEP; k++) {
      rec r = keep_rec[t][k];
      r.p = keep[t][k];
      kept += r.type != T_NONE;
      check(&st, &r, true);
    }
  }

  printf("threaded %s: %d threads x %d rounds, incremental=%d "
         "all_interior_pointers=%d\n",
         mode, THREADS, ROUNDS, GC_is_incremental_mode(),
         GC_get_all_interior_pointers());
  unsigned long objects = 0, freed = 0;
  for (int t = 0; t < THREADS; t++) {
    result *res = &results[t];
    printf("thread %d: %lu objects, %lu freed, %lu collections, checksum "
           "%016llx\n",
           t, res->objects, res->freed, res->collects,
           (unsigned long long)res->sum);
    for (int k = 1; k < T_COUNT; k++)
      printf("  %-20s made %6lu, objects checked %7lu\n", type_names[k],
             res->made[k], res->checked[k]);
    objects += res->objects;
    freed += res->freed;
  }
  printf("kept in the global array: %lu\n", kept);
  printf("total: %lu objects, %lu freed\n", objects, freed);
  if (strcmp(mode, "incremental") == 0 && !GC_is_incremental_mode())
    fail(-1, "incremental mode is off");
  if (strcmp(mode, "no_interior") == 0 && GC_get_all_interior_pointers())
    fail(-1, "interior pointers are on");
  unsigned f = atomic_load(&failures);
  printf("%s\n", f ? "FAILED" : "ok");
  if (f) fprintf(stderr, "threaded: %u checks failed\n", f);
  return f ? 1 : 0;
}
