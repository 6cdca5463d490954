/* A gt object as the collector holds it: its kinds, and the header word in
 * the last word of its slot. Shared by the files of the GC context (alloc,
 * tlcache, reclaim, interpose, watch); nothing here locks or allocates.
 *
 * Layout of a slot of `slot` bytes (GC_get_kind_and_size):
 *
 *   [ payload: the program's bytes ......... ][ birth? ][ header ]
 *   ^ base == user pointer                     8 bytes   8 bytes
 *
 * The program owns everything before the birth word (or the header): that
 * is what GC_size() reports for a gt object (interpose.c makes it so). */
#ifndef GT_OBJECT_H
#define GT_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gc/gcctx.h"
#include "intern.h"
#include "util.h"

/* GC_CALLBACK without including gc.h here. */
#define GT_GC_CALLBACK

#define H_LIVE (1ull << 63)   /* tracked and not yet reported */
#define H_GT (1ull << 62)     /* handed out by gt (also when untracked) */
#define H_ATOMIC (1ull << 61) /* pointer-free payload */
#define H_AGE (1ull << 60)    /* a birth word precedes the header */
#define H_SITE_SHIFT 40
#define H_SITE_MASK ((1ull << GT_SITE_BITS) - 1)
#define H_FIN (1ull << 39) /* a finalizer reports it (finalizer mechanism) */
/* gt_expect_release: its death is a leak unless gt_release clears this
 * first. Flipped with atomic RMWs (other threads may mark or release the
 * same object); read by the sweeper with the rest of the header. */
#define H_EXPECT (1ull << 38)
#define H_SIZE_MASK (H_EXPECT - 1)
#define HDR_BYTES sizeof(uint64_t)
/* The largest request: the size field holds it, and slot arithmetic on it
 * cannot overflow. */
#define GT_MAX_OBJECT (H_SIZE_MASK - 64)

/* The two gt kinds (scanned like GC_MALLOC memory, and pointer-free); -1
 * until set up. Written once, before the first gt object exists. */
GT_HIDDEN extern int gt__kind_ptr, gt__kind_atomic;

static inline bool gt__is_gt_kind(int k) {
  return k >= 0 && (k == gt__kind_ptr || k == gt__kind_atomic);
}

static inline uint64_t *gt__header(void *base, size_t slot) {
  return (uint64_t *)((char *)base + slot - HDR_BYTES);
}

/* Bytes after the payload: the header, and the birth word if any. */
static inline size_t gt__tail_bytes(uint64_t h) {
  return h & H_AGE ? 2 * HDR_BYTES : HDR_BYTES;
}

static inline uint32_t gt__site_of(uint64_t h) {
  return (uint32_t)((h >> H_SITE_SHIFT) & H_SITE_MASK);
}

/* The event flags a header gives its report (event.h). */
static inline uint8_t gt__flags_of(uint64_t h) {
  return h & H_EXPECT ? GT_EVF_UNRELEASED : 0;
}

/* A live object's header may change under us (gt_expect_release and
 * gt_release in other threads): read it as one atomic word. Relaxed: a
 * plain load on every target gt supports. */
static inline uint64_t gt__header_load(const uint64_t *hp) {
  return __atomic_load_n(hp, __ATOMIC_RELAXED);
}

/* kinds.c: set once by setup.c, read everywhere. */
GT_HIDDEN void gt__kinds_set(int ptr, int atomic, size_t extra_byte);
GT_HIDDEN extern size_t gt__extra; /* bdwgc's pad: 1 with interior ptrs */
GT_HIDDEN extern _Atomic bool gt__kinds_used;
static inline size_t gt__extra_byte(void) {
  return gt__extra;
}
static inline void gt__kinds_note_used(void) {
  if (!atomic_load_explicit(&gt__kinds_used, memory_order_relaxed))
    atomic_store_explicit(&gt__kinds_used, true, memory_order_relaxed);
}
/* setup.c: the kinds and hooks, once; GT_ESTATE on a bdwgc gt cannot use. */
GT_HIDDEN int gt__gc_setup(void);

