/* The validated configuration (config.c) and the key definitions every
 * key is read and checked by. The core keys are one X-macro list, read by
 * enum; backends declare theirs in their vtables (delivery/backend.h), and
 * the public gt_options_* API (options.c) joins the two. */
#ifndef GT_CONFIG_H
#define GT_CONFIG_H

#include "util.h"

typedef enum gt_key_type {
  GT_KEY_STR,    /* any text: no control characters, valid UTF-8 */
  GT_KEY_SECRET, /* text never printed, logged or spooled */
  GT_KEY_U64,    /* a whole number in [min, max] */
  GT_KEY_NUM,    /* a non-negative number */
  GT_KEY_BOOL,   /* true/false, 1/0, yes/no */
  GT_KEY_ENUM,   /* one of choices: "a|b|c" */
} gt_key_type;

/* A key. Its environment variable is derived from the name: GT_SMS_TO for
 * sms.to, and GT_SAMPLE_EVERY for gt.sample_every (gt__key_env_name). */
typedef struct gt_key_def {
  const char *key;
  gt_key_type type;
  const char *dflt; /* NULL: unset */
  const char *choices;
  uint64_t min, max;
} gt_key_def;

#define GT_U64MAX UINT64_MAX
/* (ENUM, key, type, default, choices, min, max); docs/configuration.md. */
#define GT_CORE_KEYS(X)                                                        \
  X(BACKEND, "gt.backend", STR, "log", NULL, 0, 0)                             \
  X(SAMPLE_EVERY, "gt.sample_every", U64, "1", NULL, 1, GT_U64MAX)             \
  X(ALLOC_SAMPLE_EVERY, "gt.alloc_sample_every", U64, "1", NULL, 1, 1u << 30)  \
  X(LEAK_SAMPLE_EVERY, "gt.leak_sample_every", U64, "1", NULL, 1, 1u << 30)    \
  X(BATCH_MAX, "gt.batch_max", U64, "100", NULL, 1, 1u << 30)                  \
  X(BATCH_WINDOW_MS, "gt.batch_window_ms", U64, "10000", NULL, 1, 86400000)    \
  X(GROUP_BY, "gt.group_by", ENUM, "name", "name|site|none", 0, 0)             \
  X(RATE_PER_MINUTE, "gt.rate_per_minute", NUM, "6", NULL, 0, 0)               \
  X(DAILY_CAP, "gt.daily_cap", U64, "200", NULL, 0, GT_U64MAX)                 \
  X(TEMPLATE, "gt.template", STR, NULL, NULL, 0, 0)                            \
  X(TEMPLATE_SINGLE, "gt.template_single", STR, NULL, NULL, 0, 0)              \
  X(REPORT, "gt.report", ENUM, "all", "all|unreleased", 0, 0)                  \
  X(TEMPLATE_UNRELEASED, "gt.template_unreleased", STR, NULL, NULL, 0, 0)      \
  X(SPOOL_DIR, "gt.spool_dir", STR, NULL, NULL, 0, 0)                          \
  X(QUEUE_CAPACITY, "gt.queue_capacity", U64, "65536", NULL, 16, 1u << 26)     \
  X(RETRY_MAX, "gt.retry_max", U64, "5", NULL, 0, 100)                         \
  X(TIMEOUT_MS, "gt.timeout_ms", U64, "10000", NULL, 1, 3600000)               \
  X(ALLOC_MECHANISM, "gt.alloc_mechanism", ENUM, "disclaim",                   \
    "disclaim|finalizer", 0, 0)                                                \
  X(TRACK_AGE, "gt.track_age", BOOL, "false", NULL, 0, 0)                      \
  X(COLLECT_WAIT_MS, "gt.collect_wait_ms", U64, "3000", NULL, 0, 3600000)      \
  X(STACK_DEPTH, "gt.stack_depth", U64, "0", NULL, 0, 32)                      \
  X(STACK_SAMPLE_EVERY, "gt.stack_sample_every", U64, "1", NULL, 1, 1u << 30)  \
  X(PROFILE, "gt.profile", STR, NULL, NULL, 0, 0)                              \
  X(PROFILE_ON_COLLECT, "gt.profile_on_collect", BOOL, "false", NULL, 0, 0)

