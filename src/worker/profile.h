/* Death profiles in pprof's format (docs/profiles.md): profile.c builds
 * one from the site records, profile_write.c keeps gt.profile and writes
 * it, gzipped, when gt.c asks. */
#ifndef GT_WORKER_PROFILE_H
#define GT_WORKER_PROFILE_H

#include "config.h"

/* gt_init (and gt run, before it starts the program): GT_EINVAL, saying
 * why, when gt.profile is a path no profile could be written to (its
 * directory missing or not writable, a directory itself, an unknown '%'
 * escape). */
GT_HIDDEN int gt__profile_check(const gt_config *cfg);
/* gt_init, once it succeeds: gt.profile (unset or empty: no profile),
 * gt.profile_on_collect, and the start of the profiles' duration. */
GT_HIDDEN void gt__profile_start(const gt_config *cfg);
/* gt_collect, once the worker has counted its objects: a profile, with
 * gt.profile_on_collect. The worker may run: counters are read relaxed. */
GT_HIDDEN void gt__profile_collected(void);
/* gt_shutdown, after the worker stopped (the counts are final, the live
 * ones included): the last profile; then none until the next start. A
 * failure is a warning. */
GT_HIDDEN void gt__profile_stop(void);
/* The file the last profile went to, in buf; false when none was written
 * since gt_init (gt run's summary names it). */
GT_HIDDEN bool gt__profile_written(char *buf, size_t n);
/* A forked child writes no profile until its own gt_init. */
GT_HIDDEN void gt__profile_fork(enum gt_fork_phase phase);

/* profile.c: the profile of every site with something counted, encoded
 * (not compressed) in *out (malloc'd); start_ns is gt_init's
 * CLOCK_MONOTONIC time, period gt.alloc_sample_every, final whether live
 * objects were counted. GT_ENOMEM when out of memory. */
GT_HIDDEN int gt__profile_encode(int64_t start_ns, uint64_t period, bool final,
                                 uint8_t **out, size_t *len);

#endif
