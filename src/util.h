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
/* A gt thread: all signals blocked but the collector's two (named by
 * gt__thread_keep_signals), unknown to the collector. */
GT_HIDDEN int gt__thread_start(pthread_t *t, void *(*fn)(void *), void *arg);
GT_HIDDEN void gt__thread_keep_signals(int suspend, int restart);

/* Per-thread state bigger than a pointer lives in a block of `size`
 * zeroed bytes made on the thread's first use and freed when it ends, and
 * only the pointer to it (*slot) in initial-exec TLS: `gt run` loads libgt
 * with dlopen, where a library may hold only a few hundred bytes of
 * initial-exec TLS. The thread's *slot is cleared when the block is freed,
 * so a later use makes a new one. NULL if out of memory. */
#define GT_TLS __attribute__((tls_model("initial-exec"))) _Thread_local
GT_HIDDEN void *gt__tls_block(void **slot, size_t size);

/* fork() handlers of the modules with locks, in this order. */
enum gt_fork_phase { GT_FORK_PREPARE, GT_FORK_PARENT, GT_FORK_CHILD };

#endif
