/* The spool: undelivered messages as one JSON file each in gt.spool_dir.
 *
 * Trust. gt sends what the spool holds with its own credentials, so the
 * directory is treated like ssh treats ~/.ssh: it must be a real directory
 * (not a symlink) owned by the effective uid and writable by nobody else,
 * and nobody else may be able to rename it away either (every directory on
 * its path is ours or root's, and writable by others only if sticky). It is
 * checked again each time it is opened. Only regular files owned by the
 * effective uid are read, through a descriptor opened without following a
 * symlink and without blocking, and never more than SPOOL_MAX bytes; any
 * other *.msg (FIFO, socket, device, symlink, another user's file) is
 * renamed aside as *.unsafe, with one warning, and never opened.
 *
 * Writes are atomic: a temporary file, locked while it is written, fsync,
 * rename to a name that does not exist yet, fsync of the directory.
 *
 * Claims are flock()s on the open file. The lock belongs to the kernel's
 * open file, not to a pid, so it means the same thing in every PID namespace
 * and dies with its holder: no claim ever needs releasing. A replayer locks a
 * file, checks that its name still leads to it (it may have been delivered
 * and removed between the directory listing and the lock), offers it, and
 * removes it while still holding the lock, so a file is delivered once.
 *
 * Set-aside files stay, with their reason, until someone removes them:
 * "*.rejected" (refused permanently; the message's JSON plus a "set_aside"
 * object), "*.corrupt" (the bytes as found) with "*.corrupt.why" (a small
 * JSON sidecar), "*.unsafe" (never read). gt__spool_list shows them all. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "delivery/spool.h"
#include "text.h"

#define SUFFIX ".msg"
#define CLAIM ".claim." /* claims by rename, before flock: still recovered */
#define TMP ".tmp."
#define REJECTED ".rejected"
#define CORRUPT ".corrupt"
#define WHY ".why" /* after CORRUPT: the sidecar with the reason */
#define UNSAFE ".unsafe"
#define SPOOL_MAX (16u << 20)  /* bytes; bigger files are never read whole */
#define TMP_STALE_S 60         /* an unlocked temporary this old is debris */
#define OLD_CLAIM_STALE_S 3600 /* no old-style replayer held a claim longer */
#define REJECT_DEFAULT "the server refused it permanently"

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n > m && strcmp(s + n - m, suffix) == 0;
}

/* ---- UTF-8 -------------------------------------------------------------- */

