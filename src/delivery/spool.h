/* The spool: undelivered messages kept on disk (spool.c). */
#ifndef GT_DELIVERY_SPOOL_H
#define GT_DELIVERY_SPOOL_H

#include "util.h"

struct json_t;

/* Creates the directory (0700 at each created level) and checks that it can
 * be trusted: a real directory (not a symlink), owned by the effective uid,
 * writable by nobody else, on a path of directories owned by the effective
 * uid or root and not writable by others unless sticky (as ssh checks
 * ~/.ssh). Returns 0; GT_EINVAL when it is unsafe (gt_init must fail with
 * gt_last_error(): it names gt.spool_dir, the path and the reason); GT_EIO
 * when it cannot be created or used (EACCES, ENOSPC, not a directory...). */
GT_HIDDEN int gt__spool_prepare(const char *dir);
/* Writes one undelivered message atomically (0600, O_EXCL|O_NOFOLLOW,
 * fsync, rename that never replaces, fsync of the directory). Text, reason
 * and batch strings that are not UTF-8 are kept with each invalid byte
 * written as the four characters "\xHH"; a message is never written
 * without its text. GT_EINVAL if the directory has become unsafe, GT_EIO
 * if it cannot be written (or the message is over 16 MiB), GT_ENOMEM. */
GT_HIDDEN int gt__spool_write(const char *dir, const char *backend,
                              const char *text, struct json_t *batch,
                              const char *reason);
enum gt_spool_verdict {
  GT_SPOOL_DELIVERED, /* remove it */
  GT_SPOOL_KEEP,      /* leave it for later, go on with the next */
  GT_SPOOL_STOP,      /* leave it untouched, stop replaying for now */
  GT_SPOOL_REJECTED,  /* permanent refusal: set it aside as *.rejected */
};
/* Called with the file locked: no other process offers it meanwhile. */
typedef enum gt_spool_verdict (*gt_spool_fn)(const char *backend,
                                             const char *text,
                                             struct json_t *batch, void *ud);
/* Offers each pending message, oldest first; returns how many went out.
 * Files locked by another process are skipped; corrupt and unsafe files are
 * set aside with their reason and one warning, never fatal. */
GT_HIDDEN size_t gt__spool_replay(const char *dir, gt_spool_fn fn, void *ud);
/* From inside a gt_spool_fn about to return GT_SPOOL_REJECTED: the reason
 * stored with the set-aside file (copied; never a secret). Without it the
 * reason is "the server refused it permanently". */
GT_HIDDEN void gt__spool_reject_reason(const char *reason);
/* Pending messages (what the next replay offers). */
GT_HIDDEN size_t gt__spool_count(const char *dir);

enum gt_spool_state {
  GT_SPOOLED_PENDING,  /* *.msg: offered by the next replay */
  GT_SPOOLED_REJECTED, /* *.msg.rejected: refused permanently */
  GT_SPOOLED_CORRUPT,  /* *.msg.corrupt, or a *.msg replay will set aside */
  GT_SPOOLED_UNSAFE,   /* not a regular file of this user: never read */
  GT_SPOOLED_PARTIAL,  /* .tmp.*: being written, or a dead writer's */
  GT_SPOOLED_OTHER,    /* a name the spool does not use */
};
/* One file of the spool; pointers are valid during the callback only. */
typedef struct gt_spool_entry {
  const char *name; /* in the directory */
  enum gt_spool_state state;
  const char *backend; /* NULL when unknown */
  const char *text;    /* NULL when unreadable */
  const char *reason;  /* why it was spooled; NULL when unknown */
  const char *aside;   /* why it is not pending; NULL when pending */
  bool objects_known;  /* objects: "collected" of its batch */
  uint64_t objects;
  int64_t spooled_ms; /* wall clock; 0 when unknown */
  uint64_t bytes;
} gt_spool_entry;
typedef void (*gt_spool_list_fn)(const gt_spool_entry *e, void *ud);
/* Every file the spool holds, in name order (oldest first). Returns how
 * many (0 when the directory does not exist) or GT_E* when it cannot be
 * opened or is unsafe. Reads only; takes no lock. */
GT_HIDDEN int gt__spool_list(const char *dir, gt_spool_list_fn fn, void *ud);
GT_HIDDEN const char *gt__spool_state_name(enum gt_spool_state s);

#endif
