/* The configuration once built: checking a value against its key, the
 * core keys parsed into fields (read by enum, never by name), and the
 * accessors backends read their own keys with. Where values come from
 * (defaults, files, environment, gt_options_set) is options.c's. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "text.h"

static const gt_key_def core[] = {
#define CORE_DEF(e, key, type, dflt, choices, min, max)                        \
  {key, GT_KEY_##type, dflt, choices, min, max},
    GT_CORE_KEYS(CORE_DEF)
#undef CORE_DEF
};

const gt_key_def *gt__core_key(enum gt_core_key k) {
  return &core[k];
}

void gt__key_env_name(const char *key, char *out, size_t n) {
  const char *k = strncmp(key, "gt.", 3) == 0 ? key + 3 : key;
  size_t j = (size_t)snprintf(out, n, "GT_");
  for (; *k && j + 1 < n; k++)
    out[j++] = *k == '.' ? '_' : (char)toupper((unsigned char)*k);
  out[j] = 0;
}

/* ---- checking one value --------------------------------------------------*/

static int bad(const gt_key_def *k, const char *origin, const char *why,
               const char *value) {
  if (k->type == GT_KEY_SECRET || !value)
    return gt__fail(GT_EINVAL, "%s: %s (from %s)", k->key, why, origin);
  return gt__fail(GT_EINVAL, "%s: '%s' %s (from %s)", k->key, value, why,
                  origin);
}

static int parse_u64(const gt_key_def *k, const char *v, const char *origin,
                     uint64_t *out) {
  char *end;
  errno = 0;
  if (!isdigit((unsigned char)v[0]))
    return bad(k, origin, "is not a whole number", v);
  unsigned long long x = strtoull(v, &end, 10);
  if (errno || *end) return bad(k, origin, "is not a whole number", v);
  if (x < k->min || x > k->max) {
    char why[96];
    snprintf(why, sizeof why, "is out of range [%llu, %llu]",
             (unsigned long long)k->min, (unsigned long long)k->max);
    return bad(k, origin, why, v);
  }
  *out = x;
  return 0;
}

static int parse_enum(const gt_key_def *k, const char *v, const char *origin,
                      int *out) {
  const char *p = k->choices;
  for (int i = 0; *p; i++) {
    size_t n = strcspn(p, "|");
    if (strlen(v) == n && strncmp(p, v, n) == 0) {
      *out = i;
      return 0;
    }
    p += n + (p[n] == '|');
  }
  char why[128];
  snprintf(why, sizeof why, "is not one of %s", k->choices);
  return bad(k, origin, why, v);
}

static bool parse_bool(const char *v, bool *out) {
  static const char *const yes[] = {"true", "1", "yes"}, *const no[] = {"false",
                                                                        "0",
                                                                        "no"};
  for (int i = 0; i < 3; i++) {
    if (!strcmp(v, yes[i])) return *out = true, true;
    if (!strcmp(v, no[i])) return *out = false, true;
  }
  return false;
}

static bool has_control(const char *v) {
  for (; *v; v++)
    if ((unsigned char)*v < 0x20 || *v == 0x7f) return true;
  return false;
}

int gt__key_check(const gt_key_def *k, const char *v, const char *origin) {
  uint64_t u;
  int e;
  bool b;
  switch (k->type) {
  case GT_KEY_U64:
    return parse_u64(k, v, origin, &u);
  case GT_KEY_ENUM:
    return parse_enum(k, v, origin, &e);
  case GT_KEY_BOOL:
    return parse_bool(v, &b)
               ? 0
               : bad(k, origin, "is not a boolean (true/false)", v);
  case GT_KEY_NUM: {
    char *end;
    double d = strtod(v, &end);
    if (!*v || *end || !isfinite(d) || d < 0)
      return bad(k, origin, "is not a non-negative number", v);
    return 0;
  }
  default:
    if (has_control(v))
      return bad(k, origin, "contains a line break or control character", NULL);
    if (!gt__text_is_utf8(v)) return bad(k, origin, "is not valid UTF-8", NULL);
    return 0;
  }
}

/* ---- the core fields -------------------------------------------------- */

static const char *core_value(const gt_config *c, enum gt_core_key k) {
  return c->values[k];
}

/* Values were checked already: these cannot fail. */
static uint64_t core_u64(const gt_config *c, enum gt_core_key k) {
  return strtoull(core_value(c, k), NULL, 10);
}

static int core_enum(const gt_config *c, enum gt_core_key k) {
  int out = 0;
  parse_enum(&core[k], core_value(c, k), "", &out);
  return out;
}

/* $XDG_STATE_HOME/gt, else $HOME/.local/state/gt; relative values are
 * ignored, as the XDG base directory rules say. With neither there is no
 * default (NULL): not a directory in a shared /tmp, and not the password
 * database's home, whose lookup may wait on a directory service. */
