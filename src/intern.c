/* Interning of names and allocation sites.
 *
 * Site and name records live in fixed chunks that are never freed or
 * moved, so the collector's context and the worker read them without a
 * lock; only creating one takes the mutex, and finding one is a hash
 * lookup (expected O(1)). gt_malloc avoids even that on the hot path with
 * a small per-thread cache, verified by content because callers may reuse
 * a freed name buffer for another name.
 *
 * Identity is the program's bytes; what is stored for display is the
 * escaped text (text.c). Past the table's limit every new site is the one
 * reserved "(other sites)" site, with one warning: counts stay exact,
 * only their attribution is coarser. */
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intern.h"
#include "text.h"

#define CHUNK_BITS 10
#define CHUNK (1u << CHUNK_BITS)
#define NCHUNKS ((GT_OTHER_SITE >> CHUNK_BITS) + 1)
#define OTHER "(other sites)"
#define CORRUPT "(corrupt header)"

/* An open-addressing table of ids by hash; grows at half full. */
typedef struct htab {
  uint64_t *hash;
  uint32_t *id; /* 0: empty */
  size_t cap, n;
} htab;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static gt_site *_Atomic site_chunks[NCHUNKS];
static _Atomic uint32_t nsites; /* ids 1..nsites are valid, and OTHER */
static const char **_Atomic name_chunks[NCHUNKS];
static const char **raw_chunks[NCHUNKS]; /* the program's bytes, by name id */
static _Atomic uint32_t nnames;
static htab names, sites;
static gt_site last_sites[CHUNK]; /* the last chunk: the reserved ids */
static const char *last_names[CHUNK], *last_raw[CHUNK];
static bool full_warned;

static uint64_t hash_bytes(uint64_t h, const char *s) {
  for (; s && *s; s++)
    h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
  return h;
}

static bool same(const char *a, const char *b) {
  return a == b || (a && b && strcmp(a, b) == 0);
}

static bool ht_grow(htab *t) {
  size_t cap = t->cap ? t->cap * 2 : 1024;
  uint64_t *hash = calloc(cap, sizeof *hash);
  uint32_t *id = calloc(cap, sizeof *id);
  if (!hash || !id) {
    free(hash);
    free(id);
    return false;
  }
  for (size_t i = 0; i < t->cap; i++) {
    if (!t->id[i]) continue;
    size_t j = t->hash[i] & (cap - 1);
    while (id[j])
      j = (j + 1) & (cap - 1);
    hash[j] = t->hash[i];
    id[j] = t->id[i];
  }
  free(t->hash);
  free(t->id);
  *t = (htab){hash, id, cap, t->n};
  return true;
}

typedef bool (*match_fn)(uint32_t id, const void *key);

/* The id stored for a key, or 0 with *slot where it would go. */
static uint32_t ht_find(htab *t, uint64_t h, match_fn match, const void *key,
                        size_t *slot) {
  if (t->cap == 0) return *slot = 0, 0;
  size_t j = h & (t->cap - 1);
  for (; t->id[j]; j = (j + 1) & (t->cap - 1))
    if (t->hash[j] == h && match(t->id[j], key)) return t->id[j];
  *slot = j;
  return 0;
}

static bool ht_add(htab *t, uint64_t h, uint32_t id, match_fn match,
                   const void *key) {
  size_t slot = 0;
  if ((t->n + 1) * 2 > t->cap) {
    if (!ht_grow(t)) return false;
  }
  ht_find(t, h, match, key, &slot);
  t->hash[slot] = h;
  t->id[slot] = id;
  t->n++;
  return true;
}

static const char **name_chunk(uint32_t id) {
  return atomic_load_explicit(&name_chunks[id >> CHUNK_BITS],
                              memory_order_acquire);
}

static const char *raw_name(uint32_t id) {
  return raw_chunks[id >> CHUNK_BITS][id & (CHUNK - 1)];
}

static bool name_matches(uint32_t id, const void *key) {
  return strcmp(raw_name(id), key) == 0;
}

/* Chunks for an id (site and name tables grow together). */
static bool ensure_chunks(uint32_t id) {
  uint32_t c = id >> CHUNK_BITS;
  if (!atomic_load_explicit(&site_chunks[c], memory_order_relaxed)) {
    gt_site *s = calloc(CHUNK, sizeof *s);
    if (!s) return false;
    atomic_store_explicit(&site_chunks[c], s, memory_order_release);
  }
  if (!raw_chunks[c] && !(raw_chunks[c] = calloc(CHUNK, sizeof(char *))))
    return false;
  if (!atomic_load_explicit(&name_chunks[c], memory_order_relaxed)) {
    const char **n = calloc(CHUNK, sizeof *n);
    if (!n) return false;
    atomic_store_explicit(&name_chunks[c], n, memory_order_release);
  }
  return true;
}

