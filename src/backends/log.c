/* The embedded backend: one line per message to a file or stderr, as text
 * or as a JSON object (jansson) with the counts behind the text; a JSON
 * log ends with the run's totals and live objects (exit.h).
 *
 * Each message is one write(2) of one whole line from a buffer kept in the
 * state: the line is formatted once, nothing is buffered by stdio, so a
 * failed write (a full disk, /dev/full) fails the message whose line it was
 * instead of being found at some later flush and only warned about. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "delivery/backend.h"
#include "text.h"

typedef struct log_state {
  int fd;
  bool own, json;
  time_t stamp_time; /* the second `stamp` was formatted for */
  char stamp[32];
  char *line; /* the line being written, reused */
  size_t cap;
} log_state;

static int log_open(const gt_config *cfg, void **state) {
  log_state *s = calloc(1, sizeof *s);
  if (!s) return gt__fail(GT_ENOMEM, "out of memory");
  const char *path = gt__config_get(cfg, "log.path");
  const char *fmt = gt__config_get(cfg, "log.format");
  s->json = fmt && strcmp(fmt, "json") == 0;
  s->stamp_time = (time_t)-1;
  if (!path || strcmp(path, "-") == 0) {
    s->fd = STDERR_FILENO;
  } else {
    /* O_NONBLOCK: a FIFO nobody reads fails here (ENXIO), and a full pipe
     * fails a write, instead of stopping the worker for good. */
    s->fd = open(
        path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
        0666);
    if (s->fd < 0) {
      int e = errno;
      free(s);
      return gt__fail(GT_EINVAL, "log.path: cannot open '%s': %s", path,
                      strerror(e));
    }
    s->own = true;
  }
  *state = s;
  return 0;
}

static bool reserve(log_state *s, size_t n) {
  if (n <= s->cap) return true;
  size_t cap = s->cap ? s->cap : 256;
  while (cap < n)
    cap *= 2;
  char *l = realloc(s->line, cap);
  if (!l) return false;
  s->line = l;
  s->cap = cap;
  return true;
}

/* "<stamp> gt: <text>\n", the text escaped to one printable line. */
static size_t text_line(log_state *s, const char *text) {
  time_t t = time(NULL);
  if (t != s->stamp_time) { /* one strftime a second, not a line */
    struct tm tm;
    strftime(s->stamp, sizeof s->stamp, "%Y-%m-%dT%H:%M:%SZ",
             gmtime_r(&t, &tm));
    s->stamp_time = t;
  }
  size_t ns = strlen(s->stamp), tl = strlen(text ? text : "");
  if (!reserve(s, ns + 5 + GT_TEXT_LINE_MAX(tl) + 1)) return 0;
  memcpy(s->line, s->stamp, ns);
  memcpy(s->line + ns, " gt: ", 5);
  size_t n = ns + 5 + gt__text_line_put(s->line + ns + 5, text);
  s->line[n++] = '\n';
  return n;
}

/* o as one compact line in s->line; its length, 0 when out of memory. */
static size_t dump_line(log_state *s, const json_t *o) {
  size_t n = json_dumpb(o, s->line, s->cap, JSON_COMPACT);
  if (n && n + 1 > s->cap) /* did not fit: grow, dump again */
    n = reserve(s, n + 1) ? json_dumpb(o, s->line, s->cap, JSON_COMPACT) : 0;
  if (n) s->line[n++] = '\n';
  return n;
}

/* The batch JSON plus "text"; jansson escapes control characters. */
static size_t json_line(log_state *s, const gt_message *m) {
  json_t *owned, *o = json_deep_copy(gt__message_json(m, &owned));
  json_decref(owned);
  char *text = gt__text_utf8(m->text); /* jansson refuses bad UTF-8 */
  size_t n = 0;
  if (o && text && json_object_set_new(o, "text", json_string(text)) == 0)
    n = dump_line(s, o);
  json_decref(o);
  free(text);
  return n;
}

/* Writes the n bytes of s->line; 0 or the errno. */
static int write_line(log_state *s, size_t n) {
  for (size_t off = 0; off < n;) {
    ssize_t w = write(s->fd, s->line + off, n - off);
    if (w > 0) {
      off += (size_t)w;
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    return w < 0 ? errno : EIO;
  }
  return 0;
}

static int log_send(void *state, const gt_message *m, gt_send_result *res) {
  log_state *s = state;
  res->retryable = false;
  res->auth_failed = false;
  res->retry_after_ms = -1;
  size_t n = s->json ? json_line(s, m) : text_line(s, m->text);
  if (!n) {
    res->retryable = true;
    snprintf(res->detail, sizeof res->detail,
             "log: out of memory formatting the line");
    return gt__fail(GT_ESEND, "%s", res->detail);
  }
  int e = write_line(s, n);
  if (!e) return 0;
  /* A full pipe or disk is a condition that passes: retried, then
   * spooled and replayed later (never set aside as refused). Delivery
   * runs in its own thread, so retries never hold the program. */
  res->retryable = e == EAGAIN || e == ENOSPC || e == EDQUOT || e == EIO;
  snprintf(res->detail, sizeof res->detail, "log: write failed: %s",
           strerror(e));
  return gt__fail(GT_ESEND, "%s", res->detail);
}

/* A JSON log ends with the run's totals and what was live (exit.h), for
 * gt report; a text log, read by people, does not. */
static void log_at_exit(void *state, json_t *summary) {
  log_state *s = state;
  size_t n = s->json ? dump_line(s, summary) : 0;
  int e = n ? write_line(s, n) : 0;
  if (e) gt__warn("log: writing the exit line failed: %s", strerror(e));
}

static void log_close(void *state) {
  log_state *s = state;
  if (!s) return;
  if (s->own) close(s->fd);
  free(s->line);
  free(s);
}

static const gt_key_def log_keys[] = {
    {"log.path", GT_KEY_STR, "-", NULL, 0, 0},
    {"log.format", GT_KEY_ENUM, "text", "text|json", 0, 0},
};

const gt_backend_ops gt__backend_log = {
    .name = "log",
    .keys = GT_KEYS(log_keys),
    .flags = 0,
    .open = log_open,
    .send = log_send,
    .at_exit = log_at_exit,
    .close = log_close,
};
