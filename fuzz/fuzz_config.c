/* fuzz_config: the configuration parser (src/config.c): INI files through
 * inih, GT_* environment variables and gt_options_set, then validation by
 * gt__options_build and by the network backends' open().
 *
 * Byte 0 of the input picks the mode (see the MODE_ bits); the rest is an
 * INI file or "key=value" lines ("$key=value" sets the key's GT_*
 * environment variable instead). Besides crashes and leaks, the target
 * checks the promise that errors never print a secret: every secret value
 * the harness puts in starts with CANARY, and gt_last_error() must never
 * contain it. Inputs that contain CANARY themselves are skipped, so a hit
 * can only come from a secret. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../tests/internal.h"

#define CANARY "Kq7ZsecretZ7qK"

#define MODE_KV 0x01      /* key=value lines, else an INI file */
#define MODE_SEED_SHIFT 1 /* INI: bits 1-4 pre-seed canary secrets */
#define MODE_VIA_ENV 0x20 /* INI: pass the file as $GT_CONFIG */
#define MODE_BOTH 0x40    /* INI: ... and as gt_options_load_file */
#define MODE_OPEN 0x80    /* open the network backends after a build */

static const char *const secrets[] = {"sms.api_key", "email.password",
                                      "email.api_key", "webhook.secret"};
/* The same secrets as INI lines, for pre-seeding a file. */
static const char *const seed_lines[] = {
    "[sms]\napi_key = " CANARY "sms\n", "[email]\npassword = " CANARY "pw\n",
    "[email]\napi_key = " CANARY "ib\n",
    "[webhook]\nsecret = " CANARY "0123456789abcdef\n"};

static int memfd = -1;
static char memfd_path[64];

/* The library's secret keys, read once from a default configuration. */
#define MAX_SECRETS 32
static char secret_keys[MAX_SECRETS][64];
static size_t nsecret;

static void note_secret(const char *key, const char *value, const char *dflt,
                        bool secret, void *ud) {
  (void)value, (void)dflt, (void)ud;
  if (secret && nsecret < MAX_SECRETS)
    snprintf(secret_keys[nsecret++], sizeof secret_keys[0], "%s", key);
}

static bool is_secret(const char *key) {
  for (size_t i = 0; i < nsecret; i++)
    if (strcmp(secret_keys[i], key) == 0) return true;
  return false;
}

static void check_no_secret(const char *where) {
  const char *err = gt_last_error();
  if (strstr(err, CANARY)) {
    fprintf(stderr, "fuzz_config: %s printed a secret: %s\n", where, err);
    abort();
  }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  /* The caller's GT_* variables would make runs depend on who runs them. */
  for (;;) {
    extern char **environ;
    char **e = environ;
    while (*e && strncmp(*e, "GT_", 3) != 0)
      e++;
    if (!*e) break;
    char name[256];
    size_t n = strcspn(*e, "=");
    snprintf(name, sizeof name, "%.*s", (int)n, *e);
    unsetenv(name);
  }
  /* One in-memory file, rewritten per input: no disk traffic, and inih
   * reads it by path like any configuration file. */
  memfd = memfd_create("gt-fuzz.ini", 0);
  if (memfd < 0) {
    perror("memfd_create");
    abort();
  }
  snprintf(memfd_path, sizeof memfd_path, "/proc/self/fd/%d", memfd);
  /* The canary only proves something if these are the library's secrets. */
  gt_config base;
  if (gt__options_build(NULL, &base) != 0) {
    fprintf(stderr, "fuzz_config: defaults: %s\n", gt_last_error());
    abort();
  }
  gt__config_visit(&base, note_secret, NULL);
  gt__config_free(&base);
  for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++)
    if (!is_secret(secrets[i])) {
      fprintf(stderr, "fuzz_config: %s is not a secret\n", secrets[i]);
      abort();
    }
  return 0;
}

static void write_file(const void *p, size_t n) {
  if (ftruncate(memfd, 0) != 0 || pwrite(memfd, p, n, 0) != (ssize_t)n) {
    perror("fuzz_config: memfd");
    abort();
  }
}

/* The environment variable of a key, as config.c names it. */
static void env_name(const char *key, char *out, size_t n) {
  const char *k = strncmp(key, "gt.", 3) == 0 ? key + 3 : key;
  size_t j = (size_t)snprintf(out, n, "GT_");
  for (; *k && j + 1 < n; k++)
    out[j++] = *k == '.' ? '_' : (char)(*k >= 'a' && *k <= 'z' ? *k - 32 : *k);
  out[j] = 0;
}

/* Opens and closes the backends that validate secrets (sms, email,
 * webhook). The log backend is left out: it opens log.path for writing. */
