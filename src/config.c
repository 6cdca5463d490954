/* Configuration: a table of every key, four layers of sources, and
 * validation of the core keys (backends validate their own in open()).
 *
 * Sources, later wins: defaults < INI file ($GT_CONFIG, then
 * gt_options_load_file) < environment GT_<SECTION>_<KEY> < gt_options_set.
 * Every error names the key and where its value came from; secrets are
 * never echoed. */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt_internal.h"
#include "text.h"

enum ktype { K_STR, K_SECRET, K_U64, K_NUM, K_BOOL, K_ENUM };

typedef struct key_def {
  const char *key;
  enum ktype type;
  const char *dflt;
  const char *choices; /* K_ENUM: "a|b|c" */
  uint64_t min, max;   /* K_U64 */
} key_def;

#define U64MAX UINT64_MAX
static const key_def keys[] = {
    {"gt.backend", K_STR, "log", NULL, 0, 0},
    {"gt.sample_every", K_U64, "1", NULL, 1, U64MAX},
    {"gt.alloc_sample_every", K_U64, "1", NULL, 1, 1u << 30},
    {"gt.batch_max", K_U64, "100", NULL, 1, 1u << 30},
    {"gt.batch_window_ms", K_U64, "10000", NULL, 1, 86400000},
    {"gt.group_by", K_ENUM, "name", "name|site|none", 0, 0},
    {"gt.rate_per_minute", K_NUM, "6", NULL, 0, 0},
    {"gt.daily_cap", K_U64, "200", NULL, 0, U64MAX},
    {"gt.template", K_STR, NULL, NULL, 0, 0},
    {"gt.template_single", K_STR, NULL, NULL, 0, 0},
    {"gt.spool_dir", K_STR, NULL, NULL, 0, 0},
    {"gt.queue_capacity", K_U64, "65536", NULL, 16, 1u << 26},
    {"gt.retry_max", K_U64, "5", NULL, 0, 100},
    {"gt.timeout_ms", K_U64, "10000", NULL, 1, 3600000},
    {"gt.alloc_mechanism", K_ENUM, "disclaim", "disclaim|finalizer", 0, 0},
    {"gt.track_age", K_BOOL, "false", NULL, 0, 0},
    {"gt.collect_wait_ms", K_U64, "3000", NULL, 0, 3600000},
    {"log.path", K_STR, "-", NULL, 0, 0},
    {"log.format", K_ENUM, "text", "text|json", 0, 0},
    {"sms.base_url", K_STR, NULL, NULL, 0, 0},
    {"sms.api_key", K_SECRET, NULL, NULL, 0, 0},
    {"sms.from", K_STR, "GarbageTexts", NULL, 0, 0},
    {"sms.to", K_STR, NULL, NULL, 0, 0},
    {"sms.max_segments", K_U64, "1", NULL, 1, 10},
    {"sms.api", K_ENUM, "3", "3|2", 0, 0},
    {"sms.ca_file", K_STR, NULL, NULL, 0, 0},
    {"email.transport", K_ENUM, "smtp", "smtp|infobip", 0, 0},
    {"email.url", K_STR, NULL, NULL, 0, 0},
    {"email.username", K_STR, NULL, NULL, 0, 0},
    {"email.password", K_SECRET, NULL, NULL, 0, 0},
    {"email.from", K_STR, NULL, NULL, 0, 0},
    {"email.to", K_STR, NULL, NULL, 0, 0},
    {"email.subject", K_STR, "garbage-texts", NULL, 0, 0},
    {"email.base_url", K_STR, NULL, NULL, 0, 0},
    {"email.api_key", K_SECRET, NULL, NULL, 0, 0},
    {"email.ca_file", K_STR, NULL, NULL, 0, 0},
    {"webhook.url", K_STR, NULL, NULL, 0, 0},
    {"webhook.secret", K_SECRET, NULL, NULL, 0, 0},
    {"webhook.ca_file", K_STR, NULL, NULL, 0, 0},
    {"alertmanager.url", K_STR, NULL, NULL, 0, 0},
    {"alertmanager.service", K_STR, NULL, NULL, 0, 0},
    {"alertmanager.labels", K_STR, NULL, NULL, 0, 0},
    {"alertmanager.instance", K_STR, NULL, NULL, 0, 0},
    {"alertmanager.ca_file", K_STR, NULL, NULL, 0, 0},
};
#define NKEYS (sizeof keys / sizeof keys[0])