/* json_string that keeps invalid UTF-8 as \xHH instead of failing. */
static json_t *jstr(const char *s) {
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

/* ---- the directory ------------------------------------------------------ */

/* Why the spool directory itself cannot be trusted, or NULL. */
static const char *unsafe_spool(const struct stat *st, char *buf, size_t n) {
  if (S_ISLNK(st->st_mode))
    return "it is a symbolic link; use the directory itself";
  if (!S_ISDIR(st->st_mode)) return NULL; /* unusable, not unsafe */
  if (st->st_uid != geteuid())
    snprintf(buf, n, "it is owned by uid %u, not by this process's uid %u",
             (unsigned)st->st_uid, (unsigned)geteuid());
  else if (st->st_mode & (S_IWGRP | S_IWOTH))
    snprintf(buf, n,
             "it is writable by %s (mode %04o); another user could plant "
             "messages that gt would send: chmod 700 it",
             (st->st_mode & S_IWOTH) ? "others" : "its group",
             (unsigned)(st->st_mode & 07777));
  else
    return NULL;
  return buf;
}

/* Why a directory or symlink on the path to the spool lets another user
 * replace the spool, or NULL. Root's are fine (root can do anything); so is
 * a sticky directory (/tmp): others cannot rename what is ours in it. */
static const char *unsafe_parent(const struct stat *st, char *buf, size_t n) {
  uid_t me = geteuid();
  if (st->st_uid != me && st->st_uid != 0)
    snprintf(buf, n,
             "it is owned by uid %u (neither this process's uid %u "
             "nor root)",
             (unsigned)st->st_uid, (unsigned)me);
  else if (S_ISDIR(st->st_mode) && (st->st_mode & (S_IWGRP | S_IWOTH)) &&
           !(st->st_mode & S_ISVTX))
    snprintf(buf, n,
             "it is writable by %s without the sticky bit (mode %04o), so "
             "another user could replace the spool",
             (st->st_mode & S_IWOTH) ? "others" : "its group",
             (unsigned)(st->st_mode & 07777));
  else
    return NULL;
  return buf;
}

/* One level of the path as written: created 0700 if missing, then checked
 * before anything is created below it. */
static int prepare_level(const char *dir, const char *path, bool last) {
  struct stat st;
  char why[200];
  const char *bad;
  if (lstat(path, &st) != 0) {
    if (errno != ENOENT)
      return gt__fail(GT_EIO, "gt.spool_dir: cannot use '%s': %s", path,
                      strerror(errno));
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
      return gt__fail(GT_EIO, "gt.spool_dir: cannot create '%s': %s", path,
                      strerror(errno));
    if (lstat(path, &st) != 0)
      return gt__fail(GT_EIO, "gt.spool_dir: cannot use '%s': %s", path,
                      strerror(errno));
  }
  if (last && (bad = unsafe_spool(&st, why, sizeof why)))
    return gt__fail(GT_EINVAL, "gt.spool_dir: refusing '%s': %s", dir, bad);
  if (!last && (bad = unsafe_parent(&st, why, sizeof why)))
    return gt__fail(GT_EINVAL,
                    "gt.spool_dir: refusing '%s': '%s' on its path: %s", dir,
                    path, bad);
  if (!S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode))
    return gt__fail(GT_EIO,
                    "gt.spool_dir: cannot use '%s': '%s' is not a directory",
                    dir, path);
  return 0;
}

/* The directories the path resolves through (symlinks on the written path
 * may lead elsewhere): each must pass the parent rule too. */
static int check_resolved(const char *dir) {
  char *real = realpath(dir, NULL), why[200];
  if (!real)
    return gt__fail(GT_EIO, "gt.spool_dir: cannot use '%s': %s", dir,
                    strerror(errno));
  int rc = 0;
  for (char *slash; rc == 0 && (slash = strrchr(real, '/'));) {
    if (slash == real)
      slash[1] = 0; /* the root directory */
    else
      *slash = 0;
    struct stat st;
    const char *bad;
    if (stat(real, &st) != 0)
      rc = gt__fail(GT_EIO, "gt.spool_dir: cannot use '%s': %s", real,
                    strerror(errno));
    else if ((bad = unsafe_parent(&st, why, sizeof why)))
      rc = gt__fail(GT_EINVAL,
                    "gt.spool_dir: refusing '%s': '%s' on its path: %s", dir,
                    real, bad);
    if (strcmp(real, "/") == 0) break;
  }
  free(real);
  return rc;
}

int gt__spool_prepare(const char *dir) {
  char path[PATH_MAX];
  size_t len = dir ? strlen(dir) : 0;
  if (len == 0) return gt__fail(GT_EINVAL, "gt.spool_dir: empty path");
  if (len >= sizeof path)
    return gt__fail(GT_EINVAL, "gt.spool_dir: path too long");
  memcpy(path, dir, len + 1);
  while (len > 1 && path[len - 1] == '/') /* "a/b/" is "a/b" */
    path[--len] = 0;
  for (char *p = path + 1;; p++) { /* each level, top down */
    if (*p && *p != '/') continue;
    char c = *p;
    *p = 0;
    int rc = p[-1] == '/' ? 0 : prepare_level(dir, path, c == 0);
    *p = c;
    if (rc) return rc;
    if (!c) break;
  }
  int rc = check_resolved(path);
  if (rc) return rc;
  if (faccessat(AT_FDCWD, path, W_OK | X_OK, AT_EACCESS) != 0)
    return gt__fail(GT_EIO, "gt.spool_dir: '%s' is not writable: %s", dir,
                    strerror(errno));
  return 0;
}

/* The spool directory, opened without following a symlink and checked
 * again: it may have changed hands since gt__spool_prepare. Returns a
 * descriptor or GT_E*; *missing tells a directory that does not exist. */
