/* Interning of names and allocation sites.
 *
 * Site records live in fixed chunks that are never freed or moved, so the
 * disclaim procedure and the worker can read them without a lock; only
 * creating a site takes the mutex. gt_malloc avoids even that on the hot
 * path with a small per-thread cache, verified by string comparison because
 * callers may reuse a freed name buffer for another name. */
#include <link.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gt_internal.h"

#define CHUNK_BITS 10
#define CHUNK (1u << CHUNK_BITS)
#define NCHUNKS ((GT_MAX_SITES >> CHUNK_BITS) + 1)
#define HASH_BITS 16

typedef struct site_node {
  uint32_t id;
  struct site_node *next;
} site_node;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static gt_site *_Atomic site_chunks[NCHUNKS];
static _Atomic uint32_t nsites; /* ids 1..nsites are valid */
/* Names by id (1-based), in chunks that never move, like the sites. */
static const char **_Atomic name_chunks[NCHUNKS];
static _Atomic uint32_t nnames;
static site_node *buckets[1u << HASH_BITS];

static uint64_t hash_str(uint64_t h, const char *s) {
  for (; s && *s; s++)
    h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
  return h;
}

static bool same(const char *a, const char *b) {
  return a == b || (a && b && strcmp(a, b) == 0);
}

static uint32_t intern_name(const char *name) {
  uint32_t n = atomic_load_explicit(&nnames, memory_order_relaxed);
  for (uint32_t i = 1; i <= n; i++)
    if (strcmp(gt__name(i), name) == 0) return i;
  uint32_t id = n + 1;
  if (id > GT_MAX_SITES) return 0;
  const char **chunk = atomic_load_explicit(&name_chunks[id >> CHUNK_BITS],
                                            memory_order_relaxed);
  if (!chunk) {
    if (!(chunk = calloc(CHUNK, sizeof *chunk))) return 0;
    atomic_store_explicit(&name_chunks[id >> CHUNK_BITS], chunk,
                          memory_order_release);
  }
  char *copy = strdup(name);
  if (!copy) return 0;
  chunk[id & (CHUNK - 1)] = copy;
  atomic_store_explicit(&nnames, id, memory_order_release);
  return id;
}

static uint32_t intern_locked(const char *name, const char *file, int line) {
  uint64_t h = hash_str(hash_str(0xcbf29ce484222325ull, name), file);
  h = (h ^ (uint64_t)(unsigned)line) * 0x100000001b3ull;
  site_node **b = &buckets[h & ((1u << HASH_BITS) - 1)];
  for (site_node *n = *b; n; n = n->next) {
    gt_site *s = gt__site(n->id);
    if (s->line == line && same(s->name, name) && same(s->file, file))
      return n->id;
  }
  uint32_t id = atomic_load_explicit(&nsites, memory_order_relaxed) + 1;
  if (id > GT_MAX_SITES) return 0;
  gt_site *chunk = atomic_load_explicit(&site_chunks[id >> CHUNK_BITS],
                                        memory_order_relaxed);
  if (!chunk) {
    chunk = calloc(CHUNK, sizeof *chunk);
    if (!chunk) return 0;
    atomic_store_explicit(&site_chunks[id >> CHUNK_BITS], chunk,
                          memory_order_release);
  }
  site_node *node = malloc(sizeof *node);
  uint32_t name_id = intern_name(name);
  char *file_copy = file ? strdup(file) : NULL;
  if (!node || !name_id || (file && !file_copy)) {
    free(node);
    free(file_copy);
    return 0;
  }
  gt_site *s = &chunk[id & (CHUNK - 1)];
  s->name = gt__name(name_id);
  s->file = file_copy;
  s->line = line;
  s->name_id = name_id;
  node->id = id;
  node->next = *b;
  *b = node;
  atomic_store_explicit(&nsites, id, memory_order_release);
  return id;
}

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
/* initial-exec: the library is PIC, and the default TLS model would make
 * every gt_malloc call __tls_get_addr. */
#define GT_TLS __attribute__((tls_model("initial-exec"))) _Thread_local
static GT_TLS cache_entry cache[CACHE];
static GT_TLS cache_entry *last; /* allocation loops hit the same site */

/* `file` is __FILE__ (static storage, see gt_malloc_at), so its pointer
 * identifies it; `name` may be a reused buffer, so its content is checked. */
uint32_t gt__intern_site(const char *name, const char *file, int line) {
  if (!name) name = "object";
  cache_entry *l = last;
  if (l && l->name == name && l->file == file && l->line == line && l->constant)
    return l->id;
  uintptr_t k = ((uintptr_t)name >> 3) ^ (uintptr_t)line;
  cache_entry *e = &cache[(k ^ (k >> 6)) & (CACHE - 1)];
  if (e->name == name && e->file == file && e->line == line && e->id &&
      (e->constant || strcmp(gt__site(e->id)->name, name) == 0)) {
    last = e;
    return e->id;
  }
  pthread_mutex_lock(&lock);
  uint32_t id = intern_locked(name, file, line);
  pthread_mutex_unlock(&lock);
  if (id) {
    *e = (cache_entry){name, file, line, id, read_only(name)};
    last = e;
  }
  return id;
}

gt_site *gt__site(uint32_t id) {
  gt_site *chunk = atomic_load_explicit(&site_chunks[id >> CHUNK_BITS],
                                        memory_order_acquire);
  return &chunk[id & (CHUNK - 1)];
}

uint32_t gt__site_count(void) {
  return atomic_load_explicit(&nsites, memory_order_acquire);
}

const char *gt__name(uint32_t name_id) {
  const char **chunk = atomic_load_explicit(&name_chunks[name_id >> CHUNK_BITS],
                                            memory_order_acquire);
  return chunk[name_id & (CHUNK - 1)];
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
