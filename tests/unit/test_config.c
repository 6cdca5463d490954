#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../internal.h"

/* Every test runs in its own process, so environment changes stay local. */
static void clean_env(void) {
  extern char **environ;
  for (char **e = environ; *e;) {
    if (strncmp(*e, "GT_", 3) == 0) {
      char name[128];
      size_t n = strcspn(*e, "=");
      snprintf(name, sizeof name, "%.*s", (int)n, *e);
      unsetenv(name);
    } else {
      e++;
    }
  }
}

static char *write_ini(const char *text) {
  static char path[64];
  snprintf(path, sizeof path, "/tmp/gt-test-%d.ini", (int)getpid());
  FILE *f = fopen(path, "w");
  fputs(text, f);
  fclose(f);
  return path;
}

TestSuite(config, .init = clean_env);

Test(config, defaults_match_design) {
  gt_config c;
  cr_assert_eq(gt__options_build(NULL, &c), 0, "%s", gt_last_error());
  cr_assert_str_eq(c.backend, "log");
  cr_assert_eq(c.sample_every, 1);
  cr_assert_eq(c.alloc_sample_every, 1);
  cr_assert_eq(c.batch_max, 100);
  cr_assert_eq(c.batch_window_ms, 10000);
  cr_assert_eq(c.group_by, GT_GROUP_NAME);
  cr_assert_float_eq(c.rate_per_minute, 6.0, 1e-9);
  cr_assert_eq(c.daily_cap, 200);
  cr_assert_eq(c.queue_capacity, 65536);
  cr_assert_eq(c.retry_max, 5);
  cr_assert_eq(c.timeout_ms, 10000);
  cr_assert_eq(c.mechanism, GT_MECH_DISCLAIM);
  cr_assert_not(c.track_age);
  cr_assert_null(c.template_batch);
  cr_assert_str_eq(gt__config_get(&c, "log.path"), "-");
  cr_assert_str_eq(gt__config_get(&c, "log.format"), "text");
  cr_assert_str_eq(gt__config_get(&c, "sms.from"), "GarbageText");
  cr_assert_str_eq(gt__config_get(&c, "sms.max_segments"), "1");
  cr_assert_str_eq(gt__config_get(&c, "email.transport"), "smtp");
  cr_assert_null(gt__config_get(&c, "sms.to"));
  cr_assert(strstr(c.spool_dir, "/gt") != NULL);
  gt__config_free(&c);
}

Test(config, every_core_key_parses) {
  gt_options *o = gt_options_new();
  const char *kv[][2] = {
      {"gt.backend", "log"},
      {"gt.sample_every", "1000"},
      {"gt.alloc_sample_every", "64"},
      {"gt.batch_max", "5"},
      {"gt.batch_window_ms", "250"},
      {"gt.group_by", "site"},
      {"gt.rate_per_minute", "0.5"},
      {"gt.daily_cap", "0"},
      {"gt.template", "{count} gone"},
      {"gt.template_single", "{name} gone"},
      {"gt.spool_dir", "/tmp/sp"},
      {"gt.queue_capacity", "16"},
      {"gt.retry_max", "0"},
      {"gt.timeout_ms", "1"},
      {"gt.alloc_mechanism", "finalizer"},
      {"gt.track_age", "yes"},
      {"log.path", "/tmp/x.log"},
      {"log.format", "json"},
  };
  for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
    cr_assert_eq(gt_options_set(o, kv[i][0], kv[i][1]), 0, "%s", kv[i][0]);
  gt_config c;
  cr_assert_eq(gt__options_build(o, &c), 0, "%s", gt_last_error());
  cr_assert_eq(c.sample_every, 1000);
  cr_assert_eq(c.alloc_sample_every, 64);
  cr_assert_eq(c.batch_max, 5);
  cr_assert_eq(c.batch_window_ms, 250);
  cr_assert_eq(c.group_by, GT_GROUP_SITE);
  cr_assert_float_eq(c.rate_per_minute, 0.5, 1e-9);
  cr_assert_eq(c.daily_cap, 0);
  cr_assert_str_eq(c.template_batch, "{count} gone");
  cr_assert_str_eq(c.template_single, "{name} gone");
  cr_assert_str_eq(c.spool_dir, "/tmp/sp");
  cr_assert_eq(c.queue_capacity, 16);
  cr_assert_eq(c.retry_max, 0);
  cr_assert_eq(c.timeout_ms, 1);
  cr_assert_eq(c.mechanism, GT_MECH_FINALIZER);
  cr_assert(c.track_age);
  cr_assert_str_eq(gt__config_get(&c, "log.format"), "json");
  gt__config_free(&c);
  gt_options_free(o);
}

