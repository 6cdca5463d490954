/* The embedded backend: one line per message to a file or stderr, as text
 * or as a JSON object (jansson) with the counts behind the text. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gt_internal.h"

typedef struct log_state {
  FILE *f;
  bool own, json;
  time_t stamp_time; /* the second `stamp` was formatted for */
  char stamp[32];
} log_state;

static int log_open(const gt_config *cfg, void **state) {
  log_state *s = calloc(1, sizeof *s);
  if (!s) return gt__fail(GT_ENOMEM, "out of memory");
  const char *path = gt__config_get(cfg, "log.path");
  const char *fmt = gt__config_get(cfg, "log.format");
  s->json = fmt && strcmp(fmt, "json") == 0;
  if (!path || strcmp(path, "-") == 0) {
    s->f = stderr;
  } else if (!(s->f = fopen(path, "a"))) {
    int e = errno;
    free(s);
    return gt__fail(GT_EINVAL, "log.path: cannot open '%s': %s", path,
                    strerror(e));
  } else {
    s->own = true;
  }
  *state = s;
  return 0;
}

static int log_send(void *state, const gt_message *m, gt_send_result *res) {
  log_state *s = state;
  int rc;
  if (s->json) {
    json_t *owned, *o = json_deep_copy(gt__message_json(m, &owned));
    json_decref(owned);
    json_object_set_new(o, "text", json_string(m->text));
    char *line = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    rc = line ? fprintf(s->f, "%s\n", line) : -1;
    free(line);
  } else {
    time_t t = time(NULL);
    if (t != s->stamp_time) { /* one strftime a second, not a line */
      struct tm tm;
      strftime(s->stamp, sizeof s->stamp, "%Y-%m-%dT%H:%M:%SZ",
               gmtime_r(&t, &tm));
      s->stamp_time = t;
    }
    rc = fprintf(s->f, "%s gt: %s\n", s->stamp, m->text);
  }
  if (rc < 0 || ferror(s->f)) {
    snprintf(res->detail, sizeof res->detail, "log: write failed: %s",
             strerror(errno));
    return -GT_ESEND;
  }
  return 0;
}

/* One write per worker pass instead of one per message. */
static void log_flush(void *state) {
  log_state *s = state;
  if (fflush(s->f) != 0) gt__warn("log: write failed: %s", strerror(errno));
}

static void log_close(void *state) {
  log_state *s = state;
  if (s) fflush(s->f);
  if (s && s->own) fclose(s->f);
  free(s);
}

const gt_backend_ops gt__backend_log = {
    .name = "log",
    .flags = 0,
    .open = log_open,
    .send = log_send,
    .flush = log_flush,
    .close = log_close,
};