typedef struct entry {
  char *value;
  char *origin; /* "file x.ini", "gt_options_set" */
} entry;

struct gt_options {
  entry file[NKEYS];
  entry set[NKEYS];
};

static int key_index(const char *key) {
  for (size_t i = 0; i < NKEYS; i++)
    if (strcmp(keys[i].key, key) == 0) return (int)i;
  return -1;
}

bool gt__config_is_secret(const char *key) {
  int i = key_index(key);
  return i >= 0 && keys[i].type == K_SECRET;
}

static int put(entry *e, const char *value, const char *origin) {
  char *v = strdup(value), *o = strdup(origin);
  if (!v || !o) {
    free(v);
    free(o);
    return gt__fail(GT_ENOMEM, "out of memory");
  }
  free(e->value);
  free(e->origin);
  e->value = v;
  e->origin = o;
  return 0;
}

static void clear(entry *e) {
  free(e->value);
  free(e->origin);
  e->value = e->origin = NULL;
}

gt_options *gt_options_new(void) {
  return calloc(1, sizeof(gt_options));
}

void gt_options_free(gt_options *o) {
  if (!o) return;
  for (size_t i = 0; i < NKEYS; i++) {
    clear(&o->file[i]);
    clear(&o->set[i]);
  }
  free(o);
}

int gt_options_set(gt_options *o, const char *key, const char *value) {
  if (!o || !key) return gt__fail(GT_EINVAL, "gt_options_set: NULL argument");
  int i = key_index(key);
  if (i < 0) return gt__fail(GT_EINVAL, "%s: unknown configuration key", key);
  if (!value) {
    clear(&o->set[i]);
    return 0;
  }
  return put(&o->set[i], value, "gt_options_set");
}

typedef struct ini_ctx {
  entry *layer;
  const char *path;
  char bad_key[128];
  int rc;
} ini_ctx;

static int on_ini(void *user, const char *section, const char *name,
                  const char *value) {
  ini_ctx *c = user;
  char key[128];
  snprintf(key, sizeof key, "%s.%s", section, name);
  int i = key_index(key);
  if (i < 0) {
    if (!c->bad_key[0]) snprintf(c->bad_key, sizeof c->bad_key, "%s", key);
    return 0;
  }
  char origin[512];
  snprintf(origin, sizeof origin, "file %s", c->path);
  if (put(&c->layer[i], value, origin) < 0) c->rc = -GT_ENOMEM;
  return c->rc == 0;
}

static int load_ini(entry *layer, const char *path) {
  ini_ctx c = {.layer = layer, .path = path};
  int r = ini_parse(path, on_ini, &c);
  if (c.rc) return c.rc;
  if (r == -1)
    return gt__fail(GT_EINVAL, "%s: cannot open configuration file: %s", path,
                    strerror(errno));
  if (r == -2) return gt__fail(GT_ENOMEM, "out of memory reading %s", path);
  if (c.bad_key[0])
    return gt__fail(GT_EINVAL, "%s: unknown configuration key (in %s, line %d)",
                    c.bad_key, path, r);
  if (r > 0)
    return gt__fail(GT_EINVAL, "%s: line %d: not a key = value line", path, r);
  return 0;
}

int gt_options_load_file(gt_options *o, const char *path) {
  if (!o || !path)
    return gt__fail(GT_EINVAL, "gt_options_load_file: NULL argument");
  return load_ini(o->file, path);
}

