/* The spool: undelivered messages as one JSON file each in gt.spool_dir.
 * This file owns the directory and its entries: whether they can be
 * trusted, and what their names mean. Writing is spool_write.c; reading,
 * claims and replay spool_replay.c; counting and listing spool_list.c.
 *
 * Trust. gt sends what the spool holds with its own credentials, so the
 * directory is treated like ssh treats ~/.ssh: it must be a real directory
 * (not a symlink) owned by the effective uid and writable by nobody else,
 * and nobody else may be able to rename it away either (every directory on
 * its path is ours or root's, and writable by others only if sticky). It is
 * checked again each time it is opened. Only regular files owned by the
 * effective uid are read, through a descriptor opened without following a
 * symlink and without blocking, and never more than GT_SPOOL_MAX bytes; any
 * other *.msg (FIFO, socket, device, symlink, another user's file) is
 * renamed aside as *.unsafe, with one warning, and never opened. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "delivery/spool.h"

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
int gt__spool_open_dir(const char *dir, bool *missing) {
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

/* ---- its entries -------------------------------------------------------- */

bool gt__spool_same_file(int dfd, const char *name, int fd) {
  struct stat a, b;
  return fstat(fd, &a) == 0 && a.st_nlink > 0 &&
         fstatat(dfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
         a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

void gt__spool_names_free(gt_spool_names *l) {
  for (size_t i = 0; i < l->n; i++)
    free(l->v[i]);
  free(l->v);
}

gt_spool_names gt__spool_list_names(int dfd) {
  gt_spool_names l = {0};
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

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n > m && strcmp(s + n - m, suffix) == 0;
}

enum gt_spool_kind gt__spool_kind(const char *name) {
  if (strncmp(name, GT_SPOOL_TMP, strlen(GT_SPOOL_TMP)) == 0)
    return GT_SPOOL_K_TMP;
  if (ends_with(name, GT_SPOOL_SUFFIX)) return GT_SPOOL_K_MSG;
  const char *c = strstr(name, GT_SPOOL_SUFFIX GT_SPOOL_CLAIM);
  if (c && c[strlen(GT_SPOOL_SUFFIX GT_SPOOL_CLAIM)])
    return GT_SPOOL_K_OLD_CLAIM;
  if (ends_with(name, GT_SPOOL_SUFFIX GT_SPOOL_REJECTED_TAG))
    return GT_SPOOL_K_REJECTED;
  if (ends_with(name, GT_SPOOL_SUFFIX GT_SPOOL_CORRUPT_TAG))
    return GT_SPOOL_K_CORRUPT;
  if (ends_with(name, GT_SPOOL_SUFFIX GT_SPOOL_CORRUPT_TAG GT_SPOOL_WHY_TAG))
    return GT_SPOOL_K_WHY;
  if (ends_with(name, GT_SPOOL_SUFFIX GT_SPOOL_UNSAFE_TAG))
    return GT_SPOOL_K_UNSAFE;
  return GT_SPOOL_K_OTHER;
}

/* Why an entry is never read, or NULL: only our own regular files are. */
const char *gt__spool_not_ours(const struct stat *st, char *buf, size_t n) {
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
int gt__spool_open_entry(int dfd, const char *name, struct stat *st, char *why,
                         size_t n) {
  *why = 0;
  if (fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) != 0) return -1;
  if (gt__spool_not_ours(st, why, n)) return -1; /* not even opened */
  int fd = openat(dfd, name,
                  O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ELOOP) snprintf(why, n, "a symbolic link: never read");
    return -1;
  }
  if (fstat(fd, st) != 0 ||
      gt__spool_not_ours(st, why, n)) { /* swapped meanwhile */
    close(fd);
    return -1;
  }
  return fd;
}
