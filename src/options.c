/* The configuration API: gt_options_* and building a gt_config from four
 * layers of sources, later wins: defaults < INI file ($GT_CONFIG, then
 * gt_options_load_file) < environment GT_<SECTION>_<KEY> < gt_options_set.
 *
 * The keys are the core ones (config.h) and those every backend declares in
 * its vtable, joined here once. Every error names the key and where its
 * value came from; secrets are never echoed. */
#include <errno.h>
#include <ini.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "delivery/backend.h"
#include "delivery/render.h"
#include "options.h"

#define MAX_KEYS 128

static const gt_key_def *reg[MAX_KEYS];
static size_t nreg;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* A key declared by two backends (sms.to by each SMS provider) is one key:
 * the declarations must agree. */
static void add_key(const gt_key_def *k) {
  for (size_t i = 0; i < nreg; i++) {
    if (strcmp(reg[i]->key, k->key) != 0) continue;
    if (reg[i]->type != k->type ||
        (reg[i]->dflt && k->dflt && strcmp(reg[i]->dflt, k->dflt) != 0)) {
      fprintf(stderr, "gt: internal error: %s declared twice, differently\n",
              k->key);
      abort();
    }
    return;
  }
  if (nreg == MAX_KEYS) abort();
  reg[nreg++] = k;
}

static void add_backend_keys(const gt_backend_ops *ops, void *ud) {
  (void)ud;
  for (size_t i = 0; i < ops->nkeys; i++)
    add_key(&ops->keys[i]);
}

static void register_keys(void) {
  for (int k = 0; k < GT_K_CORE_COUNT; k++)
    reg[nreg++] = gt__core_key((enum gt_core_key)k);
  gt__backend_each(add_backend_keys, NULL);
}

static int key_index(const char *key) {
  pthread_once(&once, register_keys);
  for (size_t i = 0; i < nreg; i++)
    if (strcmp(reg[i]->key, key) == 0) return (int)i;
  return -1;
}

/* ---- the layers -----------------------------------------------------------*/

typedef struct entry {
  char *value;
  char *origin; /* "file x.ini", "gt_options_set" */
} entry;

struct gt_options {
  entry dflt[MAX_KEYS]; /* defaults of the caller's own (gt run) */
  entry file[MAX_KEYS];
  entry set[MAX_KEYS];
};

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
  pthread_once(&once, register_keys);
  return calloc(1, sizeof(gt_options));
}

void gt_options_free(gt_options *o) {
  if (!o) return;
  for (size_t i = 0; i < MAX_KEYS; i++) {
    clear(&o->dflt[i]);
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

int gt__options_set_default(gt_options *o, const char *key, const char *value,
                            const char *origin) {
  int i = key_index(key);
  if (i < 0) return gt__fail(GT_EINVAL, "%s: unknown configuration key", key);
  return put(&o->dflt[i], value, origin);
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
  if (put(&c->layer[i], value, origin) < 0) c->rc = GT_ENOMEM;
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
  pthread_once(&once, register_keys);
  return load_ini(o->file, path);
}

/* ---- building ------------------------------------------------------------*/

/* The winning value of key i and where it came from. */
static const char *pick(size_t i, const gt_options *opts,
                        const gt_options *env_file, char *origin, size_t n) {
  const gt_key_def *k = reg[i];
  const char *v = k->dflt;
  snprintf(origin, n, "the default");
  const entry *layers[3] = {opts ? &opts->dflt[i] : NULL, &env_file->file[i],
                            opts ? &opts->file[i] : NULL};
  for (int l = 0; l < 3; l++)
    if (layers[l] && layers[l]->value)
      v = layers[l]->value, snprintf(origin, n, "%s", layers[l]->origin);
  char name[80];
  gt__key_env_name(k->key, name, sizeof name);
  const char *e = getenv(name);
  if (e) v = e, snprintf(origin, n, "environment %.80s", name);
  if (opts && opts->set[i].value)
    v = opts->set[i].value, snprintf(origin, n, "%s", opts->set[i].origin);
  if (v && !*v && k->type != GT_KEY_STR && k->type != GT_KEY_SECRET)
    v = k->dflt; /* an empty number/enum means "default" */
  return v;
}

static int collect_values(const gt_options *opts, char **values) {
  gt_options *env_file = gt_options_new();
  if (!env_file) return gt__fail(GT_ENOMEM, "out of memory");
  const char *path = getenv("GT_CONFIG");
  int rc = path && *path ? load_ini(env_file->file, path) : 0;
  for (size_t i = 0; i < nreg && !rc; i++) {
    char origin[512];
    const char *v = pick(i, opts, env_file, origin, sizeof origin);
    if (v && (rc = gt__key_check(reg[i], v, origin))) break;
    if (v && !(values[i] = strdup(v)))
      rc = gt__fail(GT_ENOMEM, "out of memory");
  }
  gt_options_free(env_file);
  return rc;
}

/* What depends on more than one key, or on other modules. */
static int check_config(const gt_config *c) {
  int rc = gt__backend_check_list(c);
  if (!rc && c->template_batch)
    rc = gt__render_check("gt.template", c->template_batch);
  if (!rc && c->template_single)
    rc = gt__render_check("gt.template_single", c->template_single);
  return rc;
}

int gt__options_build(const gt_options *opts, gt_config *out) {
  pthread_once(&once, register_keys);
  char **values = calloc(nreg, sizeof *values);
  if (!values) return gt__fail(GT_ENOMEM, "out of memory");
  int rc = collect_values(opts, values);
  if (rc) {
    for (size_t i = 0; i < nreg; i++)
      free(values[i]);
    free(values);
    return rc;
  }
  if ((rc = gt__config_init(out, reg, nreg, values))) return rc;
  if ((rc = check_config(out))) gt__config_free(out);
  return rc;
}
