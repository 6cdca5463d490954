/* gt report (report.c): reads gt's JSON logs and prints what was reclaimed
 * per site or name. The reading and printing are separate so that the
 * fuzz target (fuzz/fuzz_report.c) drives them without files. */
#ifndef GT_TOOLS_REPORT_H
#define GT_TOOLS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* argv: what follows "report"; returns gt's exit status: 0, 1 when a file
 * could not be read, 2 for bad usage. */
int gt_report_main(int argc, char **argv);
extern const char gt_report_usage[];

/* A JSON log has one frame per site: by stack, its rows are by site. */
typedef enum gt_report_by {
  GT_REPORT_BY_SITE,
  GT_REPORT_BY_NAME,
  GT_REPORT_BY_STACK
} gt_report_by;

typedef struct gt_report_state gt_report_state;
gt_report_state *gt_report_new(gt_report_by by);
void gt_report_free(gt_report_state *r);
/* Adds every line of in; a bad line is reported on warn as "name:N: why"
 * and skipped. Returns false only when in could not be read (a read
 * error), having said so on warn. */
bool gt_report_read(gt_report_state *r, FILE *in, const char *name, FILE *warn);
/* Adds the death profile at path (gt.profile: profile.proto, gzipped;
 * report_profile.c). False when it cannot be read or decoded, having said
 * so on warn. */
bool gt_report_read_profile(gt_report_state *r, const char *path, FILE *warn);
/* The header and the table of the top rows (0: every row). */
void gt_report_print(gt_report_state *r, FILE *out, size_t top);

#endif