static int open_dir(const char *dir, bool *missing) {
  char why[200];
  const char *bad;
  struct stat st;
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int err = errno;
  if (missing) *missing = fd < 0 && err == ENOENT;
  /* O_NOFOLLOW|O_DIRECTORY on a symlink fails with ELOOP or ENOTDIR */
  if (fd < 0 && (err == ELOOP || err == ENOTDIR) && lstat(dir, &st) == 0 &&
      S_ISLNK(st.st_mode))
    return gt__fail(GT_EINVAL,
                    "gt.spool_dir: refusing '%s': it is a "
                    "symbolic link; use the directory itself",
                    dir);
  if (fd < 0)
    return gt__fail(GT_EIO, "gt.spool_dir: cannot open '%s': %s", dir,
                    strerror(err));
  if (fstat(fd, &st) != 0) {
    close(fd);
    return gt__fail(GT_EIO, "gt.spool_dir: cannot open '%s': %s", dir,
                    strerror(errno));
  }
  if ((bad = unsafe_spool(&st, why, sizeof why))) {
    close(fd);
    return gt__fail(GT_EINVAL, "gt.spool_dir: refusing '%s': %s", dir, bad);
  }
  return fd;
}

/* ---- writing ------------------------------------------------------------ */

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

static bool same_file(int dfd, const char *name, int fd) {
  struct stat a, b;
  return fstat(fd, &a) == 0 && a.st_nlink > 0 &&
         fstatat(dfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
         a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* A new temporary file, locked: replay removes only temporaries nobody
 * holds. If a replay removed it between our open and our lock, take
 * another name. Returns the descriptor, or -1 with errno. */
static int tmp_create(int dfd, char *name, size_t n) {
  for (int tries = 0; tries < 8; tries++) {
    snprintf(name, n, TMP "%d.%u", (int)getpid(), next_seq());
    int fd = openat(dfd, name,
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) continue;
    if (fd < 0) return -1;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0 && same_file(dfd, name, fd))
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
  snprintf(buf, n, "%013lld.%d.%u.%s" SUFFIX, (long long)gt__wall_ms(),
           (int)getpid(), next_seq(), (const char *)backend);
}

static void fixed_name(char *buf, size_t n, const void *name) {
  snprintf(buf, n, "%s", (const char *)name);
}

/* Every field set, every string valid UTF-8, or NULL (out of memory). */
static char *message_body(const char *backend, const char *text, json_t *batch,
                          const char *reason) {
  json_t *o = json_object();
  if (!o) return NULL;
  int bad = json_object_set_new(o, "v", json_integer(1));
  bad |= json_object_set_new(o, "backend", jstr(backend));
  bad |= json_object_set_new(o, "text", jstr(text ? text : ""));
  bad |= json_object_set(o, "batch", batch ? batch : json_null());
  bad |= json_object_set_new(o, "reason", jstr(reason ? reason : ""));
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
  if (len > SPOOL_MAX) {
    free(body);
    return gt__fail(GT_EIO,
                    "gt.spool_dir: a message of %zu bytes is over "
                    "the spool's limit of %u MiB",
                    len, SPOOL_MAX >> 20);
  }
  int dfd = open_dir(dir, NULL);
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

/* ---- reading ------------------------------------------------------------ */

typedef struct names {
  char **v;
  size_t n;
} names;

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_free(names *l) {
  for (size_t i = 0; i < l->n; i++)
    free(l->v[i]);
  free(l->v);
}

/* Every entry but "." and "..", sorted (oldest message first). */
static names list_names(int dfd) {
  names l = {0};
  int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
  DIR *d = fd < 0 ? NULL : fdopendir(fd);
  if (!d) {
    if (fd >= 0) close(fd);
    return l;
  }
  size_t cap = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if (l.n == cap) {
      char **m = realloc(l.v, (cap = cap ? cap * 2 : 16) * sizeof *m);
      if (!m) break;
      l.v = m;
    }
    if (!(l.v[l.n] = strdup(e->d_name))) break;
    l.n++;
  }
  closedir(d);
  if (l.n > 1) qsort(l.v, l.n, sizeof *l.v, by_name);
  return l;
}

enum kind {
  K_MSG,
  K_OLD_CLAIM,
  K_TMP,
  K_REJECTED,
  K_CORRUPT,
  K_WHY,
  K_UNSAFE,
  K_OTHER
};

static enum kind kind_of(const char *name) {
  if (strncmp(name, TMP, strlen(TMP)) == 0) return K_TMP;
  if (ends_with(name, SUFFIX)) return K_MSG;
  const char *c = strstr(name, SUFFIX CLAIM);
  if (c && c[strlen(SUFFIX CLAIM)]) return K_OLD_CLAIM;
  if (ends_with(name, SUFFIX REJECTED)) return K_REJECTED;
  if (ends_with(name, SUFFIX CORRUPT)) return K_CORRUPT;
  if (ends_with(name, SUFFIX CORRUPT WHY)) return K_WHY;
  if (ends_with(name, SUFFIX UNSAFE)) return K_UNSAFE;
  return K_OTHER;
}

/* A message's name without an old-style claim suffix, plus `tag`. */
static void aside_name(char *buf, size_t n, const char *name, const char *tag) {
  const char *c = strstr(name, SUFFIX CLAIM);
  int len = c ? (int)(c - name + strlen(SUFFIX)) : (int)strlen(name);
  snprintf(buf, n, "%.*s%s", len, name, tag);
}

/* Why an entry is never read, or NULL: only our own regular files are. */
static const char *not_ours(const struct stat *st, char *buf, size_t n) {
  const char *what = S_ISLNK(st->st_mode)    ? "a symbolic link"
                     : S_ISFIFO(st->st_mode) ? "a FIFO"
                     : S_ISSOCK(st->st_mode) ? "a socket"
                     : S_ISCHR(st->st_mode)  ? "a character device"
                     : S_ISBLK(st->st_mode)  ? "a block device"
                     : S_ISDIR(st->st_mode)  ? "a directory"
                                             : NULL;
  if (what)
    snprintf(buf, n, "%s, not a regular file: never read", what);
  else if (st->st_uid != geteuid())
    snprintf(buf, n,
             "owned by uid %u, not by this process's uid %u: never "
             "read",
             (unsigned)st->st_uid, (unsigned)geteuid());
  else
    return NULL;
  return buf;
}

/* Opens an entry for reading if it is one of our regular files: never
 * through a symlink, never blocking. Returns -1 with *why set otherwise. */
static int open_entry(int dfd, const char *name, struct stat *st, char *why,
                      size_t n) {
  *why = 0;
  if (fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) != 0) return -1;
  if (not_ours(st, why, n)) return -1; /* not even opened */
  int fd = openat(dfd, name,
                  O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ELOOP) snprintf(why, n, "a symbolic link: never read");
    return -1;
  }
  if (fstat(fd, st) != 0 || not_ours(st, why, n)) { /* swapped meanwhile */
    close(fd);
    return -1;
  }
  return fd;
}