static int default_spool_dir(char **out) {
  const char *x = getenv("XDG_STATE_HOME"), *h = getenv("HOME");
  const char *base = x && x[0] == '/' ? x : h && h[0] == '/' ? h : NULL;
  *out = NULL;
  if (!base) return 0;
  const char *tail = base == x ? "/gt" : "/.local/state/gt";
  size_t n = strlen(base) + strlen(tail) + 1;
  if (!(*out = malloc(n))) return gt__fail(GT_ENOMEM, "out of memory");
  snprintf(*out, n, "%s%s", base, tail);
  return 0;
}

static int fill_core(gt_config *c) {
  c->backend = c->values[GT_K_BACKEND];
  c->sample_every = core_u64(c, GT_K_SAMPLE_EVERY);
  c->alloc_sample_every = core_u64(c, GT_K_ALLOC_SAMPLE_EVERY);
  c->leak_sample_every = core_u64(c, GT_K_LEAK_SAMPLE_EVERY);
  c->batch_max = core_u64(c, GT_K_BATCH_MAX);
  c->batch_window_ms = core_u64(c, GT_K_BATCH_WINDOW_MS);
  c->group_by = (enum gt_group_by)core_enum(c, GT_K_GROUP_BY);
  c->rate_per_minute = strtod(core_value(c, GT_K_RATE_PER_MINUTE), NULL);
  c->daily_cap = core_u64(c, GT_K_DAILY_CAP);
  c->template_batch = c->values[GT_K_TEMPLATE];
  c->template_single = c->values[GT_K_TEMPLATE_SINGLE];
  c->report = (enum gt_report)core_enum(c, GT_K_REPORT);
  c->template_unreleased = c->values[GT_K_TEMPLATE_UNRELEASED];
  c->queue_capacity = core_u64(c, GT_K_QUEUE_CAPACITY);
  c->retry_max = core_u64(c, GT_K_RETRY_MAX);
  c->timeout_ms = core_u64(c, GT_K_TIMEOUT_MS);
  c->mechanism = (enum gt_mechanism)core_enum(c, GT_K_ALLOC_MECHANISM);
  parse_bool(core_value(c, GT_K_TRACK_AGE), &c->track_age);
  c->collect_wait_ms = core_u64(c, GT_K_COLLECT_WAIT_MS);
  c->stack_depth = core_u64(c, GT_K_STACK_DEPTH);
  c->stack_sample_every = core_u64(c, GT_K_STACK_SAMPLE_EVERY);
  c->profile = c->values[GT_K_PROFILE];
  parse_bool(core_value(c, GT_K_PROFILE_ON_COLLECT), &c->profile_on_collect);
  int rc = 0;
  if (!c->values[GT_K_SPOOL_DIR])
    rc = default_spool_dir(&c->values[GT_K_SPOOL_DIR]);
  c->spool_dir = c->values[GT_K_SPOOL_DIR]; /* NULL: no spool */
  return rc;
}

int gt__config_init(gt_config *c, const gt_key_def *const *keys, size_t nkeys,
                    char **values) {
  memset(c, 0, sizeof *c);
  c->keys = keys;
  c->nkeys = nkeys;
  c->values = values;
  atomic_init(&c->refs, 1);
  int rc = fill_core(c);
  if (rc) gt__config_free(c);
  return rc;
}

gt_config *gt__config_ref(gt_config *c) {
  atomic_fetch_add(&c->refs, 1);
  return c;
}

void gt__config_unref(gt_config *c) {
  if (!c || atomic_fetch_sub(&c->refs, 1) != 1) return;
  gt__config_free(c);
  free(c);
}

void gt__config_free(gt_config *c) {
  if (c->values)
    for (size_t i = 0; i < c->nkeys; i++)
      free(c->values[i]);
  free(c->values);
  memset(c, 0, sizeof *c);
}

/* ---- reading by name (backends) ------------------------------------------*/

static size_t index_of(const gt_config *c, const char *key) {
  for (size_t i = 0; i < c->nkeys; i++)
    if (strcmp(c->keys[i]->key, key) == 0) return i;
  fprintf(stderr, "gt: internal error: no configuration key %s\n", key);
  abort();
}

const char *gt__config_get(const gt_config *c, const char *key) {
  const char *v = c->values[index_of(c, key)];
  return v && *v ? v : NULL;
}

int gt__config_u64(const gt_config *c, const char *key, uint64_t dflt,
                   uint64_t min, uint64_t max, uint64_t *out) {
  const char *v = gt__config_get(c, key);
  if (!v) {
    *out = dflt;
    return 0;
  }
  gt_key_def k = {.key = key, .type = GT_KEY_U64, .min = min, .max = max};
  return parse_u64(&k, v, "configuration", out);
}

bool gt__config_is_secret(const gt_config *c, const char *key) {
  return c->keys[index_of(c, key)]->type == GT_KEY_SECRET;
}

void gt__config_visit(const gt_config *c, gt_config_visit_fn fn, void *ud) {
  for (size_t i = 0; i < c->nkeys; i++)
    fn(c->keys[i]->key, c->values[i], c->keys[i]->dflt,
       c->keys[i]->type == GT_KEY_SECRET, ud);
}