Test(config, precedence_file_env_set) {
  char *path = write_ini("[gt]\nsample_every = 2\nbatch_max = 3\n"
                         "group_by = none\n[log]\nformat = json\n");
  setenv("GT_CONFIG", path, 1);
  setenv("GT_BATCH_MAX", "30", 1);
  setenv("GT_LOG_FORMAT", "text", 1);
  gt_options *o = gt_options_new();
  gt_options_set(o, "log.format", "json");
  gt_config c;
  cr_assert_eq(gt__options_build(o, &c), 0, "%s", gt_last_error());
  cr_assert_eq(c.sample_every, 2, "from the file");
  cr_assert_eq(c.batch_max, 30, "environment beats the file");
  cr_assert_eq(c.group_by, GT_GROUP_NONE);
  cr_assert_str_eq(gt__config_get(&c, "log.format"), "json",
                   "gt_options_set beats the environment");
  gt__config_free(&c);
  gt_options_free(o);
  unlink(path);
}

Test(config, options_file_beats_gt_config_file) {
  char *a = write_ini("[gt]\nsample_every = 2\n");
  char pa[64];
  snprintf(pa, sizeof pa, "%s", a);
  rename(a, strcat(pa, ".a"));
  setenv("GT_CONFIG", pa, 1);
  char *b = write_ini("[gt]\nsample_every = 5\n");
  gt_options *o = gt_options_new();
  cr_assert_eq(gt_options_load_file(o, b), 0, "%s", gt_last_error());
  gt_config c;
  cr_assert_eq(gt__options_build(o, &c), 0, "%s", gt_last_error());
  cr_assert_eq(c.sample_every, 5);
  gt__config_free(&c);
  gt_options_free(o);
  unlink(pa);
  unlink(b);
}

static void expect_error(const char *env, const char *value, int code,
                         const char *needle) {
  setenv(env, value, 1);
  gt_config c;
  int rc = gt__options_build(NULL, &c);
  cr_assert_eq(rc, code, "%s=%s gave %d (%s)", env, value, rc, gt_last_error());
  cr_assert(strstr(gt_last_error(), needle), "'%s' not in '%s'", needle,
            gt_last_error());
  unsetenv(env);
}

Test(config, bad_values_fail_naming_the_key) {
  expect_error("GT_SAMPLE_EVERY", "abc", GT_EINVAL, "gt.sample_every");
  expect_error("GT_SAMPLE_EVERY", "0", GT_EINVAL, "out of range");
  expect_error("GT_SAMPLE_EVERY", "-3", GT_EINVAL, "gt.sample_every");
  expect_error("GT_SAMPLE_EVERY", "12x", GT_EINVAL,
               "environment GT_SAMPLE_EVERY");
  expect_error("GT_ALLOC_SAMPLE_EVERY", "0", GT_EINVAL,
               "gt.alloc_sample_every");
  expect_error("GT_BATCH_MAX", "0", GT_EINVAL, "gt.batch_max");
  expect_error("GT_BATCH_WINDOW_MS", "soon", GT_EINVAL, "gt.batch_window_ms");
  expect_error("GT_GROUP_BY", "colour", GT_EINVAL, "gt.group_by");
  expect_error("GT_RATE_PER_MINUTE", "-1", GT_EINVAL, "gt.rate_per_minute");
  expect_error("GT_RATE_PER_MINUTE", "nan", GT_EINVAL, "gt.rate_per_minute");
  expect_error("GT_DAILY_CAP", "lots", GT_EINVAL, "gt.daily_cap");
  expect_error("GT_QUEUE_CAPACITY", "8", GT_EINVAL, "gt.queue_capacity");
  expect_error("GT_RETRY_MAX", "1000", GT_EINVAL, "gt.retry_max");
  expect_error("GT_TIMEOUT_MS", "0", GT_EINVAL, "gt.timeout_ms");
  expect_error("GT_ALLOC_MECHANISM", "magic", GT_EINVAL, "gt.alloc_mechanism");
  expect_error("GT_TRACK_AGE", "perhaps", GT_EINVAL, "gt.track_age");
  expect_error("GT_LOG_FORMAT", "xml", GT_EINVAL, "log.format");
  expect_error("GT_SMS_MAX_SEGMENTS", "11", GT_EINVAL, "sms.max_segments");
  expect_error("GT_SMS_API", "4", GT_EINVAL, "sms.api");
  expect_error("GT_EMAIL_TRANSPORT", "pigeon", GT_EINVAL, "email.transport");
  expect_error("GT_TEMPLATE", "{nope}", GT_EINVAL, "gt.template");
  expect_error("GT_EMAIL_SUBJECT", "a\r\nBcc: x", GT_EINVAL, "email.subject");
}

