/* The configuration API: gt_options_* and building a gt_config from four
 * layers of sources, later wins: defaults < INI file ($GT_CONFIG, then
 * gt_options_load_file) < environment GT_<SECTION>_<KEY> < gt_options_set.
 *
 * The keys are the core ones (config.h) and those every backend declares in
 * its vtable, joined here once. Every error names the key and where its
 * value came from; secrets are never echoed. */
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* A regular file only: inih would read a directory as an empty file, and
 * opening a FIFO would block the program (so: non-blocking, then fstat). */
static int open_ini(const char *path, FILE **out) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return gt__fail(GT_EINVAL, "%s: cannot open configuration file: %s", path,
                    strerror(errno));
  struct stat st = {0};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return gt__fail(GT_EINVAL,
                    "%s: not a regular file%s; the configuration is an INI "
                    "file",
                    path, S_ISDIR(st.st_mode) ? " (a directory)" : "");
  }
  if (!(*out = fdopen(fd, "r"))) {
    close(fd);
    return gt__fail(GT_ENOMEM, "out of memory reading %s", path);
  }
  return 0;
}

static int load_ini(entry *layer, const char *path) {
  ini_ctx c = {.layer = layer, .path = path};
  FILE *f;
  int r = open_ini(path, &f);
  if (r) return r;
  r = ini_parse_file(f, on_ini, &c);
  fclose(f);
  if (c.rc) return c.rc;
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

/* ---- GT_* variables that name no key --------------------------------------*/

/* Not keys, read by gt or its tests and benchmarks for other purposes
 * (GT_RUN_* and GT_ATTACH_LIB: gt run's, src/attach/start.c). */
static bool env_exempt(const char *name) {
  return strcmp(name, "GT_CONFIG") == 0 || strncmp(name, "GT_TEST_", 8) == 0 ||
         strncmp(name, "GT_BENCH_", 9) == 0 ||
         strncmp(name, "GT_RUN_", 7) == 0 || strcmp(name, "GT_ATTACH_LIB") == 0;
}

/* Edits (insert, delete, change, swap two neighbours) from a to b. */
static size_t edit_distance(const char *a, const char *b) {
  size_t n = strlen(a), m = strlen(b), d[3][81];
  if (n > 80 || m > 80) return SIZE_MAX;
  size_t *pp = d[0], *prev = d[1], *cur = d[2];
  for (size_t j = 0; j <= m; j++)
    prev[j] = j;
  for (size_t i = 1; i <= n; i++) {
    cur[0] = i;
    for (size_t j = 1; j <= m; j++) {
      size_t best = prev[j - 1] + (a[i - 1] != b[j - 1]);
      if (prev[j] + 1 < best) best = prev[j] + 1;
      if (cur[j - 1] + 1 < best) best = cur[j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
          pp[j - 2] + 1 < best)
        best = pp[j - 2] + 1;
      cur[j] = best;
    }
    size_t *t = pp;
    pp = prev, prev = cur, cur = t;
  }
  return prev[m];
}

/* The section of GT_SMS_TO ("sms") names a backend left out of this build:
 * its keys are unknown here, and a suggestion would mislead. */
static bool env_of_unbuilt_backend(const char *name, char *backend, size_t n) {
#define GT__NAME(sym, bname) bname,
  static const char *const names[] = {GT_BACKENDS(GT__NAME) NULL};
#undef GT__NAME
  for (size_t i = 0; names[i]; i++) {
    char prefix[64];
    gt__key_env_name(names[i], prefix, sizeof prefix);
    size_t len = strlen(prefix);
    if (strncmp(name, prefix, len) != 0 || name[len] != '_') continue;
    for (size_t k = 0; k < nreg; k++)
      if (strncmp(reg[k]->key, names[i], strlen(names[i])) == 0 &&
          reg[k]->key[strlen(names[i])] == '.')
        return false;
    snprintf(backend, n, "%s", names[i]);
    return true;
  }
  return false;
}

/* Names already warned about: once a process is loud enough. */
static pthread_mutex_t warned_lock = PTHREAD_MUTEX_INITIALIZER;
static char *warned[64];

static bool first_time(const char *name) {
  pthread_mutex_lock(&warned_lock);
  bool first = true;
  size_t i = 0;
  for (; i < 64 && warned[i] && first; i++)
    first = strcmp(warned[i], name) != 0;
  if (first && i < 64) warned[i] = strdup(name);
  pthread_mutex_unlock(&warned_lock);
  return first;
}

static void env_warn_one(const char *name) {
  char env[80], best_env[80] = "", backend[64];
  const gt_key_def *best = NULL;
  size_t best_d = SIZE_MAX;
  for (size_t i = 0; i < nreg; i++) {
    gt__key_env_name(reg[i]->key, env, sizeof env);
    if (strcmp(env, name) == 0) return; /* a key */
    size_t d = edit_distance(name + 3, env + 3);
    if (d < best_d)
      best_d = d, best = reg[i], memcpy(best_env, env, sizeof env);
  }
  if (!first_time(name)) return;
  if (env_of_unbuilt_backend(name, backend, sizeof backend)) {
    gt__warn("%s is ignored: the %s backend is not built into this libgt "
             "(CMake GT_BACKENDS)",
             name, backend);
    return;
  }
  size_t len = strlen(name + 3), near = len / 3 > 2 ? len / 3 : 2;
  if (best && best_d <= near)
    gt__warn("%s is not a gt setting; did you mean %s (%s)?", name, best_env,
             best->key);
  else
    gt__warn("%s is not a gt setting; ignored (docs/configuration.md lists "
             "the settings)",
             name);
}

void gt__options_warn_env(void) {
  extern char **environ;
  pthread_once(&once, register_keys);
  for (char **e = environ; e && *e; e++) {
    size_t n = strcspn(*e, "=");
    char name[96];
    if (strncmp(*e, "GT_", 3) != 0 || n >= sizeof name) continue;
    memcpy(name, *e, n);
    name[n] = 0;
    if (!env_exempt(name)) env_warn_one(name);
  }
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
  if (!rc && c->template_unreleased)
    rc = gt__render_check("gt.template_unreleased", c->template_unreleased);
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