/* A copy for display (text.h: one line, valid UTF-8, no terminal
 * controls); the raw copy itself when nothing needs escaping. */
static const char *display(const char *raw) {
  size_t n = strlen(raw);
  char *out = malloc(GT_TEXT_LINE_MAX(n) + 1);
  if (!out) return NULL;
  size_t m = gt__text_line_put(out, raw);
  out[m] = 0;
  if (m == n && memcmp(out, raw, n) == 0) {
    free(out);
    return raw;
  }
  return out;
}

static uint32_t intern_name(const char *name, uint64_t h) {
  size_t slot;
  uint32_t id = ht_find(&names, h, name_matches, name, &slot);
  if (id) return id;
  id = atomic_load_explicit(&nnames, memory_order_relaxed) + 1;
  if (id >= GT_FIRST_RESERVED || !ensure_chunks(id)) return 0;
  char *raw = strdup(name);
  const char *shown = raw ? display(raw) : NULL;
  if (!raw || !shown || !ht_add(&names, h, id, name_matches, name)) {
    if (shown != raw) free((void *)shown);
    free(raw);
    return 0;
  }
  raw_chunks[id >> CHUNK_BITS][id & (CHUNK - 1)] = raw;
  name_chunk(id)[id & (CHUNK - 1)] = shown;
  atomic_store_explicit(&nnames, id, memory_order_release);
  return id;
}

typedef struct site_key {
  uint32_t name_id;
  const char *file;
  int line;
  const uintptr_t *pcs; /* a stack site */
  int npcs;
} site_key;

static bool site_matches(uint32_t id, const void *key) {
  const site_key *k = key;
  gt_site *s = gt__site(id);
  if (k->pcs)
    return s->npcs == k->npcs && s->pcs && s->name_id == k->name_id &&
           memcmp(s->pcs, k->pcs, (size_t)k->npcs * sizeof *k->pcs) == 0;
  return !s->pcs && s->line == k->line && s->name_id == k->name_id &&
         same(s->file_key, k->file);
}

/* Return addresses differ in few bits: each is mixed in full (the
 * finaliser of MurmurHash3), so that every bit of the hash depends on it. */
static uint64_t hash_pcs(uint64_t h, const uintptr_t *pcs, int n) {
  for (int i = 0; i < n; i++) {
    h = (h ^ pcs[i]) * 0xff51afd7ed558ccdull;
    h ^= h >> 33;
  }
  h *= 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 33);
}

static uint32_t other_site(void) {
  if (!full_warned) {
    full_warned = true;
    gt__warn("more than %u allocation sites: new ones are counted as \"%s\"",
             GT_FIRST_RESERVED - 1, OTHER);
  }
  return GT_OTHER_SITE;
}

static uint32_t intern_locked(const char *name, const char *file, int line) {
  uint64_t hn = hash_bytes(0xcbf29ce484222325ull, name);
  uint32_t name_id = intern_name(name, hn);
  if (!name_id) return other_site();
  site_key k = {.name_id = name_id, .file = file, .line = line};
  uint64_t h =
      (hash_bytes(hn, file) ^ (uint64_t)(unsigned)line) * 0x100000001b3ull;
  size_t slot;
  uint32_t id = ht_find(&sites, h, site_matches, &k, &slot);
  if (id) return id;
  id = atomic_load_explicit(&nsites, memory_order_relaxed) + 1;
  if (id >= GT_FIRST_RESERVED || !ensure_chunks(id)) return other_site();
  char *file_copy = file ? strdup(file) : NULL;
  const char *shown = file_copy ? display(file_copy) : NULL;
  if ((file && (!file_copy || !shown)) ||
      !ht_add(&sites, h, id, site_matches, &k)) {
    if (shown != file_copy) free((void *)shown);
    free(file_copy);
    return other_site();
  }
  gt_site *s = gt__site(id);
  s->name = gt__name(name_id);
  s->file = shown;
  s->file_key = file_copy;
  s->line = line;
  s->name_id = name_id;
  atomic_store_explicit(&s->resolved, true, memory_order_relaxed);
  atomic_store_explicit(&nsites, id, memory_order_release);
  return id;
}

#define UNRESOLVED "(resolving)"