/* If p is the start of an object of a gt kind, its slot size; else 0.
 * Safe for any pointer (GC_base answers NULL outside the heap). */
GT_HIDDEN size_t gt__gt_slot(const void *p);

/* This thread's runs of identical reports not pushed yet (reclaim.c):
 * each the same site, size and flags (an unreleased object never joins a
 * run of released ones). A block holds one size but the objects of many
 * sites, so a few runs, placed by site and size, stay open at once. */
typedef struct gt_run {
  uint32_t site;
  uint16_t count;
  uint8_t flags; /* GT_EVF_UNRELEASED or 0 */
  uint64_t size;
} gt_run;
#define GT_RUNS 4
typedef struct gt_runs {
  uint32_t open; /* bit i: run[i] has a count */
  gt_run run[GT_RUNS];
} gt_runs;
GT_HIDDEN extern __attribute__((
    tls_model("initial-exec"))) _Thread_local gt_runs gt__pending;
GT_HIDDEN void gt__push_pending(void);
/* Pushes this thread's open runs, if any: after every allocation call
 * (it may have swept) and at every collection event. */
static inline void gt__flush_pending(void) {
  if (gt__pending.open) gt__push_pending();
}

/* The producer side of the ring (emit.c): safe in the collector's context,
 * pushes or counts the overflow. */
GT_HIDDEN void gt__emit(uint32_t site, int kind, uint64_t size,
                        const uint64_t *birth, /* birth word or NULL */
                        uint8_t flags);        /* GT_EVF_UNRELEASED or 0 */
/* Objects of one site, size and flags, collected (no ages). */
GT_HIDDEN void gt__emit_run(uint32_t site, uint64_t size, uint16_t count,
                            uint8_t flags);
GT_HIDDEN uint64_t gt__reported(void); /* objects reported collected, ever */

/* Allocation for a name (or a site) found by the caller (alloc.c); ra is
 * the program's return address, for stack sites. */
GT_HIDDEN void *gt__alloc_named(size_t size, const char *name, const char *file,
                                int line, bool atomic, const void *ra);
GT_HIDDEN void *gt__alloc_at_site(size_t size, uint32_t site, bool atomic);
/* `gt run`: an object sited by the stack above ra (gt.stack_depth frames,
 * at least ra itself), named by the worker after its function; tracked.
 * gt__alloc_untracked decides first: true (and counted as allocated) when
 * gt.alloc_sample_every leaves the allocation to bdwgc. */
GT_HIDDEN void *gt__alloc_attached(size_t size, bool atomic, const void *ra);
GT_HIDDEN bool gt__alloc_untracked(void);
GT_HIDDEN void gt__alloc_count_bypassed(uint64_t n);
GT_HIDDEN uint64_t gt__live_total(void); /* reclaim.c: at the last count */
/* interpose.c: `gt run` exports the overridden names itself. */
GT_HIDDEN void gt__interpose_attached(void);

/* The allocation paths' state (kinds.c, alloc.c). */
GT_HIDDEN extern _Atomic bool gt__kinds_ready;
static inline bool gt__alloc_ready(void) {
  return atomic_load_explicit(&gt__kinds_ready, memory_order_acquire);
}
GT_HIDDEN bool gt__alloc_kinds_used(void);
GT_HIDDEN void gt__alloc_count(bool allocated, bool tracked);
GT_HIDDEN void gt__on_collection_event(int event); /* a GC_EventType */

/* Collector callbacks (reclaim.c), registered by alloc.c's setup. */
GT_HIDDEN int GT_GC_CALLBACK gt__on_disclaim(void *obj);
GT_HIDDEN void GT_GC_CALLBACK gt__on_finalize(void *obj, void *cd);
GT_HIDDEN void gt__reclaim_setup(void);
/* Installs gt's collection-event and push-other-roots hooks, keeping what
 * the program had installed (interpose.c). */
GT_HIDDEN void gt__install_hooks(void);

/* gt.leak_sample_every in force (alloc.c keeps the allocation paths'
 * configuration; leak.c reads it on every gt_expect_release). */
GT_HIDDEN extern _Atomic uint64_t gt__leak_every;
/* The mark of a gt_watch'ed object that is not a gt object (watch.c):
 * GT_EINVAL when gt_watch never saw it. */
