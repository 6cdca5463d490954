/* The spool: undelivered messages as one JSON file each in gt.spool_dir.
 *
 * Writes are atomic (temporary file, fsync, rename, fsync of the directory)
 * so a crash leaves either a whole message or a stray temporary file that
 * replay ignores and removes. A replaying process claims a file by renaming
 * it first, so two processes sharing a spool never deliver it twice; the
 * claims of a process that died are released by the next replay. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gt_internal.h"

#define SUFFIX ".msg"
#define CLAIM ".claim."

static _Atomic unsigned seq;

int gt__spool_prepare(const char *dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s", dir);
  for (char *p = path + 1; *p; p++) { /* mkdir -p, each level 0700 */
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
      return gt__fail(GT_EIO, "gt.spool_dir: cannot create '%s': %s", path,
                      strerror(errno));
    *p = '/';
  }
  if (mkdir(path, 0700) != 0 && errno != EEXIST)
    return gt__fail(GT_EIO, "gt.spool_dir: cannot create '%s': %s", path,
                    strerror(errno));
  if (access(path, W_OK | X_OK) != 0)
    return gt__fail(GT_EIO, "gt.spool_dir: '%s' is not writable: %s", path,
                    strerror(errno));
  return 0;
}

static int sync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return -1;
  int rc = fsync(fd);
  close(fd);
  return rc;
}

int gt__spool_write(const char *dir, const char *backend, const char *text,
                    struct json_t *batch, const char *reason) {
  json_t *o = json_object();
  json_object_set_new(o, "v", json_integer(1));
  json_object_set_new(o, "backend", json_string(backend));
  json_object_set_new(o, "text", json_string(text ? text : ""));
  json_object_set(o, "batch", batch ? batch : json_null());
  json_object_set_new(o, "reason", json_string(reason ? reason : ""));
  json_object_set_new(o, "spooled_ms", json_integer(gt__wall_ms()));
  char *body = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  if (!body) return gt__fail(GT_ENOMEM, "out of memory spooling a message");

  unsigned n = atomic_fetch_add(&seq, 1);
  char tmp[4200], final[4200];
  snprintf(tmp, sizeof tmp, "%s/.tmp.%d.%u", dir, (int)getpid(), n);
  /* Names sort by time, so replay keeps the order of the messages. */
  snprintf(final, sizeof final, "%s/%013lld.%d.%u.%s" SUFFIX, dir,
           (long long)gt__wall_ms(), (int)getpid(), n, backend);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  size_t len = strlen(body), off = 0;
  int rc = fd < 0 ? -1 : 0;
  while (rc == 0 && off < len) {
    ssize_t w = write(fd, body + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0)
      rc = -1;
    else
      off += (size_t)w;
  }
  int err = errno;
  if (fd >= 0 && (fsync(fd) != 0 || close(fd) != 0) && rc == 0)
    rc = -1, err = errno;
  if (rc == 0 && rename(tmp, final) != 0) rc = -1, err = errno;
  free(body);
  if (rc != 0) {
    unlink(tmp);
    return gt__fail(GT_EIO, "gt.spool_dir: cannot write a message: %s",
                    strerror(err));
  }
  sync_dir(dir);
  return 0;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Claims of processes that no longer exist go back to the pool; stray
 * temporaries of dead writers are removed. */
static void tidy(const char *dir, const char *name) {
  char path[4200], back[4200];
  const char *claim = strstr(name, CLAIM);
  int pid = 0;
  if (claim)
    pid = atoi(claim + strlen(CLAIM));
  else if (strncmp(name, ".tmp.", 5) == 0)
    pid = atoi(name + 5);
  else
    return;
  if (pid <= 0 || pid == getpid() || (kill(pid, 0) != 0 && errno == ESRCH)) {
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (claim) {
      snprintf(back, sizeof back, "%s/%.*s", dir, (int)(claim - name), name);
      rename(path, back);
    } else if (pid != getpid()) {
      unlink(path);
    }
  }
}

static char **list(const char *dir, size_t *n) {
  DIR *d = opendir(dir);
  *n = 0;
  if (!d) return NULL;
  size_t cap = 0;
  char **names = NULL;
  for (struct dirent *e; (e = readdir(d));) {
    size_t len = strlen(e->d_name);
    if (e->d_name[0] == '.' || strstr(e->d_name, CLAIM)) {
      tidy(dir, e->d_name);
      continue;
    }
    if (len <= strlen(SUFFIX) ||
        strcmp(e->d_name + len - strlen(SUFFIX), SUFFIX))
      continue;
    if (*n == cap) {
      cap = cap ? cap * 2 : 16;
      char **m = realloc(names, cap * sizeof *m);
      if (!m) break;
      names = m;
    }
    if (!(names[*n] = strdup(e->d_name))) break;
    (*n)++;
  }
  closedir(d);
  if (*n > 1) qsort(names, *n, sizeof *names, by_name);
  return names;
}

static void set_aside(const char *path, const char *why, const char *tag) {
  char dest[4300];
  snprintf(dest, sizeof dest, "%s.%s", path, tag);
  rename(path, dest);
  gt__warn("spool: %s set aside as %s: %s", path, dest, why);
}

static void free_list(char **names, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
}

size_t gt__spool_replay(const char *dir, gt_spool_fn fn, void *ud) {
  size_t n, done = 0;
  /* A first pass releases the claims of dead processes: a file renamed
   * while readdir runs may be missed by it, and would otherwise wait for
   * the next replay (30 s, or the next start). */
  char **names = list(dir, &n);
  free_list(names, n);
  names = list(dir, &n);
  for (size_t i = 0; i < n; i++) {
    char path[4200], claimed[4300];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    snprintf(claimed, sizeof claimed, "%s" CLAIM "%d", path, (int)getpid());
    if (rename(path, claimed) != 0) continue; /* another process took it */
    json_error_t err;
    json_t *o = json_load_file(claimed, 0, &err);
    const char *backend = json_string_value(json_object_get(o, "backend"));
    const char *text = json_string_value(json_object_get(o, "text"));
    json_t *batch = json_object_get(o, "batch");
    if (!o || !backend || !text || !json_is_object(batch)) {
      rename(claimed, path);
      set_aside(path, o ? "not a spooled message" : err.text, "corrupt");
      json_decref(o);
      continue;
    }
    enum gt_spool_verdict v = fn(backend, text, batch, ud);
    json_decref(o);
    if (v == GT_SPOOL_DELIVERED) {
      unlink(claimed);
      done++;
      continue;
    }
    rename(claimed, path);
    if (v == GT_SPOOL_REJECTED)
      set_aside(path, "the server refused it permanently", "rejected");
    if (v == GT_SPOOL_STOP) break;
  }
  free_list(names, n);
  if (done) sync_dir(dir);
  return done;
}

size_t gt__spool_count(const char *dir) {
  size_t n;
  char **names = list(dir, &n);
  free_list(names, n);
  return n;
}
