/* garbage-texts: be told what the Boehm collector reclaims.
 *
 * Objects allocated with gt_malloc() (or watched with gt_watch()) produce an
 * event when the collector reclaims them. Events are counted exactly, sampled
 * (every Nth), batched, rate limited and delivered to a backend chosen by
 * configuration: "log" (built in, no account), "sms", "email", "webhook",
 * "alertmanager".
 *
 *   gt_init(NULL);                          // defaults + $GT_CONFIG + GT_* env
 *   Node *n = GT_MALLOC(sizeof *n, "Node"); // records file:line too
 *   n = NULL;                               // drop the last reference
 *   gt_collect();                           // collect, report, deliver
 *   gt_shutdown(5000);                      // also run at exit
 *
 * Every function returning int returns 0 (GT_OK) or a negative GT_E* code;
 * gt_last_error() gives a sentence naming the cause (never a secret).
 * Memory from the gt_malloc family is bdwgc memory: it is scanned for
 * pointers (except gt_malloc_atomic) and must not be passed to free().
 * Threads that allocate must be registered with bdwgc as usual (define
 * GC_THREADS before including gc.h, or call GC_register_my_thread).
 */
#ifndef GT_GT_H
#define GT_GT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GT_VERSION_MAJOR 0
#define GT_VERSION_MINOR 1
#define GT_VERSION_PATCH 0
#define GT_VERSION_STRING "0.1.0"

#if defined(__GNUC__)
#define GT_EXTERN __attribute__((visibility("default")))
#else
#define GT_EXTERN
#endif

/* Errors: every function returning int returns 0 (GT_OK) or one of these
 * negative codes, never renumbered: `if (gt_init(o) == GT_EINVAL)`. */
#define GT_ERRORS(X)                                                           \
  X(GT_EINVAL, -1, "invalid argument or configuration")                       \
  X(GT_ENOMEM, -2, "out of memory")                                            \
  X(GT_ESTATE, -3, "not running, or already running")                          \
  X(GT_EBACKEND, -4, "backend not available in this build")                    \
  X(GT_ESEND, -5, "delivery failed")                                           \
  X(GT_ETIMEDOUT, -6, "timed out")                                             \
  X(GT_EIO, -7, "file or system error")

enum {
  GT_OK = 0,
#define GT__ERROR_ENUM(name, value, text) name = value,
  GT_ERRORS(GT__ERROR_ENUM)
#undef GT__ERROR_ENUM
};

/* A sentence for a code (either sign). */
GT_EXTERN const char *gt_strerror(int err);
/* Detail of the last failure in this thread ("" if none). */
GT_EXTERN const char *gt_last_error(void);

/* ---- configuration ------------------------------------------------------
 * Keys are "section.key" as in docs/configuration.md ("gt.sample_every",
 * "sms.to"). Sources, later wins: defaults < INI file ($GT_CONFIG, then
 * gt_options_load_file) < environment GT_<SECTION>_<KEY> (section "gt" drops
 * its prefix: GT_SAMPLE_EVERY) < gt_options_set. Everything is validated in
 * full by gt_init; set/load_file already reject unknown keys. */
typedef struct gt_options gt_options;

GT_EXTERN gt_options *gt_options_new(void);
GT_EXTERN int gt_options_set(gt_options *o, const char *key, const char *value);
GT_EXTERN int gt_options_load_file(gt_options *o, const char *path);
GT_EXTERN void gt_options_free(gt_options *o);

/* Starts the pipeline. opts may be NULL; it is not kept (free it after).
 * Calls GC_INIT if bdwgc is not initialised yet: call it from main().
 * libgt must come before libgc in the link order (pkg-config and CMake
 * give that order): it makes GC_size, GC_free and GC_realloc work on gt
 * objects, and gt_init fails if they would not. */
GT_EXTERN int gt_init(const gt_options *opts);
/* Runs a last collection, delivers what it can within timeout_ms and
 * spools the rest; returns within about timeout_ms. Registered with
 * atexit. Statistics are kept: they count from the first object. */
GT_EXTERN int gt_shutdown(int timeout_ms);

/* ---- allocation -----------------------------------------------------------
 * The name is copied; the caller may free it. NULL name means "object". */
GT_EXTERN void *gt_malloc(size_t size, const char *name);
GT_EXTERN void *gt_malloc_atomic(size_t size, const char *name);
GT_EXTERN void *gt_calloc(size_t n, size_t size, const char *name);
GT_EXTERN void *gt_realloc(void *p, size_t size); /* keeps name and site */
GT_EXTERN char *gt_strdup(const char *s, const char *name);
GT_EXTERN void gt_free(void *p); /* counted as "freed", not "collected" */
/* GC_size(p) of a gt object is what the program may use (at least the
 * size asked for); GC_FREE and GC_REALLOC on it act like gt_free and
 * gt_realloc. gt_free/gt_realloc of something gt could not have handed
 * out (freed twice, not a bdwgc object, a pointer inside one) abort with a
 * message naming the call; of a bdwgc object gt did not allocate, they
 * free or reallocate it as bdwgc would. */