Test(config, unknown_and_unavailable_backends) {
  expect_error("GT_BACKEND", "pigeon", GT_EINVAL, "unknown backend 'pigeon'");
  expect_error("GT_BACKEND", "log,pigeon", GT_EINVAL, "gt.backend");
  expect_error("GT_BACKEND", ",", GT_EINVAL, "gt.backend");
  expect_error("GT_BACKEND", "log,log", GT_EINVAL, "listed twice");
  expect_error("GT_SMS_PROVIDER", "pigeon", GT_EINVAL, "sms.provider");
  /* Every backend the design knows is built here (a build with fewer is
   * checked by scripts/test.sh: GT_EBACKEND). */
  gt_config c;
  cr_assert_eq(gt__options_build(NULL, &c), 0, "%s", gt_last_error());
#define FOUND(sym, backend)                                                    \
  {                                                                            \
    const gt_backend_ops *ops;                                                 \
    cr_assert_eq(gt__backend_find(&c, backend, &ops), 0, "%s",                 \
                 gt_last_error());                                             \
    cr_assert_str_eq(ops->name, backend);                                      \
  }
  GT_BACKENDS(FOUND)
#undef FOUND
  gt__config_free(&c);
}

Test(config, secrets_are_never_echoed) {
  setenv("GT_SMS_API_KEY", "s3cr3t\nkey", 1);
  gt_config c;
  cr_assert_eq(gt__options_build(NULL, &c), GT_EINVAL);
  cr_assert(strstr(gt_last_error(), "sms.api_key"));
  cr_assert_null(strstr(gt_last_error(), "s3cr3t"));
  unsetenv("GT_SMS_API_KEY");
  cr_assert_eq(gt__options_build(NULL, &c), 0, "%s", gt_last_error());
  cr_assert(gt__config_is_secret(&c, "sms.api_key"));
  cr_assert(gt__config_is_secret(&c, "email.password"));
  cr_assert(gt__config_is_secret(&c, "email.api_key"));
  cr_assert(gt__config_is_secret(&c, "webhook.secret"));
  cr_assert_not(gt__config_is_secret(&c, "sms.to"));
  gt__config_free(&c);
}

Test(config, ini_errors) {
  gt_options *o = gt_options_new();
  char *path = write_ini("[gt]\nsample_every = 3\nsampel_every = 4\n");
  cr_assert_eq(gt_options_load_file(o, path), GT_EINVAL);
  cr_assert(strstr(gt_last_error(), "gt.sampel_every"), "%s", gt_last_error());
  cr_assert(strstr(gt_last_error(), "unknown"));
  path = write_ini("[gt]\nthis line has no equals sign\n");
  cr_assert_eq(gt_options_load_file(o, path), GT_EINVAL);
  cr_assert(strstr(gt_last_error(), "line 2"), "%s", gt_last_error());
  cr_assert_eq(gt_options_load_file(o, "/nonexistent/gt.ini"), GT_EINVAL);
  cr_assert(strstr(gt_last_error(), "/nonexistent/gt.ini"));
  unlink(path);
  gt_options_free(o);
}

