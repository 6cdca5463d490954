/* Names and allocation sites (intern.c). A site is (name, file, line); a
 * name groups sites. Ids are dense, from 1. Records are never freed or
 * moved while the library is loaded, so readers (the worker, the
 * collector's context) need no lock. */
#ifndef GT_INTERN_H
#define GT_INTERN_H

#include "util.h"

typedef struct gt_site {
  const char *name;     /* shown: escaped by text.h's rules */
  const char *file;     /* NULL when allocated without GT_MALLOC; escaped */
  const char *file_key; /* the program's bytes */
  int line;             /* 0: none (a stack site's file is its label) */
  uint32_t name_id;     /* 0 while a stack site waits to be resolved */
  /* A stack site: the return addresses of its allocation, innermost
   * first; named by the worker (gt__site_resolve) before it is counted. */
  const uintptr_t *pcs;
  uint8_t npcs;
  _Atomic bool resolved;
  _Atomic uint64_t overflow; /* events that found the ring full */
  _Atomic uint64_t overflow_bytes, overflow_freed;
  /* the same for objects reclaimed while expecting release: kept apart, so
   * the worker never sees one half of a leak's counts without the other */
  _Atomic uint64_t overflow_unreleased, overflow_unreleased_bytes;
  /* totals, written only by the worker, read by gt_get_name_stats and
   * the profile; unreleased: of the collected, those reclaimed while
   * expecting release (gt_expect_release) */
  _Atomic uint64_t collected, freed, bytes, unreleased, unreleased_bytes;
  /* still reachable at the last count (gt_shutdown), written by its walk */
  _Atomic uint64_t live, live_bytes;
} gt_site;

#define GT_SITE_BITS 20
/* Reserved ids at the top, listed only once something is counted there:
 * "(other sites)" counts sites past the table's limit, "(corrupt header)"
 * objects whose header the program overwrote (it wrote past GC_size). */
#define GT_OTHER_SITE ((1u << GT_SITE_BITS) - 1)
#define GT_CORRUPT_SITE (GT_OTHER_SITE - 1)
#define GT_FIRST_RESERVED GT_CORRUPT_SITE

/* Never 0: past the table's limit (or out of memory) every new site is
 * "(other sites)", with a warning once. */
GT_HIDDEN uint32_t gt__intern_site(const char *name, const char *file,
                                   int line);
/* A site from a call stack (pcs[0] innermost), for name or, when name is
 * NULL, for the name the worker gives it. Never 0, as above. */
#define GT_MAX_STACK 32
GT_HIDDEN uint32_t gt__intern_stack(const char *name, const uintptr_t *pcs,
                                    int n);
/* The worker names a stack site once: its name (if it had none), and the
 * label of its innermost frame ("w3m!fn@0x9bf80+0xb" or "file.c", line). */
GT_HIDDEN void gt__site_resolve(uint32_t id, const char *name,
                                const char *label, int line);
GT_HIDDEN bool gt__site_resolved(uint32_t id);
GT_HIDDEN gt_site *gt__site(uint32_t id); /* lock-free */
GT_HIDDEN bool gt__site_valid(uint32_t id);
GT_HIDDEN void gt__intern_setup(void);   /* the reserved sites exist after it */
GT_HIDDEN uint32_t gt__site_count(void); /* regular sites: 1..count */
GT_HIDDEN const char *gt__name(uint32_t name_id);
GT_HIDDEN uint32_t gt__name_count(void);
/* "file:line" of a site (the file's base name), or "" without one. */
GT_HIDDEN const char *gt__site_label(const gt_site *s, char *buf, size_t n);
GT_HIDDEN void gt__intern_fork(enum gt_fork_phase phase);

#endif
