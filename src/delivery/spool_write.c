/* Writing the spool: one message per file, atomically. A temporary file,
 * locked while it is written, fsync, rename to a name that does not exist
 * yet, fsync of the directory: nobody ever sees a partial file under a
 * spool name, and replay removes only temporaries nobody holds. Strings
 * that are not UTF-8 are kept with their invalid bytes escaped, so a
 * message is never lost for its bytes. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <unistd.h>

#include "delivery/spool.h"
#include "text.h"

/* ---- UTF-8 -------------------------------------------------------------- */

/* json_string that keeps invalid UTF-8 as \xHH instead of failing. */
json_t *gt__spool_jstr(const char *s) {
  json_t *j = json_string(s);
  if (j) return j;
  size_t n;
  char *r = gt__text_utf8n(s, strlen(s), &n);
  if (r) j = json_stringn(r, n);
  free(r);
  return j;
}

/* A copy of j in which every string and key is valid UTF-8; for batches
 * built with jansson's unchecked setters. NULL only when out of memory. */
static json_t *repair_tree(json_t *j) {
  json_t *out = NULL, *v;
  const char *key;
  size_t i, n;
  char *r;
  switch (json_typeof(j)) {
  case JSON_STRING:
    r = gt__text_utf8n(json_string_value(j), json_string_length(j), &n);
    if (r) out = json_stringn(r, n);
    free(r);
    return out;
  case JSON_OBJECT:
    out = json_object();
    json_object_foreach(j, key, v) {
      r = gt__text_utf8n(key, strlen(key), NULL);
      json_t *c = repair_tree(v);
      int rc = r && c ? json_object_set_new(out, r, c) : (json_decref(c), -1);
      free(r);
      if (rc) return json_decref(out), NULL;
    }
    return out;
  case JSON_ARRAY:
    out = json_array();
    json_array_foreach(j, i, v) {
      if (json_array_append_new(out, repair_tree(v)))
        return json_decref(out), NULL;
    }
    return out;
  default:
    return json_incref(j);
  }
}

/* ---- files -------------------------------------------------------------- */

static _Atomic unsigned seq;
static pthread_once_t seq_once = PTHREAD_ONCE_INIT;

/* Names carry the pid, but pids repeat across PID namespaces: a random
 * start makes a clash unlikely, and a clash is refused, never overwritten. */
static void seed_seq(void) {
  unsigned r = 0;
  if (getrandom(&r, sizeof r, GRND_NONBLOCK) != sizeof r)
    r = (unsigned)gt__wall_ms() ^ (unsigned)getpid() << 16;
  atomic_store(&seq, r & 0x7fffffff);
}

static unsigned next_seq(void) {
  pthread_once(&seq_once, seed_seq);
  return atomic_fetch_add(&seq, 1) & 0x7fffffff;
}

/* A new temporary file, locked: replay removes only temporaries nobody
 * holds. If a replay removed it between our open and our lock, take
 * another name. Returns the descriptor, or -1 with errno. */
static int tmp_create(int dfd, char *name, size_t n) {
  for (int tries = 0; tries < 8; tries++) {
    snprintf(name, n, GT_SPOOL_TMP "%d.%u", (int)getpid(), next_seq());
    int fd = openat(dfd, name,
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) continue;
    if (fd < 0) return -1;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0 && gt__spool_same_file(dfd, name, fd))
      return fd;
    close(fd);
  }
  errno = EEXIST;
  return -1;
}

static int write_all(int fd, const char *p, size_t len) {
  while (len) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return w == 0 ? (errno = EIO, -1) : -1;
    p += w, len -= (size_t)w;
  }
  return 0;
}