/* The file's JSON, or NULL with the reason in why; an empty reason means
 * out of memory (try again later, the file is not at fault). Reads at most
 * SPOOL_MAX bytes from the checked descriptor. */
static json_t *read_json(int fd, const struct stat *st, char *why, size_t n) {
  if (st->st_size > (off_t)SPOOL_MAX) {
    snprintf(why, n, "%lld bytes, over the spool's limit of %u MiB: not read",
             (long long)st->st_size, SPOOL_MAX >> 20);
    return NULL;
  }
  size_t cap = (size_t)st->st_size + 1, len = 0;
  char *buf = malloc(cap);
  if (!buf) {
    *why = 0;
    return NULL;
  }
  for (;;) {
    ssize_t r = read(fd, buf + len, cap - len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      snprintf(why, n, "cannot read it: %s", strerror(errno));
      free(buf);
      return NULL;
    }
    if (r == 0) break;
    len += (size_t)r;
    if (len == cap) { /* it grew since fstat: never beyond the limit */
      if (cap > SPOOL_MAX) {
        snprintf(why, n, "over the spool's limit of %u MiB: not read",
                 SPOOL_MAX >> 20);
        free(buf);
        return NULL;
      }
      size_t more = cap * 2 > SPOOL_MAX + 1 ? SPOOL_MAX + 1 : cap * 2;
      char *m = realloc(buf, more);
      if (!m) {
        *why = 0;
        free(buf);
        return NULL;
      }
      buf = m, cap = more;
    }
  }
  json_error_t err;
  json_t *o = json_loadb(buf, len, 0, &err);
  free(buf);
  if (!o && json_error_code(&err) == json_error_out_of_memory)
    *why = 0;
  else if (!o)
    snprintf(why, n, "not valid JSON (line %d, column %d): %s", err.line,
             err.column, err.text);
  return o;
}