static uint32_t intern_stack_locked(const char *name, const uintptr_t *pcs,
                                    int n) {
  uint64_t h = 0x84222325cbf29ce4ull;
  uint32_t name_id = 0;
  if (name) {
    h = hash_bytes(0xcbf29ce484222325ull, name);
    if (!(name_id = intern_name(name, h))) return other_site();
  }
  site_key k = {.name_id = name_id, .pcs = pcs, .npcs = n};
  h = hash_pcs(h, pcs, n);
  size_t slot;
  uint32_t id = ht_find(&sites, h, site_matches, &k, &slot);
  if (id) return id;
  id = atomic_load_explicit(&nsites, memory_order_relaxed) + 1;
  if (id >= GT_FIRST_RESERVED || !ensure_chunks(id)) return other_site();
  uintptr_t *copy = malloc((size_t)n * sizeof *copy);
  if (!copy) return other_site();
  memcpy(copy, pcs, (size_t)n * sizeof *copy);
  k.pcs = copy;
  if (!ht_add(&sites, h, id, site_matches, &k)) {
    free(copy);
    return other_site();
  }
  gt_site *s = gt__site(id);
  s->pcs = copy;
  s->npcs = (uint8_t)n;
  s->name_id = name_id;
  s->name = name_id ? gt__name(name_id) : UNRESOLVED;
  atomic_store_explicit(&nsites, id, memory_order_release);
  return id;
}

void gt__site_resolve(uint32_t id, const char *name, const char *label,
                      int line) {
  gt_site *s = gt__site(id);
  pthread_mutex_lock(&lock);
  if (!s->name_id && name) {
    uint32_t nid = intern_name(name, hash_bytes(0xcbf29ce484222325ull, name));
    if (nid) {
      s->name = gt__name(nid);
      s->name_id = nid;
    }
  }
  const char *shown = label ? display(label) : NULL;
  if (shown && shown == label) shown = strdup(label);
  s->file = shown;
  s->line = line;
  pthread_mutex_unlock(&lock);
  atomic_store_explicit(&s->resolved, true, memory_order_release);
}

bool gt__site_resolved(uint32_t id) {
  return atomic_load_explicit(&gt__site(id)->resolved, memory_order_acquire);
}

static void reserve(uint32_t id, const char *name) {
  uint32_t i = id & (CHUNK - 1);
  last_names[i] = last_raw[i] = name;
  last_sites[i] = (gt_site){.name = name, .name_id = id, .resolved = true};
}

/* The reserved sites live in a static last chunk, so they exist even when
 * nothing else can be allocated, and before anything is interned. */
static void init_last(void) {
  uint32_t c = GT_OTHER_SITE >> CHUNK_BITS;
  reserve(GT_OTHER_SITE, OTHER);
  reserve(GT_CORRUPT_SITE, CORRUPT);
  raw_chunks[c] = last_raw;
  atomic_store_explicit(&name_chunks[c], last_names, memory_order_release);
  atomic_store_explicit(&site_chunks[c], last_sites, memory_order_release);
}
static pthread_once_t last_once = PTHREAD_ONCE_INIT;

/* Per-thread cache: keyed by the caller's pointers, confirmed by content
 * unless the name is in a read-only segment (a string literal, the usual
 * case), whose content cannot change. */
#define CACHE 64
typedef struct {
  const char *name, *file;
  int line;
  uint32_t id;
  bool constant;
} cache_entry;

static int find_segment(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  const void **p = arg;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
    if (ph->p_type == PT_LOAD && (uintptr_t)*p >= lo &&
        (uintptr_t)*p < lo + ph->p_memsz) {
      *p = (ph->p_flags & PF_W) ? NULL : *p;
      return 1;
    }
  }
  return 0;
}

static bool read_only(const char *s) {
  const void *p = s;
  return dl_iterate_phdr(find_segment, &p) == 1 && p != NULL;
}

/* Stack sites: a per-thread cache keyed by the stack's hash, confirmed by
 * comparing the frames (a hash alone could merge two call paths). The
 * frames of short stacks are kept in the entry, so that a hit reads no
 * site record: a program allocating from a thousand stacks in turn
 * (w3m) hits here instead of taking the lock. */
#define STACK_CACHE 1024
#define INLINE_PCS 4
typedef struct {
  uint64_t hash;
  const char *name;
  uint32_t id;
  int n;
  uintptr_t pcs[INLINE_PCS];
} stack_entry;
typedef struct stack_tls {
  stack_entry e[STACK_CACHE];
} stack_tls;
static GT_TLS stack_tls *stacks;

/* This thread's caches (util.h, gt__tls_block); initial-exec: the library
 * is PIC, and the default TLS model would make every gt_malloc call
 * __tls_get_addr. */
typedef struct intern_tls {
  cache_entry *last; /* allocation loops hit the same site */
  cache_entry cache[CACHE];
} intern_tls;
static GT_TLS intern_tls *tls;
static intern_tls none; /* out of memory: a cache that never hits */

