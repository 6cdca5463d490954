/* The GC context's interface to the rest of libgt: setting the collector
 * up, collecting, the allocation counts, and the consumer side of the
 * event ring. Everything under src/gc/ runs in, or next to, the
 * collector: nothing there takes a lock the collector may hold, allocates
 * in collector context, or does I/O; they are the only files that include
 * gc.h. */
#ifndef GT_GC_GCCTX_H
#define GT_GC_GCCTX_H

#include "config.h"
#include "event.h"
#include "util.h"

/* gt_init's first steps: bdwgc initialised and in a mode gt can work in
 * (not find-leak), the heap presized, libgt's overrides in force. */
GT_HIDDEN int gt__gc_prepare(void);
GT_HIDDEN bool gt__gc_thread_registered(void);
/* libgt's GC_size, GC_free and GC_realloc are the ones the program calls. */
GT_HIDDEN bool gt__interposed(void);
/* Kinds, hooks and the configuration the allocation paths read. */
GT_HIDDEN int gt__alloc_setup(const gt_config *cfg);
/* The statistics the GC context counts (gt.h's GT_STATS "ALLOC" fields). */
GT_HIDDEN void gt__alloc_stats(gt_stats *out);
GT_HIDDEN void gt__alloc_fork(enum gt_fork_phase phase);

/* A full collection that reports every dead gt object; the number it
 * reported. Serialised; the caller has scrubbed its stack. */
GT_HIDDEN size_t gt__collect(void);
/* The same, and it counts the tracked objects still reachable, per site
 * and in all (gt_shutdown's last collection). */
GT_HIDDEN size_t gt__collect_counting_live(void);

/* The ring: made (or taken back) at gt_init, never freed. */
GT_HIDDEN int gt__emit_open(size_t capacity);
GT_HIDDEN bool gt__emit_pop(gt_event *ev);   /* the worker only */
GT_HIDDEN bool gt__emit_take_overflow(void); /* overflow since last call? */
GT_HIDDEN void gt__emit_note_overflow(void); /* look at the counters again */
GT_HIDDEN void gt__emit_fork_child(void);
/* The world is stopped for a collection: the worker (not a collector
 * thread, so still running) leaves the cores to bdwgc's markers. */
GT_HIDDEN bool gt__world_stopped(void);

/* `gt run`: the table libgt-attach.so forwards bdwgc's calls to (attach.c);
 * start runs gt_init at the program's first allocation. */
struct gt_attach_table;
GT_HIDDEN const struct gt_attach_table *gt__attach_table(int (*start)(void));

#endif
