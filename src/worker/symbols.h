/* Names for return addresses (symbols.c), with elfutils' libdwfl. */
#ifndef GT_WORKER_SYMBOLS_H
#define GT_WORKER_SYMBOLS_H

#include "util.h"

/* What is known of one address; strings live as long as the process. */
typedef struct gt_frame {
  uintptr_t pc;       /* the call instruction's (return address - 1) */
  const char *module; /* "w3m", "libc.so.6"; NULL: no module */
  const char *module_path;
  uintptr_t module_start, module_end;
  const char *build_id; /* hex, NULL when the module has none */
  const char *function; /* demangled symbol, or "fn@0x9bf80" (CFI) */
  bool anonymous;       /* function is a CFI start, not a symbol */
  uintptr_t start;      /* of the function, when known */
  const char *file;     /* from debug information, when installed */
  int line;
  bool line_known; /* looked for (gt__symbolize with_line) */
} gt_frame;

/* The frame of a return address, with file:line if asked for (and
 * installed); NULL only when out of memory. */
GT_HIDDEN const gt_frame *gt__symbolize(uintptr_t return_address,
                                        bool with_line);
/* "file.c:42", "w3m!fn@0x9bf80+0xb", "w3m!Strnew+0x1c", "libx.so+0x1234" */
GT_HIDDEN const char *gt__frame_label(const gt_frame *f, char *buf, size_t n);
/* The function: "Strnew", "w3m!fn@0x9bf80". */
GT_HIDDEN const char *gt__frame_name(const gt_frame *f, char *buf, size_t n);

#endif
