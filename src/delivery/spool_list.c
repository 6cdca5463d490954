/* What the spool holds: the pending count (a sink replays only while
 * there is something to offer) and the listing of every file with its
 * state and reason, set-aside files included (`gt spool list`). Reads only
 * and takes no lock: reading is harmless, and a file delivered meanwhile
 * simply drops out. */
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "delivery/spool.h"

/* ---- counting ----------------------------------------------------------- */

size_t gt__spool_count(const char *dir) {
  int dfd = gt__spool_open_dir(dir, NULL);
  if (dfd < 0) return 0;
  gt_spool_names l = gt__spool_list_names(dfd);
  size_t n = 0;
  for (size_t i = 0; i < l.n; i++) {
    enum gt_spool_kind k = gt__spool_kind(l.v[i]);
    struct stat st;
    char why[160];
    if ((k == GT_SPOOL_K_MSG || k == GT_SPOOL_K_OLD_CLAIM) &&
        fstatat(dfd, l.v[i], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        !gt__spool_not_ours(&st, why, sizeof why))
      n++;
  }
  gt__spool_names_free(&l);
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
  int fd = gt__spool_open_entry(dfd, name, &st, why, n);
  if (fd < 0) {
    e->state = GT_SPOOLED_UNSAFE;
    e->aside = why;
    return *why != 0;
  }
  e->bytes = (uint64_t)st.st_size;
  json_t *o = gt__spool_read_json(fd, &st, why, n);
  close(fd);
  gt_spool_message m;
  bool ok = o && gt__spool_parse_message(o, &m, why, n);
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
  snprintf(side, sizeof side, "%s" GT_SPOOL_WHY_TAG, name);
  int fd = gt__spool_open_entry(dfd, side, &st, side_why, sizeof side_why);
  if (fd < 0) return true;
  json_t *o = keep[1] = gt__spool_read_json(fd, &st, side_why, sizeof side_why);
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
  int dfd = gt__spool_open_dir(dir, &missing);
  if (dfd < 0) return missing ? 0 : dfd;
  gt_spool_names l = gt__spool_list_names(dfd);
  int count = 0;
  for (size_t i = 0; i < l.n; i++) {
    const char *name = l.v[i];
    gt_spool_entry e = {.name = name};
    char why[300] = "", sidecar_of[NAME_MAX + 1];
    json_t *keep[2] = {NULL, NULL};
    struct stat st;
    switch (gt__spool_kind(name)) {
    case GT_SPOOL_K_MSG:
    case GT_SPOOL_K_OLD_CLAIM:
      e.state = GT_SPOOLED_PENDING;
      if (!describe_message(dfd, name, &e, why, sizeof why, keep)) continue;
      break;
    case GT_SPOOL_K_REJECTED:
      e.state = GT_SPOOLED_REJECTED;
      if (!describe_message(dfd, name, &e, why, sizeof why, keep)) continue;
      break;
    case GT_SPOOL_K_CORRUPT:
      if (!describe_corrupt(dfd, name, &e, why, sizeof why, keep)) continue;
      break;
    case GT_SPOOL_K_WHY: /* part of its corrupt file's entry, unless that is
                            gone */
      snprintf(sidecar_of, sizeof sidecar_of, "%.*s",
               (int)(strlen(name) - strlen(GT_SPOOL_WHY_TAG)), name);
      if (fstatat(dfd, sidecar_of, &st, AT_SYMLINK_NOFOLLOW) == 0) continue;
      e.state = GT_SPOOLED_OTHER;
      e.aside = "the reason of a corrupt file that is gone";
      break;
    case GT_SPOOL_K_UNSAFE:
      e.state = GT_SPOOLED_UNSAFE;
      e.aside = "set aside unread: not a regular file of this user";
      if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          gt__spool_not_ours(&st, why, sizeof why))
        e.aside = why;
      break;
    case GT_SPOOL_K_TMP:
      e.state = GT_SPOOLED_PARTIAL;
      e.aside = "being written, or left by a writer that died (replay "
                "removes it)";
      break;
    case GT_SPOOL_K_OTHER:
      e.state = GT_SPOOLED_OTHER;
      e.aside = "not a spool file name: gt never reads it";
      break;
    }
    if (fn) fn(&e, ud);
    json_decref(keep[0]);
    json_decref(keep[1]);
    if (count < INT_MAX) count++;
  }
  gt__spool_names_free(&l);
  close(dfd);
  return count;
}