typedef struct message {
  const char *backend, *text, *reason;
  json_t *batch;
  bool objects_known;
  uint64_t objects;
} message;

/* The fields of a spooled message; false with why when one is missing. */
static bool parse_message(json_t *o, message *m, char *why, size_t n) {
  memset(m, 0, sizeof *m);
  m->backend = json_string_value(json_object_get(o, "backend"));
  m->text = json_string_value(json_object_get(o, "text"));
  m->reason = json_string_value(json_object_get(o, "reason"));
  m->batch = json_object_get(o, "batch");
  if (json_is_object(m->batch)) {
    m->objects_known = true;
    m->objects = gt__batch_json_collected(m->batch);
  }
  const char *missing = !json_is_object(o)          ? "not a JSON object"
                        : !m->backend               ? "it names no backend"
                        : !m->text                  ? "it has no text"
                        : !json_is_object(m->batch) ? "it has no batch"
                                                    : NULL;
  if (missing) snprintf(why, n, "not a spooled message: %s", missing);
  return !missing;
}

/* ---- replay ------------------------------------------------------------- */

static _Thread_local char reject_reason[256];

void gt__spool_reject_reason(const char *reason) {
  snprintf(reject_reason, sizeof reject_reason, "%s", reason ? reason : "");
}

typedef struct pass {
  const char *dir;
  int dfd;
  bool changed; /* the directory needs an fsync */
} pass;

static void objects_str(char *buf, size_t n, bool known, uint64_t objects) {
  if (known)
    snprintf(buf, n, "%llu objects", (unsigned long long)objects);
  else
    snprintf(buf, n, "unknown number of objects");
}

/* Not a regular file of ours: renamed aside unopened, so it is warned
 * about once and never looked at again. */
static void set_aside_unsafe(pass *ps, const char *name, const char *why) {
  char dest[NAME_MAX + 1];
  aside_name(dest, sizeof dest, name, UNSAFE);
  if (renameat(ps->dfd, name, ps->dfd, dest) == 0) {
    ps->changed = true;
    gt__warn("spool: '%s/%s' is %s; set aside as %s", ps->dir, name, why, dest);
  } else {
    gt__warn("spool: '%s/%s' is %s; skipped", ps->dir, name, why);
  }
}

/* The bytes stay as found; the reason goes to a sidecar written first, so
 * a crash in between leaves the file pending and it is judged again. */
static void set_aside_corrupt(pass *ps, const char *name, const char *why,
                              const struct stat *st, bool known,
                              uint64_t objects) {
  char dest[NAME_MAX + 1], side[NAME_MAX + 1], count[48];
  aside_name(dest, sizeof dest, name, CORRUPT);
  aside_name(side, sizeof side, name, CORRUPT WHY);
  json_t *o = json_object();
  int bad = !o || json_object_set_new(o, "v", json_integer(1));
  bad |= json_object_set_new(o, "state", json_string("corrupt"));
  bad |= json_object_set_new(o, "reason", jstr(why));
  bad |= json_object_set_new(
      o, "objects", known ? json_integer((json_int_t)objects) : json_null());
  bad |= json_object_set_new(o, "bytes", json_integer((json_int_t)st->st_size));
  bad |= json_object_set_new(o, "set_aside_ms", json_integer(gt__wall_ms()));
  char *body = bad ? NULL : json_dumps(o, JSON_COMPACT);
  json_decref(o);
  int rc =
      body ? put_file(ps->dfd, body, strlen(body), fixed_name, side, true) : -1;
  free(body);
  objects_str(count, sizeof count, known, objects);
  if (rc == 0 && renameat(ps->dfd, name, ps->dfd, dest) == 0) {
    ps->changed = true;
    gt__warn("spool: '%s/%s' set aside as %s (%s): %s", ps->dir, name, dest,
             count, why);
  } else {
    gt__warn("spool: '%s/%s' is corrupt (%s) and cannot be set aside: %s",
             ps->dir, name, count, why);
  }
}

