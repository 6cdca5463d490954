/* Internal interfaces shared by the library's files. Not installed. */
#ifndef GT_INTERNAL_H
#define GT_INTERNAL_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gt/gt.h"

#define GT_HIDDEN __attribute__((visibility("hidden")))

/* ---- utilities (util.c) ------------------------------------------------ */
/* Records a message for gt_last_error() and returns -code. */
GT_HIDDEN int gt__fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
GT_HIDDEN void gt__clear_error(void);
/* Warnings go to stderr with a "gt:" prefix; never pass secrets. */
GT_HIDDEN void gt__warn(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
GT_HIDDEN int64_t gt__now_ms(void);  /* CLOCK_MONOTONIC */
GT_HIDDEN int64_t gt__wall_ms(void); /* CLOCK_REALTIME */
#include <pthread.h>
GT_HIDDEN void gt__cond_init(pthread_cond_t *c); /* waits on CLOCK_MONOTONIC */
GT_HIDDEN void gt__cond_wait_ms(pthread_cond_t *c, pthread_mutex_t *m,
                                int64_t ms);
/* A gt thread: all signals blocked, unknown to the collector. */
GT_HIDDEN int gt__thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

enum gt_fork_phase { GT_FORK_PREPARE, GT_FORK_PARENT, GT_FORK_CHILD };
GT_HIDDEN void gt__intern_fork(enum gt_fork_phase phase);
GT_HIDDEN void gt__alloc_fork(enum gt_fork_phase phase);
GT_HIDDEN void gt__worker_fork(enum gt_fork_phase phase);

/* ---- counters (stats.c) ------------------------------------------------- */
/* Every counter of gt_stats that the pipeline keeps: (ENUM, field). */
#define GT_COUNTERS(X)                                                         \
  X(COLLECTED, collected)                                                      \
  X(FREED, freed)                                                              \
  X(SAMPLED, sampled)                                                          \
  X(BATCHES, batches)                                                          \
  X(SENT, sent)                                                                \
  X(FAILED, failed)                                                            \
  X(RETRIED, retried)                                                          \
  X(SPOOLED, spooled)                                                          \
  X(REPLAYED, replayed)                                                        \
  X(LOST, lost)                                                                \
  X(HELD, held)                                                                \
  X(OVERFLOWED, overflowed)                                                    \
  X(BYTES, bytes)
enum gt_counter {
#define GT__ENUM(E, field) GT_C_##E,
  GT_COUNTERS(GT__ENUM)
#undef GT__ENUM
      GT_C_COUNT
};
GT_HIDDEN void gt__count(enum gt_counter c, uint64_t n);
GT_HIDDEN uint64_t gt__counter(enum gt_counter c);
GT_HIDDEN void gt__stats_scale(uint64_t alloc_sample_every);
GT_HIDDEN void gt__stats_fork_child(void);

/* ---- configuration (config.c) ------------------------------------------- */
enum gt_group_by { GT_GROUP_NAME, GT_GROUP_SITE, GT_GROUP_NONE };
enum gt_mechanism { GT_MECH_DISCLAIM, GT_MECH_FINALIZER };
enum gt_log_format { GT_LOG_TEXT, GT_LOG_JSON };

/* The validated configuration. Core keys are parsed into fields; every key
 * (backend ones included) is also kept as a string for gt_config_get. */
typedef struct gt_config {
  char *backend; /* comma list */
  uint64_t sample_every;
  uint64_t alloc_sample_every;
  uint64_t batch_max;
  uint64_t batch_window_ms;
  enum gt_group_by group_by;
  double rate_per_minute;
  uint64_t daily_cap;
  char *template_batch;  /* gt.template */
  char *template_single; /* gt.template_single */
  char *spool_dir;
  uint64_t queue_capacity;
  uint64_t retry_max;
  uint64_t timeout_ms;
  enum gt_mechanism mechanism;
  bool track_age;
  uint64_t collect_wait_ms;
  char **values;    /* indexed like the key table; NULL = unset */
  _Atomic int refs; /* shared by the pipeline's threads (gt__config_ref) */
} gt_config;

/* Builds a configuration from defaults, $GT_CONFIG, opts and environment;
 * validates the core keys. Backend keys are validated by each backend's
 * open(). On error returns -GT_EINVAL with gt_last_error() naming the key. */
GT_HIDDEN int gt__config_build(const gt_options *opts, gt_config *out);
GT_HIDDEN void gt__config_free(gt_config *c);
/* A heap copy shared by threads: ref/unref; the last unref frees it. */
GT_HIDDEN gt_config *gt__config_ref(gt_config *c);
GT_HIDDEN void gt__config_unref(gt_config *c);
/* Value of any key ("sms.to"); NULL when unset or empty. */
GT_HIDDEN const char *gt__config_get(const gt_config *c, const char *key);
/* Typed helpers for backends; both fail naming the key. */
GT_HIDDEN int gt__config_u64(const gt_config *c, const char *key, uint64_t dflt,
                             uint64_t min, uint64_t max, uint64_t *out);
/* True for keys whose value must never be printed. */
GT_HIDDEN bool gt__config_is_secret(const char *key);
/* Iterates over every known key: value (NULL if unset) and default. */
typedef void (*gt_config_visit_fn)(const char *key, const char *value,
                                   const char *dflt, bool secret, void *ud);
GT_HIDDEN void gt__config_visit(const gt_config *c, gt_config_visit_fn fn,
                                void *ud);

/* ---- interning (intern.c) ----------------------------------------------- */
/* A site is (name, file, line); a name groups sites. Ids are dense, from 1.
 * Records are never freed or moved while the library is loaded, so readers
 * (the worker, the disclaim procedure) need no lock. */
typedef struct gt_site {
  const char *name;
  const char *file;     /* NULL when allocated without GT_MALLOC */
  const char *file_key; /* the program's bytes (file is escaped) */
  int line;
  uint32_t name_id;
  _Atomic uint64_t overflow; /* events lost to a full ring */
  _Atomic uint64_t overflow_bytes, overflow_freed;
  /* totals, written only by the worker, read by gt_get_name_stats */
  _Atomic uint64_t collected, freed, bytes;
} gt_site;

#define GT_SITE_BITS 20
/* Reserved ids at the top, listed only once something is counted there:
 * "(other sites)" counts sites past the table's limit, "(corrupt header)"
 * objects whose header the program overwrote (it wrote past GC_size). */
#define GT_OTHER_SITE ((1u << GT_SITE_BITS) - 1)
#define GT_CORRUPT_SITE (GT_OTHER_SITE - 1)
#define GT_FIRST_RESERVED GT_CORRUPT_SITE

/* Never 0: past the table's limit (or out of memory) every new site is
 * "(other sites)", with a warning once. Names are stored as shown: valid
 * UTF-8, with invalid bytes and control characters escaped as \xHH. */
GT_HIDDEN uint32_t gt__intern_site(const char *name, const char *file,
                                   int line);
GT_HIDDEN gt_site *gt__site(uint32_t id); /* lock-free */
GT_HIDDEN bool gt__site_valid(uint32_t id);
GT_HIDDEN void gt__intern_setup(void);   /* the reserved sites exist after it */
GT_HIDDEN uint32_t gt__site_count(void); /* regular sites: 1..count */
GT_HIDDEN const char *gt__name(uint32_t name_id);
GT_HIDDEN uint32_t gt__name_count(void);

/* ---- events and the ring (queue.c) -------------------------------------- */
enum gt_event_kind { GT_EV_COLLECTED = 1, GT_EV_FREED = 2 };

enum { GT_EVF_AGE = 1 }; /* birth fields are set (gt.track_age) */

typedef struct gt_event {
  uint32_t site;
  uint8_t kind;
  uint8_t flags;
  uint16_t count;    /* identical objects this event stands for (>= 1) */
  uint32_t birth_gc; /* GC numbers, low 24 bits */
  uint32_t death_gc;
  uint64_t size;
  int64_t birth_ms; /* CLOCK_MONOTONIC ms at allocation */
} gt_event;

typedef struct gt_ring gt_ring;
GT_HIDDEN gt_ring *gt__ring_new(size_t capacity); /* rounded up to 2^k */
GT_HIDDEN void gt__ring_free(gt_ring *r);
/* Never blocks, allocates or locks; false when full. */
GT_HIDDEN bool gt__ring_push(gt_ring *r, const gt_event *ev);
/* Single consumer. */
GT_HIDDEN bool gt__ring_pop(gt_ring *r, gt_event *ev);
GT_HIDDEN size_t gt__ring_capacity(const gt_ring *r);

/* ---- GC context: producer side (emit.c), reports (reclaim.c) ----------- */
/* Safe in disclaim and finalizer context: pushes or counts the overflow. */
GT_HIDDEN void gt__emit(uint32_t site, int kind, uint64_t size,
                        const uint64_t *birth); /* birth word or NULL */
/* count collected objects of one site and size (no ages). */
GT_HIDDEN void gt__emit_run(uint32_t site, uint64_t size, uint16_t count);
/* The birth word of gt.track_age: GC number (24 bits) and monotonic ms. */
#define GT_BIRTH_MS_BITS 40
#define GT_BIRTH_MS_MASK ((1ull << GT_BIRTH_MS_BITS) - 1)
GT_HIDDEN uint64_t gt__reported(void); /* objects reported collected, ever */
GT_HIDDEN int gt__emit_open(size_t capacity); /* the ring, at gt_init */
GT_HIDDEN bool gt__emit_pop(gt_event *ev);    /* the worker only */
GT_HIDDEN bool gt__emit_take_overflow(void);  /* overflow since last call? */
GT_HIDDEN void gt__emit_note_overflow(void);  /* look at the counters again */
GT_HIDDEN void gt__emit_fork_child(void);

/* ---- GC context: allocation and collection (alloc.c, reclaim.c) -------- */
GT_HIDDEN int gt__gc_prepare(void); /* GC_INIT, mode checks, heap size */
GT_HIDDEN bool gt__gc_thread_registered(void);
GT_HIDDEN bool gt__interposed(void); /* libgt's GC_size etc. are in force */
GT_HIDDEN int gt__alloc_setup(const gt_config *cfg);
GT_HIDDEN bool gt__alloc_ready(void);
GT_HIDDEN bool gt__alloc_kinds_used(void);
GT_HIDDEN void gt__alloc_counts(uint64_t *allocated, uint64_t *tracked);
GT_HIDDEN void gt__alloc_count(bool allocated, bool tracked);
/* A full collection that reports every dead gt object; the number it
 * reported. Serialised; the caller has scrubbed its stack. */
GT_HIDDEN size_t gt__collect(void);
GT_HIDDEN void gt__on_collection_event(int event); /* a GC_EventType */

/* ---- delivery (delivery.c) ---------------------------------------------- */
#define GT_MAX_SINKS 8
typedef struct gt_sink gt_sink;
struct gt_backend_ops;
/* Opens the backend and starts its thread. cfg is referenced. */
GT_HIDDEN int gt__sink_open(const struct gt_backend_ops *ops, gt_config *cfg,
                            bool spool_ok, gt_sink **out);
struct gt_batch;
GT_HIDDEN void gt__sink_offer(gt_sink *s,
                              const struct gt_batch *b); /* copies */
GT_HIDDEN void gt__sink_mark(gt_sink *s, uint64_t ticket);
/* 0 once the sink handled ticket (or exited), -GT_ETIMEDOUT at deadline. */
GT_HIDDEN int gt__sink_wait(gt_sink *s, uint64_t ticket, int64_t deadline);
GT_HIDDEN void gt__sink_stop(gt_sink *s); /* no more items; finish them */
/* Waits for the thread until the deadline, else leaves it to finish
 * alone; drops the caller's reference. True if it finished. */
GT_HIDDEN bool gt__sink_close(gt_sink *s, int64_t deadline);
GT_HIDDEN void gt__sink_ref(gt_sink *s);
GT_HIDDEN void gt__sink_unref(gt_sink *s);
/* gt_shutdown's deadline for a sink (CLOCK_MONOTONIC ms): no attempt
 * starts after it; what is left is spooled. */
GT_HIDDEN void gt__sink_deadline(gt_sink *s, int64_t mono_ms);

/* ---- the worker (worker.c) ---------------------------------------------- */
GT_HIDDEN int gt__worker_start(gt_config *cfg, gt_sink **sinks, int nsinks);
/* Counted, closed and delivered (or held/spooled) by the deadline? */
GT_HIDDEN int gt__worker_sync(int64_t deadline);
GT_HIDDEN void gt__worker_stop(void);

/* ---- batches (batch.c) -------------------------------------------------- */
/* Ages of a group's objects: exact extremes, median from a histogram of
 * half-octave buckets (within about 20%). */
#define GT_AGE_BUCKETS 96
typedef struct gt_ages {
  uint64_t n, min, max;
  uint32_t hist[GT_AGE_BUCKETS];
} gt_ages;
GT_HIDDEN void gt__ages_add(gt_ages *a, uint64_t v);
GT_HIDDEN void gt__ages_merge(gt_ages *into, const gt_ages *from);
GT_HIDDEN uint64_t gt__ages_median(const gt_ages *a);

typedef struct gt_group {
  uint32_t site;      /* 0 when grouped by name or not at all */
  uint32_t name_id;   /* 0 when group_by=none */
  uint32_t only_site; /* the site if every object shares one, else 0 */
  uint64_t count;     /* collected */
  uint64_t freed;
  uint64_t bytes;
  gt_ages age_ms, age_gcs; /* of the objects that carried a birth word */
} gt_group;

typedef struct gt_sample {
  uint32_t site;
  bool aged;
  uint64_t size;
  uint64_t age_gcs; /* collections survived */
  uint64_t age_ms;
} gt_sample;

#define GT_BATCH_MAX_SAMPLES 32 /* details kept per batch; counts are exact */

typedef struct gt_batch {
  uint64_t seq;
  uint64_t collected;
  uint64_t freed;
  uint64_t sampled;
  uint64_t bytes;
  uint64_t scale;    /* alloc_sample_every: counts are estimates when > 1 */
  uint64_t overflow; /* events that arrived as counts only */
  uint32_t merged;   /* batches folded in by the rate limiter */
  int64_t first_wall_ms, last_wall_ms;
  gt_group *groups; /* sorted by count, descending */
  size_t ngroups, cap_groups, last_group;
  gt_sample samples[GT_BATCH_MAX_SAMPLES];
  size_t nsamples;
} gt_batch;

GT_HIDDEN void gt__batch_init(gt_batch *b);
GT_HIDDEN void gt__batch_reset(gt_batch *b);
GT_HIDDEN void gt__batch_free(gt_batch *b);
GT_HIDDEN bool gt__batch_empty(const gt_batch *b);
/* now_ms: CLOCK_MONOTONIC, to turn an event's birth into an age. */
GT_HIDDEN int gt__batch_add(gt_batch *b, enum gt_group_by by,
                            const gt_event *ev, uint64_t n, bool sampled,
                            int64_t now_ms);
GT_HIDDEN int gt__batch_merge(gt_batch *into, const gt_batch *from);
GT_HIDDEN void gt__batch_sort(gt_batch *b);
/* The batch as a JSON object (jansson json_t *, caller decrefs). */
struct json_t;
GT_HIDDEN struct json_t *gt__batch_json(const gt_batch *b);
/* Collected count of a batch JSON (gt__batch_json's shape), for totals. */
GT_HIDDEN uint64_t gt__batch_json_collected(struct json_t *j);

/* ---- sampling (sample.c) ------------------------------------------------ */
typedef struct gt_sampler {
  uint64_t every;
  uint64_t seen;
} gt_sampler;
/* How many of the next n objects are sampled (exact every-Nth). */
GT_HIDDEN uint64_t gt__sampler_take(gt_sampler *s, uint64_t n);

/* ---- rate limiting (ratelimit.c) ---------------------------------------- */
typedef struct gt_ratelimit {
  double per_minute; /* <= 0: unlimited */
  double tokens;
  int64_t last_ms;
  uint64_t daily_cap; /* 0: none */
  uint64_t today;
  int64_t day; /* days since epoch of `today` */
} gt_ratelimit;
GT_HIDDEN void gt__ratelimit_init(gt_ratelimit *r, double per_minute,
                                  uint64_t daily_cap, int64_t now_ms);
enum gt_rl_verdict { GT_RL_SEND, GT_RL_HOLD, GT_RL_CAP_LAST, GT_RL_CAPPED };
GT_HIDDEN enum gt_rl_verdict
gt__ratelimit_take(gt_ratelimit *r, int64_t mono_ms, int64_t wall_ms);
/* Milliseconds until a token is available (0 if now). */
GT_HIDDEN int64_t gt__ratelimit_wait_ms(const gt_ratelimit *r, int64_t mono_ms);

/* ---- rendering (render.c) ----------------------------------------------- */
/* Renders a batch with the configured templates into a malloc'd string. */
GT_HIDDEN char *gt__render(const gt_config *cfg, const gt_batch *b);
/* Checks a template's placeholders; fails naming `key`. */
GT_HIDDEN int gt__render_check(const char *key, const char *tpl);
/* Formats a duration in ms as "12 ms", "3.4 s", "2.0 min", "1.5 h". */
GT_HIDDEN const char *gt__fmt_ms(uint64_t ms, char *buf, size_t n);
/* Formats 1234567 as "1,234,567" into buf (at least 32 bytes). */
GT_HIDDEN const char *gt__fmt_count(uint64_t v, char *buf);
/* Describes a site as "file:line" (or "" without one) into buf. */
GT_HIDDEN const char *gt__fmt_site(const gt_site *s, char *buf, size_t n);

/* ---- spool (spool.c) ----------------------------------------------------- */
/* Creates the directory (0700 at each created level) and checks that it can
 * be trusted: a real directory (not a symlink), owned by the effective uid,
 * writable by nobody else, on a path of directories owned by the effective
 * uid or root and not writable by others unless sticky (as ssh checks
 * ~/.ssh). Returns 0; -GT_EINVAL when it is unsafe (gt_init must fail with
 * gt_last_error(): it names gt.spool_dir, the path and the reason); -GT_EIO
 * when it cannot be created or used (EACCES, ENOSPC, not a directory...). */
GT_HIDDEN int gt__spool_prepare(const char *dir);
/* Writes one undelivered message atomically (0600, O_EXCL|O_NOFOLLOW,
 * fsync, rename that never replaces, fsync of the directory). Text, reason
 * and batch strings that are not UTF-8 are kept with each invalid byte
 * written as the four characters "\xHH"; a message is never written
 * without its text. -GT_EINVAL if the directory has become unsafe, -GT_EIO
 * if it cannot be written (or the message is over 16 MiB), -GT_ENOMEM. */
GT_HIDDEN int gt__spool_write(const char *dir, const char *backend,
                              const char *text, struct json_t *batch,
                              const char *reason);
enum gt_spool_verdict {
  GT_SPOOL_DELIVERED, /* remove it */
  GT_SPOOL_KEEP,      /* leave it for later, go on with the next */
  GT_SPOOL_STOP,      /* leave it untouched, stop replaying for now */
  GT_SPOOL_REJECTED,  /* permanent refusal: set it aside as *.rejected */
};
/* Called with the file locked: no other process offers it meanwhile. */
typedef enum gt_spool_verdict (*gt_spool_fn)(const char *backend,
                                             const char *text,
                                             struct json_t *batch, void *ud);
/* Offers each pending message, oldest first; returns how many went out.
 * Files locked by another process are skipped; corrupt and unsafe files are
 * set aside with their reason and one warning, never fatal. */
GT_HIDDEN size_t gt__spool_replay(const char *dir, gt_spool_fn fn, void *ud);
/* From inside a gt_spool_fn about to return GT_SPOOL_REJECTED: the reason
 * stored with the set-aside file (copied; never a secret). Without it the
 * reason is "the server refused it permanently". */
GT_HIDDEN void gt__spool_reject_reason(const char *reason);
/* Pending messages (what the next replay offers). */
GT_HIDDEN size_t gt__spool_count(const char *dir);

enum gt_spool_state {
  GT_SPOOLED_PENDING,  /* *.msg: offered by the next replay */
  GT_SPOOLED_REJECTED, /* *.msg.rejected: refused permanently */
  GT_SPOOLED_CORRUPT,  /* *.msg.corrupt, or a *.msg replay will set aside */
  GT_SPOOLED_UNSAFE,   /* not a regular file of this user: never read */
  GT_SPOOLED_PARTIAL,  /* .tmp.*: being written, or a dead writer's */
  GT_SPOOLED_OTHER,    /* a name the spool does not use */
};
/* One file of the spool; pointers are valid during the callback only. */
typedef struct gt_spool_entry {
  const char *name; /* in the directory */
  enum gt_spool_state state;
  const char *backend; /* NULL when unknown */
  const char *text;    /* NULL when unreadable */
  const char *reason;  /* why it was spooled; NULL when unknown */
  const char *aside;   /* why it is not pending; NULL when pending */
  bool objects_known;  /* objects: "collected" of its batch */
  uint64_t objects;
  int64_t spooled_ms; /* wall clock; 0 when unknown */
  uint64_t bytes;
} gt_spool_entry;
typedef void (*gt_spool_list_fn)(const gt_spool_entry *e, void *ud);
/* Every file the spool holds, in name order (oldest first). Returns how
 * many (0 when the directory does not exist) or -GT_E* when it cannot be
 * opened or is unsafe. Reads only; takes no lock. */
GT_HIDDEN int gt__spool_list(const char *dir, gt_spool_list_fn fn, void *ud);
GT_HIDDEN const char *gt__spool_state_name(enum gt_spool_state s);

/* ---- backends (backend/) ------------------------------------------------ */
#include "backend/backend.h"

#endif