enum gt_mark_op { GT_MARK_SET, GT_MARK_CLEAR, GT_MARK_CHECK };
GT_HIDDEN int gt__watch_mark(void *obj, enum gt_mark_op op, const char *fn);

/* GC_free and GC_realloc on a gt object (interpose.c calls these). */
GT_HIDDEN void gt__free_object(void *p, size_t slot);
GT_HIDDEN void *gt__realloc_object(void *p, size_t slot, size_t size);

/* bdwgc's allocation calls `gt run` takes over (attach.c), as (name,
 * return type, parameter types); real.c finds bdwgc's own. */
#define GT_REAL_ALLOC_CALLS(X)                                                 \
  X(malloc, void *, (size_t))                                                  \
  X(malloc_atomic, void *, (size_t))                                           \
  X(malloc_ignore_off_page, void *, (size_t))                                  \
  X(malloc_atomic_ignore_off_page, void *, (size_t))                           \
  X(malloc_uncollectable, void *, (size_t))                                    \
  X(malloc_atomic_uncollectable, void *, (size_t))                             \
  X(memalign, void *, (size_t, size_t))                                        \
  X(posix_memalign, int, (void **, size_t, size_t))                            \
  X(malloc_many, void *, (size_t))                                             \
  X(strdup, char *, (const char *))                                            \
  X(strndup, char *, (const char *, size_t))                                   \
  X(generic_malloc_many, void, (size_t, int, void **))
#define GT__REAL_GETTER(name, ret, args)                                       \
  GT_HIDDEN ret(*gt__real_##name(void)) args;
GT_REAL_ALLOC_CALLS(GT__REAL_GETTER)
#undef GT__REAL_GETTER

/* bdwgc's own entry points that interpose.c overrides (real.c). The
 * hook types are gc.h's; files that use them include it. */
GT_HIDDEN size_t gt__real_size(const void *p);
GT_HIDDEN void gt__real_free(void *p);
GT_HIDDEN void *gt__real_realloc(void *p, size_t n);
#ifdef GC_MARK_H
/* The calls libgt overrides (interpose.c: gt__ov_NAME, exported as
 * GC_NAME), then all that real.c finds. */
#define GT_OVERRIDES(X)                                                        \
  X(size, size_t, (const void *))                                              \
  X(free, void, (void *))                                                      \
  X(realloc, void *, (void *, size_t))                                         \
  X(set_on_collection_event, void, (GC_on_collection_event_proc))              \
  X(get_on_collection_event, GC_on_collection_event_proc, (void))              \
  X(set_push_other_roots, void, (GC_push_other_roots_proc))                    \
  X(get_push_other_roots, GC_push_other_roots_proc, (void))
#define GT_REAL_CALLS(X) GT_OVERRIDES(X) GT_REAL_ALLOC_CALLS(X)
#define GT__OV_DECLARE(name, ret, args) GT_HIDDEN ret gt__ov_##name args;
GT_OVERRIDES(GT__OV_DECLARE)
#undef GT__OV_DECLARE
GT_HIDDEN void gt__real_set_event(GC_on_collection_event_proc f);
GT_HIDDEN GC_on_collection_event_proc gt__real_get_event(void);
GT_HIDDEN void gt__real_set_push(GC_push_other_roots_proc f);
GT_HIDDEN GC_push_other_roots_proc gt__real_get_push(void);
/* The program's hooks behind gt's (hooks.c). */
GT_HIDDEN void gt__hook_set_event(GC_on_collection_event_proc f);
GT_HIDDEN GC_on_collection_event_proc gt__hook_get_event(void);
GT_HIDDEN void gt__hook_set_push(GC_push_other_roots_proc f);
GT_HIDDEN GC_push_other_roots_proc gt__hook_get_push(void);
#endif

/* Refuses a misuse loudly, as bdwgc and ASan do: a message naming the
 * function and the pointer, then abort(). Never returns. */
GT_HIDDEN _Noreturn void gt__misuse(const char *fn, const void *p,
                                    const char *what);

#endif
