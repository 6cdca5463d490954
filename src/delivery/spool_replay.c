/* Reading the spool's messages and replaying them.
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
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "delivery/spool.h"

#define TMP_STALE_S 60         /* an unlocked temporary this old is debris */
#define OLD_CLAIM_STALE_S 3600 /* no old-style replayer held a claim longer */
#define REJECT_DEFAULT "the server refused it permanently"

/* ---- reading ------------------------------------------------------------ */

/* The file's JSON, or NULL with the reason in why; an empty reason means
 * out of memory (try again later, the file is not at fault). Reads at most
 * GT_SPOOL_MAX bytes from the checked descriptor. */
json_t *gt__spool_read_json(int fd, const struct stat *st, char *why,
                            size_t n) {
  if (st->st_size > (off_t)GT_SPOOL_MAX) {
    snprintf(why, n, "%lld bytes, over the spool's limit of %u MiB: not read",
             (long long)st->st_size, GT_SPOOL_MAX >> 20);
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
      if (cap > GT_SPOOL_MAX) {
        snprintf(why, n, "over the spool's limit of %u MiB: not read",
                 GT_SPOOL_MAX >> 20);
        free(buf);
        return NULL;
      }
      size_t more = cap * 2 > GT_SPOOL_MAX + 1 ? GT_SPOOL_MAX + 1 : cap * 2;
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

/* The fields of a spooled message; false with why when one is missing. */
bool gt__spool_parse_message(json_t *o, gt_spool_message *m, char *why,
                             size_t n) {
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

/* A message's name without an old-style claim suffix, plus `tag`. */
static void aside_name(char *buf, size_t n, const char *name, const char *tag) {
  const char *c = strstr(name, GT_SPOOL_SUFFIX GT_SPOOL_CLAIM);
  int len = c ? (int)(c - name + strlen(GT_SPOOL_SUFFIX)) : (int)strlen(name);
  snprintf(buf, n, "%.*s%s", len, name, tag);
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
  aside_name(dest, sizeof dest, name, GT_SPOOL_UNSAFE_TAG);
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
  aside_name(dest, sizeof dest, name, GT_SPOOL_CORRUPT_TAG);
  aside_name(side, sizeof side, name, GT_SPOOL_CORRUPT_TAG GT_SPOOL_WHY_TAG);
  json_t *o = json_object();
  int bad = !o || json_object_set_new(o, "v", json_integer(1));
  bad |= json_object_set_new(o, "state", json_string("corrupt"));
  bad |= json_object_set_new(o, "reason", gt__spool_jstr(why));
  bad |= json_object_set_new(
      o, "objects", known ? json_integer((json_int_t)objects) : json_null());
  bad |= json_object_set_new(o, "bytes", json_integer((json_int_t)st->st_size));
  bad |= json_object_set_new(o, "set_aside_ms", json_integer(gt__wall_ms()));
  char *body = bad ? NULL : json_dumps(o, JSON_COMPACT);
  json_decref(o);
  int rc = body ? gt__spool_put(ps->dfd, side, body) : -1;
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
                               const gt_spool_message *m, const char *why) {
  char dest[NAME_MAX + 1], count[48];
  aside_name(dest, sizeof dest, name, GT_SPOOL_REJECTED_TAG);
  json_t *copy = json_copy(o), *aside = json_object();
  int bad = !copy || !aside;
  bad |= json_object_set_new(aside, "state", json_string("rejected"));
  bad |= json_object_set_new(aside, "reason", gt__spool_jstr(why));
  bad |= json_object_set_new(aside, "ms", json_integer(gt__wall_ms()));
  bad |= json_object_set(copy, "set_aside", aside);
  char *body = bad ? NULL : json_dumps(copy, JSON_COMPACT);
  json_decref(aside);
  json_decref(copy);
  int rc = body ? gt__spool_put(ps->dfd, dest, body) : -1;
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
  long pid = atol(strstr(name, GT_SPOOL_SUFFIX GT_SPOOL_CLAIM) +
                  strlen(GT_SPOOL_SUFFIX GT_SPOOL_CLAIM));
  if (pid <= 0 || pid == getpid()) return true;
  if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) return true;
  return time(NULL) - st->st_ctime > OLD_CLAIM_STALE_S;
}

/* A temporary is debris when nobody holds its lock (a writer holds it from
 * creation to rename) and it is old or its writer is gone. */
static void tidy_tmp(pass *ps, const char *name) {
  struct stat st;
  char why[160];
  int fd = gt__spool_open_entry(ps->dfd, name, &st, why, sizeof why);
  if (fd < 0) return;
  if (flock(fd, LOCK_EX | LOCK_NB) == 0 &&
      gt__spool_same_file(ps->dfd, name, fd)) {
    long pid = atol(name + strlen(GT_SPOOL_TMP));
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
  int fd = gt__spool_open_entry(ps->dfd, name, &st, why, sizeof why);
  if (fd < 0) {
    if (*why) set_aside_unsafe(ps, name, why);
    return true; /* gone: delivered or set aside by another process */
  }
  if ((old_claim && !old_claim_free(name, &st)) ||
      flock(fd, LOCK_EX | LOCK_NB) != 0 ||
      !gt__spool_same_file(ps->dfd, name, fd)) {
    close(fd); /* another process has it, or had it and is done */
    return true;
  }
  bool go_on = true;
  gt_spool_message m = {0};
  json_t *o = gt__spool_read_json(fd, &st, why, sizeof why);
  if (!o && !*why) { /* out of memory: the next pass tries again */
    close(fd);
    return true;
  }
  if (!o || !gt__spool_parse_message(o, &m, why, sizeof why)) {
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
  pass ps = {.dir = dir, .dfd = gt__spool_open_dir(dir, NULL)};
  if (ps.dfd < 0) {
    gt__warn("%s; nothing replayed", gt_last_error());
    return 0;
  }
  gt_spool_names l = gt__spool_list_names(ps.dfd);
  size_t done = 0;
  for (size_t i = 0; i < l.n; i++) {
    enum gt_spool_kind k = gt__spool_kind(l.v[i]);
    if (k == GT_SPOOL_K_TMP)
      tidy_tmp(&ps, l.v[i]);
    else if ((k == GT_SPOOL_K_MSG || k == GT_SPOOL_K_OLD_CLAIM) &&
             !offer(&ps, l.v[i], k == GT_SPOOL_K_OLD_CLAIM, fn, ud, &done))
      break;
  }
  gt__spool_names_free(&l);
  if (ps.changed) fsync(ps.dfd);
  close(ps.dfd);
  return done;
}