static void open_backends(const gt_config *cfg) {
  static const char *const names[] = {"sms", "email", "webhook"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    const gt_backend_ops *ops = NULL;
    if (gt__backend_find(cfg, names[i], &ops) != 0 || !ops) continue;
    void *state = NULL;
    gt__clear_error();
    int rc = ops->open(cfg, &state);
    check_no_secret(names[i]);
    if (rc == 0) ops->close(state);
  }
}

static void build(const gt_options *opts, int mode) {
  gt_config cfg;
  gt__clear_error();
  int rc = gt__options_build(opts, &cfg);
  check_no_secret("gt__options_build");
  if (rc != 0) {
    if (rc != GT_EINVAL && rc != GT_EBACKEND && rc != GT_ENOMEM) abort();
    if (!gt_last_error()[0]) {
      fprintf(stderr, "fuzz_config: error %d without a message\n", rc);
      abort();
    }
    return;
  }
  /* What validation promised the rest of the library. */
  if (cfg.sample_every < 1 || cfg.alloc_sample_every < 1 ||
      cfg.leak_sample_every < 1 || cfg.batch_max < 1 ||
      cfg.batch_window_ms < 1 || cfg.queue_capacity < 16 ||
      cfg.queue_capacity > (1u << 26) || cfg.timeout_ms < 1 ||
      cfg.retry_max > 100 || !(cfg.rate_per_minute >= 0) || !cfg.backend ||
      (cfg.template_batch &&
       gt__render_check("gt.template", cfg.template_batch)) ||
      (cfg.template_single &&
       gt__render_check("gt.template_single", cfg.template_single)) ||
      (cfg.template_unreleased &&
       gt__render_check("gt.template_unreleased", cfg.template_unreleased))) {
    fprintf(stderr, "fuzz_config: accepted an invalid configuration\n");
    abort();
  }
  if (mode & MODE_OPEN) open_backends(&cfg);
  gt__config_free(&cfg);
}

static void ini_mode(int mode, const uint8_t *data, size_t size) {
  /* Pre-seeded secrets come first, so the input can override them (which
   * exercises the file layer) or leave them for validation to trip on. */
  size_t cap = size + 512, n = 0;
  char *file = malloc(cap);
  if (!file) return;
  for (int i = 0; i < 4; i++)
    if (mode & (1 << (MODE_SEED_SHIFT + i)))
      n += (size_t)snprintf(file + n, cap - n, "%s", seed_lines[i]);
  file[n++] = '\n';
  memcpy(file + n, data, size);
  n += size;
  write_file(file, n);
  free(file);

  gt_options *opts = gt_options_new();
  if (!opts) return;
  bool load = !(mode & MODE_VIA_ENV) || (mode & MODE_BOTH);
  int rc = 0;
  if (load) {
    gt__clear_error();
    rc = gt_options_load_file(opts, memfd_path);
    check_no_secret("gt_options_load_file");
  }
  if (mode & MODE_VIA_ENV) setenv("GT_CONFIG", memfd_path, 1);
  if (rc == 0) build(opts, mode);
  unsetenv("GT_CONFIG");
  gt_options_free(opts);
}

#define MAX_ENV 16

static void kv_mode(int mode, const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  gt_options *opts = gt_options_new();
  char *envs[MAX_ENV];
  size_t nenv = 0;
  if (!text || !opts) goto out;
  memcpy(text, data, size);
  text[size] = 0;
  for (char *save, *line = strtok_r(text, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    bool env = line[0] == '$';
    char *key = line + env, *eq = strchr(key, '=');
    if (!eq) continue;
    *eq = 0;
    const char *raw = eq + 1;
    /* A secret's value gets the canary in front; the rest of it is the
     * input's, so validation still sees line breaks, spaces and lengths. */
    char value[1024];
    snprintf(value, sizeof value, "%s%s", is_secret(key) ? CANARY : "", raw);
    if (env) {
      char name[160];
      env_name(key, name, sizeof name);
      /* GT_CONFIG names a file to read: not a key, and not for fuzzing. */
      if (nenv == MAX_ENV || !strcmp(name, "GT_CONFIG") || strchr(name, '='))
        continue;
      if (setenv(name, value, 1) == 0 && (envs[nenv] = strdup(name))) nenv++;
    } else {
      gt__clear_error();
      int rc = gt_options_set(opts, key, value);
      check_no_secret("gt_options_set");
      if (rc != 0 && rc != GT_EINVAL) abort();
    }
  }
  build(opts, mode);
out:
  for (size_t i = 0; i < nenv; i++) {
    unsetenv(envs[i]);
    free(envs[i]);
  }
  gt_options_free(opts);
  free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  /* The canary must only ever come from the harness. */
  if (memmem(data, size, CANARY, sizeof CANARY - 1)) return 0;
  int mode = data[0];
  if (mode & MODE_KV)
    kv_mode(mode, data + 1, size - 1);
  else
    ini_mode(mode, data + 1, size - 1);
  return 0;
}
