/* `gt run`'s answers to bdwgc's allocation API in a program nobody
 * rewrote (attach.h lists the calls). Each object the program asks for
 * becomes a gt object sited by its call stack; what gt cannot make its own
 * goes to bdwgc and is counted as bypassed: uncollectable and aligned
 * objects, other kinds' free lists (Guile refills its own with
 * GC_generic_malloc_many), and calls libgc makes itself (GC_debug_malloc
 * calls GC_malloc).
 *
 * A per-thread depth guards reentry: libgc calls its own entry points
 * through the PLT, and gt's own bdwgc calls come back here; inside either,
 * every call goes straight to bdwgc, uncounted.
 *
 * Nothing here runs in the collector's context: these are the program's
 * calls, in the program's threads. Built only into libgt-attach-core.so. */
#include <dlfcn.h>
#include <link.h>
#include <string.h>

#include "gc/attach.h"
#include "gc/gcassume.h"
#include "gc/gcctx.h"
#include "gc/object.h"
#include "gc/stack.h"

static GT_TLS int depth;
static _Atomic int state; /* 0: not started, 1: attached, -1: off */
static pthread_once_t start_once = PTHREAD_ONCE_INIT;
static int (*starter)(void);
static uintptr_t gc_lo, gc_hi; /* libgc's code */

/* ---- starting at the first allocation ----------------------------------- */

static int find_code(struct dl_phdr_info *info, size_t size, void *base) {
  (void)size;
  if ((void *)info->dlpi_addr != base) return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
    if (!gc_lo || lo < gc_lo) gc_lo = lo;
    if (hi > gc_hi) gc_hi = hi;
  }
  return 1;
}

/* After the program's own GC_set_* calls, which come before its first
 * allocation: gt_init reads the collector's modes as the program set them. */
static void start(void) {
  Dl_info gc;
  if (dladdr((void *)GC_init, &gc)) dl_iterate_phdr(find_code, gc.dli_fbase);
  gt__interpose_attached();
  depth++;
  int rc = starter ? starter() : GT_ESTATE;
  depth--;
  atomic_store(&state, rc == GT_OK ? 1 : -1);
}

static inline bool attached(void) {
  int s = atomic_load_explicit(&state, memory_order_acquire);
  if (__builtin_expect(s == 0, 0)) {
    pthread_once(&start_once, start);
    s = atomic_load(&state);
  }
  return s > 0;
}

/* A call gt passes to bdwgc: inside gt or libgc, before gt runs, or made
 * by libgc's own code (ra in it; counted, it is the program's object). */
static inline bool passed(const void *ra) {
  if (depth || !attached()) return true;
  if ((uintptr_t)ra - gc_lo < gc_hi - gc_lo) {
    gt__alloc_count_bypassed(1);
    return true;
  }
  return false;
}

/* An allocation gt.alloc_sample_every leaves out is made by bdwgc as if
 * gt were not there (counted, no header, no site); libgc's own calls
 * inside it (GC_strdup -> GC_malloc_atomic) are not counted again. */
#define OR_UNTRACKED(call)                                                     \
  do {                                                                         \
    if (gt__alloc_untracked()) {                                               \
      depth++;                                                                 \
      __typeof__(call) untracked_ = call;                                      \
      depth--;                                                                 \
      return untracked_;                                                       \
    }                                                                          \
  } while (0)

static void *sited(const void *ra, size_t n, bool atomic) {
  depth++;
  void *p = gt__alloc_attached(n, atomic, ra);
  depth--;
  return p;
}

/* ---- objects gt tracks -------------------------------------------------- */

#define REAL(name) gt__real_##name()

static void *at_malloc(const void *ra, size_t n) {
  if (passed(ra)) return REAL(malloc)(n);
  OR_UNTRACKED(REAL(malloc)(n));
  return sited(ra, n, false);
}

static void *at_malloc_atomic(const void *ra, size_t n) {
  if (passed(ra)) return REAL(malloc_atomic)(n);
  OR_UNTRACKED(REAL(malloc_atomic)(n));
  return sited(ra, n, true);
}

/* The program keeps a pointer to the first page; gt's object works with
 * any pointer into it, which is more than was promised. */
static void *at_malloc_ignore_off_page(const void *ra, size_t n) {
  if (passed(ra)) return REAL(malloc_ignore_off_page)(n);
  OR_UNTRACKED(REAL(malloc_ignore_off_page)(n));
  return sited(ra, n, false);
}