/* The message is kept with the reason added, under a new name; the
 * original is removed while we still hold its lock. */
static void set_aside_rejected(pass *ps, const char *name, json_t *o,
                               const message *m, const char *why) {
  char dest[NAME_MAX + 1], count[48];
  aside_name(dest, sizeof dest, name, REJECTED);
  json_t *copy = json_copy(o), *aside = json_object();
  int bad = !copy || !aside;
  bad |= json_object_set_new(aside, "state", json_string("rejected"));
  bad |= json_object_set_new(aside, "reason", jstr(why));
  bad |= json_object_set_new(aside, "ms", json_integer(gt__wall_ms()));
  bad |= json_object_set(copy, "set_aside", aside);
  char *body = bad ? NULL : json_dumps(copy, JSON_COMPACT);
  json_decref(aside);
  json_decref(copy);
  int rc =
      body ? put_file(ps->dfd, body, strlen(body), fixed_name, dest, true) : -1;
  free(body);
  objects_str(count, sizeof count, m->objects_known, m->objects);
  const char *sep = strcmp(why, REJECT_DEFAULT) ? ": " : "";
  const char *detail = *sep ? why : "";
  if (rc == 0 && unlinkat(ps->dfd, name, 0) == 0) {
    ps->changed = true;
    gt__warn("spool: '%s/%s' set aside as %s (%s): " REJECT_DEFAULT "%s%s",
             ps->dir, name, dest, count, sep, detail);
  } else {
    gt__warn("spool: '%s/%s' (%s): " REJECT_DEFAULT "%s%s; it stays pending: "
             "cannot set it aside",
             ps->dir, name, count, sep, detail);
  }
}

/* An old-style claim (renamed *.msg.claim.<pid>) is recovered once its
 * process is gone from our PID namespace, or after an hour whatever the
 * pid says (it may live in another namespace, or have been reused). */
static bool old_claim_free(const char *name, const struct stat *st) {
  long pid = atol(strstr(name, SUFFIX CLAIM) + strlen(SUFFIX CLAIM));
  if (pid <= 0 || pid == getpid()) return true;
  if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) return true;
  return time(NULL) - st->st_ctime > OLD_CLAIM_STALE_S;
}

/* A temporary is debris when nobody holds its lock (a writer holds it from
 * creation to rename) and it is old or its writer is gone. */
static void tidy_tmp(pass *ps, const char *name) {
  struct stat st;
  char why[160];
  int fd = open_entry(ps->dfd, name, &st, why, sizeof why);
  if (fd < 0) return;
  if (flock(fd, LOCK_EX | LOCK_NB) == 0 && same_file(ps->dfd, name, fd)) {
    long pid = atol(name + strlen(TMP));
    bool gone = pid > 0 && pid != getpid() && kill((pid_t)pid, 0) != 0 &&
                errno == ESRCH;
    if ((gone || time(NULL) - st.st_mtime > TMP_STALE_S) &&
        unlinkat(ps->dfd, name, 0) == 0)
      ps->changed = true;
  }
  close(fd); /* releases the lock */
}

