/* The spool: undelivered messages kept on disk (spool.c: the directory and
 * its trust; spool_write.c; spool_replay.c: reading, claims and replay;
 * spool_list.c: counting and listing). */
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

/* ---- between the spool's own files (spool*.c); nobody else uses these --- */

/* Names: <ms>.<pid>.<seq>.<backend>.msg; temporaries .tmp.<pid>.<seq>;
 * old-style claims (by rename, before flock) .msg.claim.<pid>, still
 * recovered; set-aside files carry a tag after .msg (a corrupt file's
 * reason is in its sidecar .msg.corrupt.why). */
#define GT_SPOOL_SUFFIX ".msg"
#define GT_SPOOL_CLAIM ".claim."
#define GT_SPOOL_TMP ".tmp."
#define GT_SPOOL_REJECTED_TAG ".rejected"
#define GT_SPOOL_CORRUPT_TAG ".corrupt"
#define GT_SPOOL_WHY_TAG ".why"
#define GT_SPOOL_UNSAFE_TAG ".unsafe"
/* Bytes; bigger files are never read whole, nor written. */
#define GT_SPOOL_MAX (16u << 20)

struct stat;

/* The spool directory, opened without following a symlink and checked
 * again: it may have changed hands since gt__spool_prepare. Returns a
 * descriptor or GT_E*; *missing (may be NULL) tells a directory that does
 * not exist. */
GT_HIDDEN int gt__spool_open_dir(const char *dir, bool *missing);
/* True while the name still leads to the open file (not removed, not
 * replaced). */
GT_HIDDEN bool gt__spool_same_file(int dfd, const char *name, int fd);
/* Why an entry is never read, written into buf, or NULL: only our own
 * regular files are read. */
GT_HIDDEN const char *gt__spool_not_ours(const struct stat *st, char *buf,
                                         size_t n);
/* Opens an entry for reading if it is one of our regular files: never
 * through a symlink, never blocking. Returns -1 with *why set otherwise
 * (empty when it is simply gone). */
GT_HIDDEN int gt__spool_open_entry(int dfd, const char *name, struct stat *st,
                                   char *why, size_t n);

typedef struct gt_spool_names {
  char **v;
  size_t n;
} gt_spool_names;
/* Every entry but "." and "..", sorted (oldest message first). */
GT_HIDDEN gt_spool_names gt__spool_list_names(int dfd);
GT_HIDDEN void gt__spool_names_free(gt_spool_names *l);

enum gt_spool_kind {
  GT_SPOOL_K_MSG,
  GT_SPOOL_K_OLD_CLAIM,
  GT_SPOOL_K_TMP,
  GT_SPOOL_K_REJECTED,
  GT_SPOOL_K_CORRUPT,
  GT_SPOOL_K_WHY,
  GT_SPOOL_K_UNSAFE,
  GT_SPOOL_K_OTHER
};
/* What a name of the directory is, by its shape alone. */
GT_HIDDEN enum gt_spool_kind gt__spool_kind(const char *name);

/* json_string that keeps invalid UTF-8 as \xHH instead of failing. */
GT_HIDDEN struct json_t *gt__spool_jstr(const char *s);
/* Writes body (a C string) to the file `name`, atomically, replacing it if
 * it exists. 0, or -1 with errno. */
GT_HIDDEN int gt__spool_put(int dfd, const char *name, const char *body);

typedef struct gt_spool_message {
  const char *backend, *text, *reason; /* reason: NULL when absent */
  struct json_t *batch;
  bool objects_known;
  uint64_t objects;
} gt_spool_message;
/* The file's JSON, or NULL with the reason in why; an empty reason means
 * out of memory (try again later, the file is not at fault). Reads at most
 * GT_SPOOL_MAX bytes from the checked descriptor. */
GT_HIDDEN struct json_t *gt__spool_read_json(int fd, const struct stat *st,
                                             char *why, size_t n);
/* The fields of a spooled message (pointers into o); false with why when
 * one is missing. */
GT_HIDDEN bool gt__spool_parse_message(struct json_t *o, gt_spool_message *m,
                                       char *why, size_t n);

#endif