/* GT_SAMPLE_EVERY for gt.sample_every, GT_SMS_TO for sms.to. */
static void env_name(const char *key, char *out, size_t n) {
  const char *k = strncmp(key, "gt.", 3) == 0 ? key + 3 : key;
  size_t j = (size_t)snprintf(out, n, "GT_");
  for (; *k && j + 1 < n; k++)
    out[j++] = *k == '.' ? '_' : (char)toupper((unsigned char)*k);
  out[j] = 0;
}

/* ---- parsing -------------------------------------------------------------*/

static int bad(const key_def *k, const char *origin, const char *why,
               const char *value) {
  if (k->type == K_SECRET || !value)
    return gt__fail(GT_EINVAL, "%s: %s (from %s)", k->key, why, origin);
  return gt__fail(GT_EINVAL, "%s: '%s' %s (from %s)", k->key, value, why,
                  origin);
}

static int parse_u64(const key_def *k, const char *v, const char *origin,
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

static int parse_enum(const key_def *k, const char *v, const char *origin,
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

static bool has_control(const char *v) {
  for (; *v; v++)
    if ((unsigned char)*v < 0x20 || *v == 0x7f) return true;
  return false;
}

static int check_value(const key_def *k, const char *v, const char *origin) {
  uint64_t u;
  int e;
  switch (k->type) {
  case K_U64:
    return parse_u64(k, v, origin, &u);
  case K_ENUM:
    return parse_enum(k, v, origin, &e);
  case K_BOOL:
    if (!strcmp(v, "true") || !strcmp(v, "false") || !strcmp(v, "1") ||
        !strcmp(v, "0") || !strcmp(v, "yes") || !strcmp(v, "no"))
      return 0;
    return bad(k, origin, "is not a boolean (true/false)", v);
  case K_NUM: {
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

static int check_backends(const char *list) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", list);
  int n = 0;
  for (char *save, *t = strtok_r(buf, ", ", &save); t;
       t = strtok_r(NULL, ", ", &save), n++) {
    if (!gt__backend_known(t))
      return gt__fail(GT_EINVAL,
                      "gt.backend: unknown backend '%s' (choose from log, sms, "
                      "email, webhook, alertmanager)",
                      t);
    if (!gt__backend_find(t))
      return gt__fail(GT_EBACKEND,
                      "gt.backend: backend '%s' is not available in this build",
                      t);
  }
  if (n == 0) return gt__fail(GT_EINVAL, "gt.backend: empty backend list");
  return 0;
}

static char *default_spool_dir(void) {
  char buf[4096];
  const char *x = getenv("XDG_STATE_HOME"), *h = getenv("HOME");
  if (x && *x)
    snprintf(buf, sizeof buf, "%s/gt", x);
  else
    snprintf(buf, sizeof buf, "%s/.local/state/gt", h && *h ? h : "/tmp");
  return strdup(buf);
}

static const char *val(const gt_config *c, const char *key) {
  return c->values[key_index(key)];
}

static uint64_t u64_of(const gt_config *c, const char *key) {
  return strtoull(val(c, key), NULL, 10);
}

static int enum_of(const gt_config *c, const char *key) {
  int i = key_index(key), out = 0;
  parse_enum(&keys[i], c->values[i], "", &out);
  return out;
}

static int fill_core(gt_config *c) {
  c->backend = c->values[key_index("gt.backend")];
  c->sample_every = u64_of(c, "gt.sample_every");
  c->alloc_sample_every = u64_of(c, "gt.alloc_sample_every");
  c->batch_max = u64_of(c, "gt.batch_max");
  c->batch_window_ms = u64_of(c, "gt.batch_window_ms");
  c->group_by = (enum gt_group_by)enum_of(c, "gt.group_by");
  c->rate_per_minute = strtod(val(c, "gt.rate_per_minute"), NULL);
  c->daily_cap = u64_of(c, "gt.daily_cap");
  c->template_batch = c->values[key_index("gt.template")];
  c->template_single = c->values[key_index("gt.template_single")];
  c->queue_capacity = u64_of(c, "gt.queue_capacity");
  c->retry_max = u64_of(c, "gt.retry_max");
  c->timeout_ms = u64_of(c, "gt.timeout_ms");
  c->mechanism = (enum gt_mechanism)enum_of(c, "gt.alloc_mechanism");
  const char *t = val(c, "gt.track_age");
  c->track_age = !strcmp(t, "true") || !strcmp(t, "1") || !strcmp(t, "yes");
  c->collect_wait_ms = u64_of(c, "gt.collect_wait_ms");
  int i = key_index("gt.spool_dir");
  if (!c->values[i] && !(c->values[i] = default_spool_dir()))
    return gt__fail(GT_ENOMEM, "out of memory");
  c->spool_dir = c->values[i];
  int rc = check_backends(c->backend);
  if (rc) return rc;
  const char *tk[2] = {"gt.template", "gt.template_single"};
  for (int k = 0; k < 2; k++) {
    const char *tpl = val(c, tk[k]);
    if (tpl && (rc = gt__render_check(tk[k], tpl))) return rc;
  }
  return 0;
}

int gt__config_build(const gt_options *opts, gt_config *out) {
  memset(out, 0, sizeof *out);
  gt_options *env_file = gt_options_new();
  out->values = calloc(NKEYS, sizeof(char *));
  int rc = 0;
  if (!env_file || !out->values) {
    rc = gt__fail(GT_ENOMEM, "out of memory");
    goto done;
  }
  const char *path = getenv("GT_CONFIG");
  if (path && *path && (rc = load_ini(env_file->file, path))) goto done;
  for (size_t i = 0; i < NKEYS; i++) {
    const char *v = keys[i].dflt, *o = "the default";
    if (env_file->file[i].value)
      v = env_file->file[i].value, o = env_file->file[i].origin;
    if (opts && opts->file[i].value)
      v = opts->file[i].value, o = opts->file[i].origin;
    char name[80], env_origin[96];
    env_name(keys[i].key, name, sizeof name);
    const char *e = getenv(name);
    if (e) {
      snprintf(env_origin, sizeof env_origin, "environment %.80s", name);
      v = e, o = env_origin;
    }
    if (opts && opts->set[i].value)
      v = opts->set[i].value, o = opts->set[i].origin;
    if (v && !*v && keys[i].type != K_STR && keys[i].type != K_SECRET)
      v = keys[i].dflt; /* an empty number/enum means "default" */
    if (v && (rc = check_value(&keys[i], v, o))) goto done;
    if (v && !(out->values[i] = strdup(v))) {
      rc = gt__fail(GT_ENOMEM, "out of memory");
      goto done;
    }
  }
  rc = fill_core(out);
done:
  gt_options_free(env_file);
  if (rc) gt__config_free(out);
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
    for (size_t i = 0; i < NKEYS; i++)
      free(c->values[i]);
  free(c->values);
  memset(c, 0, sizeof *c);
}

const char *gt__config_get(const gt_config *c, const char *key) {
  int i = key_index(key);
  if (i < 0 || !c->values || !c->values[i] || !c->values[i][0]) return NULL;
  return c->values[i];
}

int gt__config_u64(const gt_config *c, const char *key, uint64_t dflt,
                   uint64_t min, uint64_t max, uint64_t *out) {
  const char *v = gt__config_get(c, key);
  if (!v) {
    *out = dflt;
    return 0;
  }
  key_def k = {.key = key, .type = K_U64, .min = min, .max = max};
  return parse_u64(&k, v, "configuration", out);
}

void gt__config_visit(const gt_config *c, gt_config_visit_fn fn, void *ud) {
  for (size_t i = 0; i < NKEYS; i++)
    fn(keys[i].key, c->values ? c->values[i] : NULL, keys[i].dflt,
       keys[i].type == K_SECRET, ud);
}