static void *at_malloc_atomic_ignore_off_page(const void *ra, size_t n) {
  if (passed(ra)) return REAL(malloc_atomic_ignore_off_page)(n);
  OR_UNTRACKED(REAL(malloc_atomic_ignore_off_page)(n));
  return sited(ra, n, true);
}

/* A list of objects linked through their first words (GC_NEXT), all of
 * one site; shorter than bdwgc's, which any caller must accept. */
#define MANY 16
static void *at_malloc_many(const void *ra, size_t n) {
  if (passed(ra)) return REAL(malloc_many)(n);
  size_t lb = n < sizeof(void *) ? sizeof(void *) : n;
  size_t k = lb * MANY <= GT_HBLK ? MANY : 1;
  depth++;
  uint32_t site = gt__stack_site(NULL, ra);
  void *head = NULL;
  for (size_t i = 0; i < k; i++) {
    void *p = gt__alloc_at_site(lb, site, false);
    if (!p) break;
    *(void **)p = head;
    head = p;
  }
  depth--;
  return head;
}

static char *copy(const void *ra, const char *s, size_t len) {
  char *p = sited(ra, len + 1, true);
  if (p) memcpy(p, s, len); /* the last byte is already 0 */
  return p;
}

static char *at_strdup(const void *ra, const char *s) {
  if (passed(ra)) return REAL(strdup)(s);
  if (!s) return NULL;
  OR_UNTRACKED(REAL(strdup)(s));
  return copy(ra, s, strlen(s));
}

static char *at_strndup(const void *ra, const char *s, size_t n) {
  if (passed(ra)) return REAL(strndup)(s, n);
  if (!s) return NULL;
  OR_UNTRACKED(REAL(strndup)(s, n));
  return copy(ra, s, strnlen(s, n));
}

/* gt's GC_realloc (interpose.c) keeps a gt object's site; a bdwgc object
 * stays bdwgc's. GC_realloc(NULL, n) is an allocation here. */
static void *at_realloc(const void *ra, void *p, size_t n) {
  if (!p) return at_malloc(ra, n);
  depth++;
  void *q = gt__ov_realloc(p, n);
  depth--;
  return q;
}

/* ---- objects gt counts only --------------------------------------------- */

/* Counts n objects made by the program (not by gt or libgc) and raises
 * the depth for the call to bdwgc, whose own PLT calls (GC_memalign ->
 * GC_malloc -> a free-list refill) must not be counted again; returns the
 * depth to restore. */
static int counted(uint64_t n) {
  int d = depth;
  if (!d && n) gt__alloc_count_bypassed(n);
  depth = d + 1;
  return d;
}

static void *at_malloc_uncollectable(size_t n) {
  int d = counted(1);
  void *p = REAL(malloc_uncollectable)(n);
  depth = d;
  return p;
}

static void *at_malloc_atomic_uncollectable(size_t n) {
  int d = counted(1);
  void *p = REAL(malloc_atomic_uncollectable)(n);
  depth = d;
  return p;
}

static void *at_memalign(size_t a, size_t n) {
  int d = counted(1);
  void *p = REAL(memalign)(a, n);
  depth = d;
  return p;
}

static int at_posix_memalign(void **pp, size_t a, size_t n) {
  int d = counted(1);
  int rc = REAL(posix_memalign)(pp, a, n);
  depth = d;
  return rc;
}

/* A refill of another kind's free list: its objects are handed out by
 * the program's inline code, never seen again, so they are counted here.
 * gt's own refills (tlcache.c) come at depth > 0. */
static void at_generic_malloc_many(size_t n, int k, void **r) {
  int d = counted(0);
  REAL(generic_malloc_many)(n, k, r);
  depth = d;
  if (d || gt__is_gt_kind(k)) return;
  uint64_t c = 0;
  for (void *p = *r; p && c <= GT_HBLK; p = *(void **)p)
    c++;
  gt__alloc_count_bypassed(c);
}

/* ---- the table ---------------------------------------------------------- */

static gt_attach_table table;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void fill(void) {
  gt_attach_table *t = &table;
  *t = (gt_attach_table){.abi = GT_ATTACH_ABI, .gc_init = GC_init};
#define AT(name, ret, params, args, kw) t->name = at_##name;
#define OURS(name, ret, params, args, kw) t->name = gt__ov_##name;
  GT_ATTACH_SITED(AT)
  GT_ATTACH_COUNTED(AT)
  GT_ATTACH_OURS(OURS)
#undef AT
#undef OURS
}

const gt_attach_table *gt__attach_table(int (*start_fn)(void)) {
  starter = start_fn;
  pthread_once(&table_once, fill);
  return &table;
}
