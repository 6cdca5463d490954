/* gt run (run.c), called by gt's main for "gt run ...". */
#ifndef GT_TOOLS_RUN_H
#define GT_TOOLS_RUN_H

#define GT_RUN_USAGE 2 /* gt's exit status for bad usage or configuration */

/* argv: what follows "run"; returns gt's exit status (the program's). */
int gt_run(int argc, char **argv);
extern const char gt_run_usage[];

#endif
