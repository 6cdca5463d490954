/* Utilities every file may use (util.c): the error of the last failed
 * call, warnings, clocks, gt's own threads and condition variables. Knows
 * nothing of the collector or the pipeline. */
#ifndef GT_UTIL_H
#define GT_UTIL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gt/gt.h"

#define GT_HIDDEN __attribute__((visibility("hidden")))

/* Records a message for gt_last_error() and returns code (a GT_E*). */
GT_HIDDEN int gt__fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
GT_HIDDEN void gt__clear_error(void);
/* Warnings go to stderr with a "gt:" prefix; never pass secrets. */
GT_HIDDEN void gt__warn(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

GT_HIDDEN int64_t gt__now_ms(void);  /* CLOCK_MONOTONIC */
GT_HIDDEN int64_t gt__wall_ms(void); /* CLOCK_REALTIME */

GT_HIDDEN void gt__cond_init(pthread_cond_t *c); /* waits on CLOCK_MONOTONIC */
GT_HIDDEN void gt__cond_wait_ms(pthread_cond_t *c, pthread_mutex_t *m,
                                int64_t ms);
/* A gt thread: all signals blocked, unknown to the collector. */
GT_HIDDEN int gt__thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

/* fork() handlers of the modules with locks, in this order. */
enum gt_fork_phase { GT_FORK_PREPARE, GT_FORK_PARENT, GT_FORK_CHILD };

#endif
