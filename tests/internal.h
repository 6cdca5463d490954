/* Tests and fuzz targets may look inside: every internal header of libgt
 * in one include (the library's own files include only what they use). */
#ifndef GT_TESTS_INTERNAL_H
#define GT_TESTS_INTERNAL_H

#include "batch.h"
#include "config.h"
#include "delivery/backend.h"
#include "delivery/delivery.h"
#include "delivery/ratelimit.h"
#include "delivery/render.h"
#include "delivery/spool.h"
#include "event.h"
#include "gc/gcctx.h"
#include "gc/object.h"
#include "gc/ring.h"
#include "intern.h"
#include "options.h"
#include "stats.h"
#include "text.h"
#include "util.h"
#include "worker/sample.h"
#include "worker/worker.h"

/* Every backend's vtable, for tests that drive one directly. */
#define GT_TEST_DECLARE_BACKEND(sym, name)                                     \
  extern const gt_backend_ops gt__backend_##sym;
GT_BACKENDS(GT_TEST_DECLARE_BACKEND)
#undef GT_TEST_DECLARE_BACKEND

#endif