static intern_tls *caches(void) {
  if (__builtin_expect(tls != NULL, 1)) return tls;
  intern_tls *t = gt__tls_block((void **)&tls, sizeof *t);
  return t ? t : &none; /* shared by such threads: never written */
}

static bool cached_matches(const cache_entry *e, const char *name) {
  if (e->constant) return true;
  uint32_t nid = gt__site(e->id)->name_id;
  return strcmp(raw_name(nid), name) == 0;
}

/* `file` is __FILE__ (static storage, see gt_malloc_at), so its pointer
 * identifies it; `name` may be a reused buffer, so its content is checked. */
uint32_t gt__intern_site(const char *name, const char *file, int line) {
  if (!name) name = "object";
  intern_tls *t = caches();
  cache_entry *l = t->last;
  if (l && l->name == name && l->file == file && l->line == line && l->constant)
    return l->id;
  uintptr_t k = ((uintptr_t)name >> 3) ^ (uintptr_t)line;
  cache_entry *e = &t->cache[(k ^ (k >> 6)) & (CACHE - 1)];
  if (e->id && e->name == name && e->file == file && e->line == line &&
      cached_matches(e, name)) {
    t->last = e;
    return e->id;
  }
  gt__intern_setup();
  pthread_mutex_lock(&lock);
  uint32_t id = intern_locked(name, file, line);
  pthread_mutex_unlock(&lock);
  if (id < GT_FIRST_RESERVED && t != &none) {
    *e = (cache_entry){name, file, line, id, read_only(name)};
    t->last = e;
  }
  return id;
}

static bool entry_matches(const stack_entry *e, uint64_t h, const char *name,
                          const uintptr_t *pcs, int n) {
  if (!e->id || e->hash != h || e->name != name || e->n != n) return false;
  const uintptr_t *have = n <= INLINE_PCS ? e->pcs : gt__site(e->id)->pcs;
  return memcmp(have, pcs, (size_t)n * sizeof *pcs) == 0;
}

uint32_t gt__intern_stack(const char *name, const uintptr_t *pcs, int n) {
  if (n > GT_MAX_STACK) n = GT_MAX_STACK;
  uint64_t h = hash_pcs((uint64_t)(uintptr_t)name, pcs, n);
  stack_tls *t = stacks;
  if (!t) t = gt__tls_block((void **)&stacks, sizeof *t);
  stack_entry *e = t ? &t->e[h & (STACK_CACHE - 1)] : NULL;
  if (e && entry_matches(e, h, name, pcs, n)) return e->id;
  gt__intern_setup();
  pthread_mutex_lock(&lock);
  uint32_t id = intern_stack_locked(name, pcs, n);
  pthread_mutex_unlock(&lock);
  if (e && id < GT_FIRST_RESERVED && (!name || read_only(name))) {
    *e = (stack_entry){.hash = h, .name = name, .id = id, .n = n};
    if (n <= INLINE_PCS) memcpy(e->pcs, pcs, (size_t)n * sizeof *pcs);
  }
  return id;
}

gt_site *gt__site(uint32_t id) {
  gt_site *chunk = atomic_load_explicit(&site_chunks[id >> CHUNK_BITS],
                                        memory_order_acquire);
  return &chunk[id & (CHUNK - 1)];
}

bool gt__site_valid(uint32_t id) {
  return id && (id <= atomic_load_explicit(&nsites, memory_order_acquire) ||
                (id >= GT_FIRST_RESERVED && id <= GT_OTHER_SITE));
}

void gt__intern_setup(void) {
  pthread_once(&last_once, init_last);
}

uint32_t gt__site_count(void) {
  return atomic_load_explicit(&nsites, memory_order_acquire);
}

const char *gt__name(uint32_t name_id) {
  return name_chunk(name_id)[name_id & (CHUNK - 1)];
}

const char *gt__site_label(const gt_site *s, char *buf, size_t n) {
  if (!s->file) {
    buf[0] = 0;
    return buf;
  }
  const char *base = strrchr(s->file, '/');
  if (s->line > 0)
    snprintf(buf, n, "%s:%d", base ? base + 1 : s->file, s->line);
  else
    snprintf(buf, n, "%s", base ? base + 1 : s->file);
  return buf;
}

uint32_t gt__name_count(void) {
  return atomic_load_explicit(&nnames, memory_order_acquire);
}

/* fork(): the child must not inherit a mutex held by a thread that does
 * not exist there. */
void gt__intern_fork(enum gt_fork_phase phase) {
  if (phase == GT_FORK_PREPARE)
    pthread_mutex_lock(&lock);
  else
    pthread_mutex_unlock(&lock);
}