/* inih reads a directory as an empty file; a FIFO would block the open. */
Test(config, only_a_regular_file_is_a_configuration_file, .timeout = 10) {
  gt_options *o = gt_options_new();
  cr_assert_eq(gt_options_load_file(o, "/etc"), GT_EINVAL);
  cr_expect(strstr(gt_last_error(), "/etc: not a regular file (a directory)"),
            "%s", gt_last_error());
  char fifo[64];
  snprintf(fifo, sizeof fifo, "/tmp/gt-test-fifo-%d", (int)getpid());
  unlink(fifo); /* left by a crashed run whose pid came back */
  cr_assert_eq(mkfifo(fifo, 0600), 0);
  cr_expect_eq(gt_options_load_file(o, fifo), GT_EINVAL);
  cr_expect(strstr(gt_last_error(), "not a regular file"), "%s",
            gt_last_error());
  setenv("GT_CONFIG", "/etc", 1);
  gt_config c;
  cr_expect_eq(gt__options_build(NULL, &c), GT_EINVAL);
  cr_expect(strstr(gt_last_error(), "/etc: not a regular file"), "%s",
            gt_last_error());
  unlink(fifo);
  gt_options_free(o);
}

static char *spool_dir_with(const char *xdg, const char *home) {
  if (xdg)
    setenv("XDG_STATE_HOME", xdg, 1);
  else
    unsetenv("XDG_STATE_HOME");
  if (home)
    setenv("HOME", home, 1);
  else
    unsetenv("HOME");
  gt_config c;
  cr_assert_eq(gt__options_build(NULL, &c), 0, "%s", gt_last_error());
  char *dir = c.spool_dir ? strdup(c.spool_dir) : NULL;
  gt__config_free(&c);
  return dir;
}

/* XDG base directories: absolute paths only. Without either variable there
 * is no default spool, never one in a shared /tmp. */
Test(config, default_spool_dir) {
  char *d = spool_dir_with("/x/state", "/h");
  cr_expect_str_eq(d, "/x/state/gt");
  free(d);
  d = spool_dir_with(NULL, "/h");
  cr_expect_str_eq(d, "/h/.local/state/gt");
  free(d);
  d = spool_dir_with("relative/state", "/h");
  cr_expect_str_eq(d, "/h/.local/state/gt");
  free(d);
  d = spool_dir_with("", "/h");
  cr_expect_str_eq(d, "/h/.local/state/gt");
  free(d);
  cr_expect_null(spool_dir_with(NULL, NULL));
  cr_expect_null(spool_dir_with(NULL, ""));
  cr_expect_null(spool_dir_with("relative", "also-relative"));
  setenv("GT_SPOOL_DIR", "/set/by/key", 1);
  d = spool_dir_with(NULL, NULL);
  cr_expect_str_eq(d, "/set/by/key");
  free(d);
}

Test(config, gt_config_file_with_unknown_key_fails_build) {
  setenv("GT_CONFIG", write_ini("[pigeon]\nspeed = 3\n"), 1);
  gt_config c;
  cr_assert_eq(gt__options_build(NULL, &c), GT_EINVAL);
  cr_assert(strstr(gt_last_error(), "pigeon.speed"), "%s", gt_last_error());
  unlink(getenv("GT_CONFIG"));
}

Test(config, set_rejects_unknown_key_and_null_resets) {
  gt_options *o = gt_options_new();
  cr_assert_eq(gt_options_set(o, "gt.colour", "blue"), GT_EINVAL);
  cr_assert(strstr(gt_last_error(), "gt.colour"));
  cr_assert_eq(gt_options_set(o, "gt.batch_max", "7"), 0);
  cr_assert_eq(gt_options_set(o, "gt.batch_max", NULL), 0);
  gt_config c;
  cr_assert_eq(gt__options_build(o, &c), 0);
  cr_assert_eq(c.batch_max, 100);
  cr_assert_eq(gt__config_u64(&c, "sms.max_segments", 0, 1, 10, &(uint64_t){0}),
               0);
  gt__config_free(&c);
  gt_options_free(o);
}

Test(config, empty_number_means_default) {
  setenv("GT_BATCH_MAX", "", 1);
  gt_config c;
  cr_assert_eq(gt__options_build(NULL, &c), 0, "%s", gt_last_error());
  cr_assert_eq(c.batch_max, 100);
  gt__config_free(&c);
}
