/* gt report's rows and totals (report_rows.h), shared by the reader
 * (report.c) and the table (report_table.c). */
#ifndef GT_TOOLS_REPORT_ROWS_H
#define GT_TOOLS_REPORT_ROWS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "report.h"

/* One batch's median age for a group and the objects behind it. */
typedef struct point {
  uint64_t v, w;
} point;

typedef struct ages {
  uint64_t min, max, med; /* med: found once the rows are all read */
  point *p;
  size_t n, cap;
} ages;

typedef struct row {
  char *name, *site; /* printable (text.h), site NULL when none */
  uint64_t objects, bytes, freed, live, live_bytes;
  uint64_t unreleased; /* leak mode: reclaimed while still marked */
  ages ms, gcs;
} row;

struct gt_report_state {
  gt_report_by by;
  json_t *index; /* row key -> index in rows */
  row *rows;
  size_t nrows, cap;
  uint64_t batches, objects, bytes, freed, overflowed, unreleased;
  uint64_t live, live_bytes, exits;
  bool estimated, aged;
  int64_t first_ms, last_ms; /* wall clock; 0: none seen */
  size_t files, bad, profiles;
};

static inline uint64_t sat(uint64_t a, uint64_t b) {
  return a + b < a ? UINT64_MAX : a + b;
}

/* a * b, at most UINT64_MAX (counts from a file are not trusted) */
static inline uint64_t mul(uint64_t a, uint64_t b) {
  return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

/* Counts one line of a log, parsed (a batch or the exit line); false with
 * why filled when it is not one of gt's. */
bool gt__report_take(gt_report_state *r, json_t *j, char *why, size_t n);

#endif
