/* GT_* environment variables that name no key: a typo must be loud (one
 * warning naming the variable and the closest key), the variables gt and
 * its tests read for other purposes stay quiet, and no value is printed. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

TestSuite(env, .init = clean_env);

/* What fn wrote to stderr (malloc'd). */
static char *stderr_of(void (*fn)(void)) {
  char path[] = "/tmp/gt-env-err-XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  fflush(stderr);
  int saved = dup(2);
  dup2(fd, 2);
  fn();
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  off_t n = lseek(fd, 0, SEEK_END);
  char *out = calloc(1, (size_t)n + 1);
  cr_assert_eq(pread(fd, out, (size_t)n, 0), n);
  close(fd);
  unlink(path);
  return out;
}

static size_t lines(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

static void warn_env(void) {
  gt__options_warn_env();
}

Test(env, a_typo_names_the_closest_key) {
  setenv("GT_SMS_APIKEY", "value-not-printed", 1);
  char *err = stderr_of(warn_env);
  cr_expect_str_eq(err, "gt: GT_SMS_APIKEY is not a gt setting; did you mean "
                        "GT_SMS_API_KEY (sms.api_key)?\n");
  cr_expect_null(strstr(err, "value-not-printed"));
  free(err);
}

Test(env, every_unknown_variable_gets_one_warning) {
  setenv("GT_SAMPLE_EVRY", "5", 1);      /* GT_SAMPLE_EVERY */
  setenv("GT_GT_BACKEND", "log", 1);     /* GT_BACKEND */
  setenv("GT_LOG_FROMAT", "json", 1);    /* GT_LOG_FORMAT */
  setenv("GT_ZZZZZZZZZZZZZZZZ", "1", 1); /* like nothing */
  char *err = stderr_of(warn_env);
  cr_expect_eq(lines(err), 4, "%s", err);
  cr_expect(strstr(err, "GT_SAMPLE_EVRY is not a gt setting; did you mean "
                        "GT_SAMPLE_EVERY (gt.sample_every)?"),
            "%s", err);
  cr_expect(strstr(err, "did you mean GT_BACKEND (gt.backend)?"), "%s", err);
  cr_expect(strstr(err, "did you mean GT_LOG_FORMAT (log.format)?"), "%s", err);
  cr_expect(strstr(err, "GT_ZZZZZZZZZZZZZZZZ is not a gt setting"), "%s", err);
  cr_expect_null(strstr(err, "GT_ZZZZZZZZZZZZZZZZ is not a gt setting; did"),
                 "%s", err);
  free(err);
  /* Said once: a later gt_init in the same process repeats nothing. */
  err = stderr_of(warn_env);
  cr_expect_str_empty(err);
  free(err);
}

Test(env, keys_and_known_variables_are_quiet) {
  setenv("GT_SAMPLE_EVERY", "5", 1);
  setenv("GT_SMS_API_KEY", "k", 1);
  setenv("GT_CONFIG", "", 1);
  setenv("GT_TEST_ALERTMANAGER", "1", 1);
  setenv("GT_BENCH_OPTS", "x", 1);
  char *err = stderr_of(warn_env);
  cr_expect_str_empty(err);
  free(err);
}

static void init_and_shutdown(void) {
  cr_assert_eq(gt_init(NULL), 0, "%s", gt_last_error());
  gt_shutdown(1000);
}

Test(env, gt_init_warns) {
  char spool[] = "/tmp/gt-env-spool-XXXXXX";
  cr_assert_not_null(mkdtemp(spool));
  setenv("GT_SPOOL_DIR", spool, 1);
  setenv("GT_SMS_APIKEY", "x", 1);
  char *err = stderr_of(init_and_shutdown);
  cr_expect(strstr(err, "gt: GT_SMS_APIKEY is not a gt setting; did you mean "
                        "GT_SMS_API_KEY (sms.api_key)?\n"),
            "%s", err);
  free(err);
  rmdir(spool);
}
