/* `gt run` inside the program: the core's entry point, gt_init at the
 * program's first allocation with the configuration gt run passed down in
 * the environment, and the summary once gt has shut down at exit.
 *
 *   GT_RUN_DEFAULTS  key=value lines: gt run's defaults, below every source
 *   GT_RUN_CONFIG    an INI file (-c), as gt_options_load_file
 *   GT_RUN_OPTIONS   key=value lines (-o), as gt_options_set
 *   GT_RUN_SUMMARY   a directory for the summary (summary.c) */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach/summary.h"
#include "gc/gcctx.h"
#include "lifecycle.h"
#include "options.h"

typedef int set_fn(gt_options *o, const char *key, const char *value);

static int set_default(gt_options *o, const char *key, const char *value) {
  return gt__options_set_default(o, key, value, "gt run's default");
}

/* Each "key=value" line of the variable, given to set. */
static int each_line(gt_options *o, const char *var, set_fn *set) {
  const char *v = getenv(var);
  char *copy = v ? strdup(v) : NULL;
  if (v && !copy) return gt__fail(GT_ENOMEM, "out of memory");
  int rc = 0;
  for (char *save, *l = copy ? strtok_r(copy, "\n", &save) : NULL; l && !rc;
       l = strtok_r(NULL, "\n", &save)) {
    char *eq = strchr(l, '=');
    if (!eq)
      rc = gt__fail(GT_EINVAL, "%s: a line without '=' (key=value)", var);
    else {
      *eq = '\0';
      rc = set(o, l, eq + 1);
    }
  }
  free(copy);
  return rc;
}

/* Where the events go, for the summary: log.path if a log backend is
 * configured (the configuration as gt_init will build it). */
static void note_log(const gt_options *o) {
  gt_config c;
  if (gt__options_build(o, &c) != GT_OK) return;
  bool has_log = false;
  char list[256];
  snprintf(list, sizeof list, "%s", c.backend ? c.backend : "");
  for (char *save, *t = strtok_r(list, ", ", &save); t && !has_log;
       t = strtok_r(NULL, ", ", &save))
    has_log = strcmp(t, "log") == 0;
  gt__attach_summary_log(has_log ? gt__config_get(&c, "log.path") : NULL);
  gt__config_free(&c);
}

static int start(void) {
  gt_options *o = gt_options_new();
  if (!o) return GT_ENOMEM;
  const char *file = getenv("GT_RUN_CONFIG");
  int rc = each_line(o, "GT_RUN_DEFAULTS", set_default);
  if (!rc && file && *file) rc = gt_options_load_file(o, file);
  if (!rc) rc = each_line(o, "GT_RUN_OPTIONS", gt_options_set);
  if (!rc) note_log(o);
  if (!rc) rc = gt_init(o);
  gt_options_free(o);
  if (rc)
    fprintf(stderr, "gt run: not attached: %s\n", gt_last_error());
  else
    gt__at_exit_then(gt__attach_summary);
  return rc;
}

GT_EXTERN const struct gt_attach_table *gt_attach_core(void) {
  return gt__attach_table(start);
}
