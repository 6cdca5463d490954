/* gt-bench child: e2e's reading of the mock's record (one JSON line per
 * request, tests/servers/infobip_mock.py): the SMS POSTs it answered with
 * 200 and the objects their texts count ("1,234 objects collected ..." or
 * the single-object text of the seed, 1). Lines still being written are
 * left for the next read.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "child.h"

long bench_file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

static uint64_t text_count(const char *t, bool *ok) {
  static const char single[] = "The object with name ";
  if (strncmp(t, single, sizeof single - 1) == 0) return 1;
  uint64_t v = 0;
  bool digits = false;
  const char *p = t;
  for (; *p; p++) {
    if (*p >= '0' && *p <= '9') {
      v = v * 10 + (uint64_t)(*p - '0');
      digits = true;
    } else if (!(*p == ',' && digits)) {
      break;
    }
  }
  if (!digits || strncmp(p, " objects collected", 18) != 0) {
    *ok = false;
    return 0;
  }
  return v;
}

/* One recorded request: counted if it is an SMS POST answered with 200. */
static void tally_entry(json_t *e, sms_tally *t) {
  const char *ep = json_string_value(json_object_get(e, "path"));
  if (json_integer_value(json_object_get(e, "status")) != 200 || !ep ||
      strcmp(ep, "/sms/3/messages") != 0)
    return;
  t->posts++;
  json_t *msgs = json_object_get(json_object_get(e, "json"), "messages");
  size_t i;
  json_t *m;
  json_array_foreach(msgs, i, m) {
    const char *text = json_string_value(
        json_object_get(json_object_get(m, "content"), "text"));
    bool ok = text != NULL;
    uint64_t c = text ? text_count(text, &ok) : 0;
    if (!ok) t->unparsed++;
    t->objects += c;
  }
}

void bench_tally_record(const char *path, long offset, sms_tally *t) {
  memset(t, 0, sizeof *t);
  FILE *f = fopen(path, "r");
  if (!f) return;
  if (fseek(f, offset, SEEK_SET) != 0) {
    fclose(f);
    return;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, f)) > 0) {
    if (line[n - 1] != '\n') break; /* being written */
    json_t *e = json_loads(line, 0, NULL);
    if (!e) {
      t->unparsed++;
      continue;
    }
    tally_entry(e, t);
    json_decref(e);
  }
  free(line);
  fclose(f);
}