/* rename without replacing: a name that exists belongs to another message. */
static int rename_new(int dfd, const char *from, const char *to) {
  if (renameat2(dfd, from, dfd, to, RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return -1;
  return renameat(dfd, from, dfd, to); /* the file system cannot refuse */
}

/* Writes body to a file named by name_fn (called again if the name is
 * taken), atomically: nobody ever sees a partial file under that name. */
typedef void (*name_fn)(char *buf, size_t n, const void *arg);
static int put_file(int dfd, const char *body, size_t len, name_fn name,
                    const void *arg, bool replace) {
  char tmp[64], final[NAME_MAX + 1];
  int fd = tmp_create(dfd, tmp, sizeof tmp);
  if (fd < 0) return -1;
  int rc = write_all(fd, body, len) == 0 && fsync(fd) == 0 ? 0 : -1;
  for (int tries = 0; rc == 0; tries++) {
    name(final, sizeof final, arg);
    if ((replace ? renameat(dfd, tmp, dfd, final)
                 : rename_new(dfd, tmp, final)) == 0)
      break;
    if (errno != EEXIST || tries == 7) rc = -1;
  }
  int err = errno;
  if (rc != 0) unlinkat(dfd, tmp, 0);
  close(fd); /* after the rename: the lock covers the whole write */
  if (rc == 0) fsync(dfd);
  errno = err;
  return rc;
}

static void message_name(char *buf, size_t n, const void *backend) {
  /* Names sort by time, so replay keeps the order of the messages. */
  snprintf(buf, n, "%013lld.%d.%u.%s" GT_SPOOL_SUFFIX, (long long)gt__wall_ms(),
           (int)getpid(), next_seq(), (const char *)backend);
}

static void fixed_name(char *buf, size_t n, const void *name) {
  snprintf(buf, n, "%s", (const char *)name);
}

int gt__spool_put(int dfd, const char *name, const char *body) {
  return put_file(dfd, body, strlen(body), fixed_name, name, true);
}

/* Every field set, every string valid UTF-8, or NULL (out of memory). */
static char *message_body(const char *backend, const char *text, json_t *batch,
                          const char *reason) {
  json_t *o = json_object();
  if (!o) return NULL;
  int bad = json_object_set_new(o, "v", json_integer(1));
  bad |= json_object_set_new(o, "backend", gt__spool_jstr(backend));
  bad |= json_object_set_new(o, "text", gt__spool_jstr(text ? text : ""));
  bad |= json_object_set(o, "batch", batch ? batch : json_null());
  bad |= json_object_set_new(o, "reason", gt__spool_jstr(reason ? reason : ""));
  bad |= json_object_set_new(o, "spooled_ms", json_integer(gt__wall_ms()));
  char *body = bad ? NULL : json_dumps(o, JSON_COMPACT);
  if (!bad && !body && batch) {
    /* The batch holds a string jansson refuses to write (built with an
     * unchecked setter): keep the message with those bytes escaped. */
    json_t *fixed = repair_tree(batch);
    if (fixed && json_object_set_new(o, "batch", fixed) == 0)
      body = json_dumps(o, JSON_COMPACT);
  }
  json_decref(o);
  return body;
}

int gt__spool_write(const char *dir, const char *backend, const char *text,
                    struct json_t *batch, const char *reason) {
  if (!backend || !*backend || strchr(backend, '/'))
    return gt__fail(GT_EINVAL, "spool: bad backend name");
  char *body = message_body(backend, text, batch, reason);
  if (!body) return gt__fail(GT_ENOMEM, "out of memory spooling a message");
  size_t len = strlen(body);
  if (len > GT_SPOOL_MAX) {
    free(body);
    return gt__fail(GT_EIO,
                    "gt.spool_dir: a message of %zu bytes is over "
                    "the spool's limit of %u MiB",
                    len, GT_SPOOL_MAX >> 20);
  }
  int dfd = gt__spool_open_dir(dir, NULL);
  if (dfd < 0) {
    free(body);
    return dfd;
  }
  int rc = put_file(dfd, body, len, message_name, backend, false);
  int err = errno;
  close(dfd);
  free(body);
  if (rc != 0)
    return gt__fail(GT_EIO, "gt.spool_dir: cannot write a message in '%s': %s",
                    dir, strerror(err));
  return 0;
}
