/* fuzz_report: gt report's reader and table (tools/report.c).
 *
 * Input: a log file's bytes, or a profile's. The first byte picks the
 * grouping (bit 0 name, bit 5 stack), the number of rows (bits 1-3) and
 * whether the rest is a profile (bit 4: gzipped or raw profile.proto) or
 * a log. Whatever it holds, the
 * reader must not crash or leak, and the table must come out as printable
 * lines that start with the header. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "fuzz_report: invariant failed: %s (line %d)\n", #cond,  \
              __LINE__);                                                       \
      abort();                                                                 \
    }                                                                          \
  } while (0)

/* Only '\n' among the controls: names are escaped (text.h). */
static bool printable(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c < 0x20 && c != '\n') || c == 0x7f) return false;
  }
  return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  gt_report_by by = (gt_report_by)(data[0] & 1      ? GT_REPORT_BY_NAME
                                   : data[0] & 0x20 ? GT_REPORT_BY_STACK
                                                    : GT_REPORT_BY_SITE);
  size_t top = data[0] >> 1 & 7;
  /* fmemopen cannot open 0 bytes for reading on every libc */
  char *copy = malloc(size);
  CHECK(copy);
  memcpy(copy, data + 1, size - 1);
  FILE *in = fmemopen(copy, size - 1 ? size - 1 : 1, "r");
  FILE *warn = fopen("/dev/null", "w");
  CHECK(in && warn);
  if (size == 1) fgetc(in); /* the 1-byte buffer: read past it, empty */
  gt_report_state *r = gt_report_new(by);
  CHECK(r);
  if (data[0] & 0x10) { /* a profile: gzipped or not (zlib reads both) */
    char path[] = "/tmp/fuzz-report-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(write(fd, data + 1, size - 1) == (ssize_t)(size - 1));
    close(fd);
    gt_report_read_profile(r, path, warn); /* false: not a profile */
    unlink(path);
  } else {
    CHECK(gt_report_read(r, in, "fuzz", warn));
  }
  char *out = NULL;
  size_t n = 0;
  FILE *o = open_memstream(&out, &n);
  CHECK(o);
  gt_report_print(r, o, top);
  fclose(o);
  CHECK(n > 11 && !strncmp(out, "gt report: ", 11));
  CHECK(out[n - 1] == '\n');
  CHECK(printable(out, n));
  free(out);
  gt_report_free(r);
  fclose(in);
  fclose(warn);
  free(copy);
  return 0;
}
