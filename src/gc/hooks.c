/* bdwgc keeps one collection-event callback and one push-other-roots
 * procedure. gt needs both (reclaim.c's walk and runs, tlcache.c's refill
 * lists), and so may the program: gt's stay installed and call the
 * program's, which interpose.c's GC_set_* and GC_get_* overrides read and
 * write here, whether the program set them before gt or after. */
#include <stdatomic.h>

#include <gc.h>
#include <gc/gc_mark.h>

#include "gc/object.h"
#include "gc/tlcache.h"

static _Atomic bool hooked; /* gt's hooks are installed */
static _Atomic GC_on_collection_event_proc user_event;
static _Atomic GC_push_other_roots_proc user_push;

/* Both run in the collector's context, lock held. */
static void GC_CALLBACK on_event(GC_EventType e) {
  gt__on_collection_event((int)e);
  GC_on_collection_event_proc f = atomic_load(&user_event);
  if (f) f(e);
}

static void GC_CALLBACK on_push(void) {
  gt__tl_push_refills();
  GC_push_other_roots_proc f = atomic_load(&user_push);
  if (f) f(); /* bdwgc's default pushes the thread stacks */
}

void gt__install_hooks(void) {
  atomic_store(&user_event, gt__real_get_event());
  gt__real_set_event(on_event);
  atomic_store(&user_push, gt__real_get_push());
  gt__real_set_push(on_push);
  atomic_store(&hooked, true);
}

void gt__hook_set_event(GC_on_collection_event_proc f) {
  if (atomic_load(&hooked))
    atomic_store(&user_event, f);
  else
    gt__real_set_event(f);
}

GC_on_collection_event_proc gt__hook_get_event(void) {
  return atomic_load(&hooked) ? atomic_load(&user_event) : gt__real_get_event();
}

void gt__hook_set_push(GC_push_other_roots_proc f) {
  if (atomic_load(&hooked))
    atomic_store(&user_push, f);
  else
    gt__real_set_push(f);
}

GC_push_other_roots_proc gt__hook_get_push(void) {
  return atomic_load(&hooked) ? atomic_load(&user_push) : gt__real_get_push();
}