/* Offers one message under its lock. False: stop the replay. */
static bool offer(pass *ps, const char *name, bool old_claim, gt_spool_fn fn,
                  void *ud, size_t *done) {
  struct stat st;
  char why[300];
  int fd = open_entry(ps->dfd, name, &st, why, sizeof why);
  if (fd < 0) {
    if (*why) set_aside_unsafe(ps, name, why);
    return true; /* gone: delivered or set aside by another process */
  }
  if ((old_claim && !old_claim_free(name, &st)) ||
      flock(fd, LOCK_EX | LOCK_NB) != 0 || !same_file(ps->dfd, name, fd)) {
    close(fd); /* another process has it, or had it and is done */
    return true;
  }
  bool go_on = true;
  message m = {0};
  json_t *o = read_json(fd, &st, why, sizeof why);
  if (!o && !*why) { /* out of memory: the next pass tries again */
    close(fd);
    return true;
  }
  if (!o || !parse_message(o, &m, why, sizeof why)) {
    set_aside_corrupt(ps, name, why, &st, o && m.objects_known,
                      o ? m.objects : 0);
  } else {
    reject_reason[0] = 0;
    switch (fn(m.backend, m.text, m.batch, ud)) {
    case GT_SPOOL_DELIVERED:
      if (unlinkat(ps->dfd, name, 0) == 0) ps->changed = true;
      (*done)++;
      break;
    case GT_SPOOL_KEEP:
      break;
    case GT_SPOOL_STOP:
      go_on = false;
      break;
    case GT_SPOOL_REJECTED:
      set_aside_rejected(ps, name, o, &m,
                         reject_reason[0] ? reject_reason : REJECT_DEFAULT);
      break;
    }
  }
  json_decref(o);
  close(fd); /* after the unlink: the lock covers the delivery */
  return go_on;
}

size_t gt__spool_replay(const char *dir, gt_spool_fn fn, void *ud) {
  pass ps = {.dir = dir, .dfd = open_dir(dir, NULL)};
  if (ps.dfd < 0) {
    gt__warn("%s; nothing replayed", gt_last_error());
    return 0;
  }
  names l = list_names(ps.dfd);
  size_t done = 0;
  for (size_t i = 0; i < l.n; i++) {
    enum kind k = kind_of(l.v[i]);
    if (k == K_TMP)
      tidy_tmp(&ps, l.v[i]);
    else if ((k == K_MSG || k == K_OLD_CLAIM) &&
             !offer(&ps, l.v[i], k == K_OLD_CLAIM, fn, ud, &done))
      break;
  }
  names_free(&l);
  if (ps.changed) fsync(ps.dfd);
  close(ps.dfd);
  return done;
}