/* `file` must have static storage, like __FILE__ (GT_MALLOC passes it). */
GT_EXTERN void *gt_malloc_at(size_t size, const char *name, const char *file,
                             int line);
GT_EXTERN void *gt_malloc_atomic_at(size_t size, const char *name,
                                    const char *file, int line);
#define GT_MALLOC(size, name) gt_malloc_at((size), (name), __FILE__, __LINE__)
#define GT_MALLOC_ATOMIC(size, name)                                           \
  gt_malloc_atomic_at((size), (name), __FILE__, __LINE__)

/* Notify when an existing bdwgc object (start of a GC_MALLOC block) is
 * collected. A finalizer it already had still runs, after the event. */
GT_EXTERN int gt_watch(void *gc_obj, const char *name);

/* ---- leak mode: objects that must be released ----------------------------
 * gt_expect_release(obj): obj owns something (a socket, a lock, a file),
 * so its death before gt_release(obj) is a leak. obj is a gt object
 * (gt_malloc family) or a gt_watch'ed bdwgc object. Leaks are counted in
 * gt_stats.unreleased, and with gt.report=unreleased only they become
 * messages: "LEAK: Connection reclaimed without release (conn.c:42) x17".
 * gt.leak_sample_every=N marks 1 tracked object in N, per thread: counts
 * are then estimates. On a gt object a call sets or clears a header bit,
 * with no lock and no allocation (a watched object takes a lock).
 * gt_realloc keeps the mark; gt_free and GC_FREE count as a release.
 * Releasing an unmarked object is GT_OK (under sampling most are). Either
 * returns GT_EINVAL (gt_last_error says why) for NULL, a pointer inside an
 * object, a freed object, or anything neither gt's nor watched.
 * docs/leaks.md. */
GT_EXTERN int gt_expect_release(void *obj);
GT_EXTERN int gt_release(void *obj);

/* ---- collection and delivery ---------------------------------------------
 * gt_collect: full collection; every dead gt object is reported (lazy
 * sweeping is forced for gt objects), then waits until the pipeline has
 * counted them and each backend has delivered, held or spooled the batch —
 * at most gt.collect_wait_ms (default 3000); delivery then goes on in the
 * background. Returns the number of objects this call's collection
 * reported (concurrent calls never count an object twice). */
GT_EXTERN size_t gt_collect(void);
/* Delivers everything queued or batched now, waiting at most timeout_ms;
 * 0, GT_ETIMEDOUT (delivery goes on) or GT_ESTATE (not running). */
GT_EXTERN int gt_flush(int timeout_ms);

/* Statistics, counted from the first object to exit (gt_init and
 * gt_shutdown keep them): (field, who counts it, meaning). */
#define GT_STATS(X)                                                            \
  X(allocated, ALLOC, "gt_malloc family calls (and gt_watch)")                 \
  X(tracked, ALLOC, "of those, tracked (see gt.alloc_sample_every)")           \
  X(live, ALLOC, "tracked objects still reachable at gt_shutdown's collection") \
  X(bypassed, ALLOC, "gt run: bdwgc allocations counted but not tracked")      \
  X(collected, PIPELINE, "tracked objects reported as collected")              \
  X(freed, PIPELINE, "gt_free calls (and GC_FREE on gt objects)")              \
  X(estimated, DERIVED, "collected scaled by gt.alloc_sample_every")           \
  X(sampled, PIPELINE, "notifications: every Nth collected object")           \
  X(batches, PIPELINE, "batches closed")                                       \
  X(sent, PIPELINE, "messages delivered by backends")                          \
  X(failed, PIPELINE, "messages a backend failed to deliver")                  \
  X(retried, PIPELINE, "send attempts after the first")                        \
  X(spooled, PIPELINE, "messages written to the spool")                        \
  X(replayed, PIPELINE, "spooled messages delivered later")                    \
  X(lost, PIPELINE, "objects in messages neither sent nor spooled")           \
  X(held, PIPELINE, "batches merged into a later message")                     \
  X(overflowed, PIPELINE, "objects counted without details (ring full)")       \
  X(bytes, PIPELINE, "bytes of collected tracked objects")                     \
  X(estimated_bytes, DERIVED, "bytes scaled by gt.alloc_sample_every")         \
  X(unreleased, PIPELINE, "objects reclaimed while still expecting release")   \
  X(estimated_unreleased, DERIVED,                                             \
    "unreleased scaled by gt.alloc_sample_every and gt.leak_sample_every")

typedef struct gt_stats {
#define GT__STATS_FIELD(field, who, meaning) uint64_t field;
  GT_STATS(GT__STATS_FIELD)
#undef GT__STATS_FIELD
} gt_stats;

GT_EXTERN void gt_get_stats(gt_stats *out);

/* Totals per object name, in name order of first use. Returns the number of
 * names; fills at most cap entries. Names stay valid until gt_shutdown. */
typedef struct gt_name_stats {
  const char *name;
  uint64_t collected;
  uint64_t freed;
  uint64_t bytes;
} gt_name_stats;

GT_EXTERN size_t gt_get_name_stats(gt_name_stats *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* GT_GT_H */