enum gt_core_key {
#define GT__CORE_KEY_ENUM(e, key, type, dflt, choices, min, max) GT_K_##e,
  GT_CORE_KEYS(GT__CORE_KEY_ENUM)
#undef GT__CORE_KEY_ENUM
      GT_K_CORE_COUNT
};

enum gt_group_by { GT_GROUP_NAME, GT_GROUP_SITE, GT_GROUP_NONE };
enum gt_mechanism { GT_MECH_DISCLAIM, GT_MECH_FINALIZER };
/* gt.report: every reclaimed object becomes a notification, or only those
 * reclaimed while expecting release (docs/leaks.md). */
enum gt_report { GT_REPORT_ALL, GT_REPORT_UNRELEASED };

/* The core keys parsed into fields; every key (backend ones included) is
 * also kept as its string. Shared by the pipeline's threads: ref/unref. */
typedef struct gt_config {
  char *backend; /* comma list */
  uint64_t sample_every;
  uint64_t alloc_sample_every;
  uint64_t leak_sample_every;
  uint64_t batch_max;
  uint64_t batch_window_ms;
  enum gt_group_by group_by;
  double rate_per_minute;
  uint64_t daily_cap;
  enum gt_report report;
  char *template_unreleased;
  char *template_batch;  /* gt.template */
  char *template_single; /* gt.template_single */
  char *spool_dir;       /* NULL: none (no key, XDG_STATE_HOME or HOME) */
  uint64_t queue_capacity;
  uint64_t retry_max;
  uint64_t timeout_ms;
  enum gt_mechanism mechanism;
  bool track_age;
  uint64_t collect_wait_ms;
  uint64_t stack_depth, stack_sample_every;
  const char *profile;           /* gt.profile: NULL or "": none */
  bool profile_on_collect;       /* a profile at each gt_collect too */
  const gt_key_def *const *keys; /* the core keys first, in enum order */
  size_t nkeys;
  char **values;    /* like keys; NULL = unset */
  _Atomic int refs; /* for gt__config_ref */
} gt_config;

/* The core keys' definitions, in enum order. */
GT_HIDDEN const gt_key_def *gt__core_key(enum gt_core_key k);
/* GT_SMS_TO for sms.to, GT_SAMPLE_EVERY for gt.sample_every. */
GT_HIDDEN void gt__key_env_name(const char *key, char *out, size_t n);
/* Checks one value against its key; fails naming the key and `origin`
 * (never echoing a secret). */
GT_HIDDEN int gt__key_check(const gt_key_def *k, const char *value,
                            const char *origin);

/* Takes keys (core first) and their checked values (ownership of the
 * array and strings); parses the core fields and checks what depends on
 * more than one value. On failure frees everything. */
GT_HIDDEN int gt__config_init(gt_config *c, const gt_key_def *const *keys,
                              size_t nkeys, char **values);
GT_HIDDEN void gt__config_free(gt_config *c);
GT_HIDDEN gt_config *gt__config_ref(gt_config *c);
GT_HIDDEN void gt__config_unref(gt_config *c); /* the last frees a heap one */

/* Value of a key ("sms.to"); NULL when unset or empty. Asking for a key
 * nobody declared is a bug in gt: it aborts, naming it. */
GT_HIDDEN const char *gt__config_get(const gt_config *c, const char *key);
/* Typed reads for backends; both fail naming the key. */
GT_HIDDEN int gt__config_u64(const gt_config *c, const char *key, uint64_t dflt,
                             uint64_t min, uint64_t max, uint64_t *out);
GT_HIDDEN bool gt__config_is_secret(const gt_config *c, const char *key);
/* Every key: value (NULL if unset) and default. */
typedef void (*gt_config_visit_fn)(const char *key, const char *value,
                                   const char *dflt, bool secret, void *ud);
GT_HIDDEN void gt__config_visit(const gt_config *c, gt_config_visit_fn fn,
                                void *ud);

#endif