size_t gt__spool_count(const char *dir) {
  int dfd = open_dir(dir, NULL);
  if (dfd < 0) return 0;
  names l = list_names(dfd);
  size_t n = 0;
  for (size_t i = 0; i < l.n; i++) {
    enum kind k = kind_of(l.v[i]);
    struct stat st;
    char why[160];
    if ((k == K_MSG || k == K_OLD_CLAIM) &&
        fstatat(dfd, l.v[i], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        !not_ours(&st, why, sizeof why))
      n++;
  }
  names_free(&l);
  close(dfd);
  return n;
}

/* ---- listing ------------------------------------------------------------ */

const char *gt__spool_state_name(enum gt_spool_state s) {
  switch (s) {
  case GT_SPOOLED_PENDING:
    return "pending";
  case GT_SPOOLED_REJECTED:
    return "rejected";
  case GT_SPOOLED_CORRUPT:
    return "corrupt";
  case GT_SPOOLED_UNSAFE:
    return "unsafe";
  case GT_SPOOLED_PARTIAL:
    return "partial";
  case GT_SPOOLED_OTHER:
    break;
  }
  return "other";
}

/* Reads a message file for the listing (no lock: reading is harmless).
 * False when it is gone (delivered meanwhile). */
static bool describe_message(int dfd, const char *name, gt_spool_entry *e,
                             char *why, size_t n, json_t **keep) {
  struct stat st;
  int fd = open_entry(dfd, name, &st, why, n);
  if (fd < 0) {
    e->state = GT_SPOOLED_UNSAFE;
    e->aside = why;
    return *why != 0;
  }
  e->bytes = (uint64_t)st.st_size;
  json_t *o = read_json(fd, &st, why, n);
  close(fd);
  message m;
  bool ok = o && parse_message(o, &m, why, n);
  if (o) {
    e->backend = m.backend;
    e->text = m.text;
    e->reason = m.reason;
    e->objects_known = m.objects_known;
    e->objects = m.objects;
    e->spooled_ms = json_integer_value(json_object_get(o, "spooled_ms"));
  }
  if (!ok) {
    e->state = GT_SPOOLED_CORRUPT;
    e->aside = *why ? why : "cannot be read now (out of memory)";
  } else if (e->state == GT_SPOOLED_REJECTED) {
    json_t *a = json_object_get(o, "set_aside");
    e->aside = json_string_value(json_object_get(a, "reason"));
    if (!e->aside) e->aside = "(no reason recorded)";
  }
  *keep = o;
  return true;
}

/* A corrupt file: what its bytes still say (backend, text, count), then
 * the reason and count recorded in its sidecar when set aside. */
static bool describe_corrupt(int dfd, const char *name, gt_spool_entry *e,
                             char *why, size_t n, json_t **keep) {
  if (!describe_message(dfd, name, e, why, n, &keep[0])) return false;
  if (e->state == GT_SPOOLED_UNSAFE) return true;
  e->state = GT_SPOOLED_CORRUPT;
  if (!e->aside) e->aside = "(no reason recorded)";
  struct stat st;
  char side[NAME_MAX + 1], side_why[160];
  snprintf(side, sizeof side, "%s" WHY, name);
  int fd = open_entry(dfd, side, &st, side_why, sizeof side_why);
  if (fd < 0) return true;
  json_t *o = keep[1] = read_json(fd, &st, side_why, sizeof side_why);
  close(fd);
  const char *r = json_string_value(json_object_get(o, "reason"));
  json_t *objects = json_object_get(o, "objects");
  if (r) e->aside = r;
  if (json_is_integer(objects)) {
    e->objects_known = true;
    e->objects = (uint64_t)json_integer_value(objects);
  }
  return true;
}

int gt__spool_list(const char *dir, gt_spool_list_fn fn, void *ud) {
  bool missing;
  int dfd = open_dir(dir, &missing);
  if (dfd < 0) return missing ? 0 : dfd;
  names l = list_names(dfd);
  int count = 0;
  for (size_t i = 0; i < l.n; i++) {
    const char *name = l.v[i];
    gt_spool_entry e = {.name = name};
    char why[300] = "", sidecar_of[NAME_MAX + 1];
    json_t *keep[2] = {NULL, NULL};
    struct stat st;
    switch (kind_of(name)) {
    case K_MSG:
    case K_OLD_CLAIM:
      e.state = GT_SPOOLED_PENDING;
      if (!describe_message(dfd, name, &e, why, sizeof why, keep)) continue;
      break;
    case K_REJECTED:
      e.state = GT_SPOOLED_REJECTED;
      if (!describe_message(dfd, name, &e, why, sizeof why, keep)) continue;
      break;
    case K_CORRUPT:
      if (!describe_corrupt(dfd, name, &e, why, sizeof why, keep)) continue;
      break;
    case K_WHY: /* part of its corrupt file's entry, unless that is gone */
      snprintf(sidecar_of, sizeof sidecar_of, "%.*s",
               (int)(strlen(name) - strlen(WHY)), name);
      if (fstatat(dfd, sidecar_of, &st, AT_SYMLINK_NOFOLLOW) == 0) continue;
      e.state = GT_SPOOLED_OTHER;
      e.aside = "the reason of a corrupt file that is gone";
      break;
    case K_UNSAFE:
      e.state = GT_SPOOLED_UNSAFE;
      e.aside = "set aside unread: not a regular file of this user";
      if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          not_ours(&st, why, sizeof why))
        e.aside = why;
      break;
    case K_TMP:
      e.state = GT_SPOOLED_PARTIAL;
      e.aside = "being written, or left by a writer that died (replay "
                "removes it)";
      break;
    case K_OTHER:
      e.state = GT_SPOOLED_OTHER;
      e.aside = "not a spool file name: gt never reads it";
      break;
    }
    if (fn) fn(&e, ud);
    json_decref(keep[0]);
    json_decref(keep[1]);
    if (count < INT_MAX) count++;
  }
  names_free(&l);
  close(dfd);
  return count;
}
