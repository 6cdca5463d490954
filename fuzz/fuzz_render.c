/* fuzz_render: the template checker and renderer (src/render.c).
 *
 * Input: the template text. gt__render_check must accept or reject it with
 * an error naming the key; an accepted template is rendered (as both the
 * batch and the single template) against a few fixed batches that reach
 * every placeholder's branches. The renderer is also run on rejected
 * templates: it promises to be safe on those too. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/internal.h"

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "fuzz_render: invariant failed: %s (line %d)\n", #cond,  \
              __LINE__);                                                       \
      abort();                                                                 \
    }                                                                          \
  } while (0)

#define NBATCH 4
static gt_batch batches[NBATCH];

static void add(gt_batch *b, enum gt_group_by by, uint32_t site, int kind,
                uint64_t n, uint64_t size, bool sampled) {
  /* Aged events, so the age part of {names} is rendered too. */
  gt_event ev = {.site = site,
                 .kind = (uint8_t)kind,
                 .size = size,
                 .flags = GT_EVF_AGE,
                 .birth_gc = 1,
                 .death_gc = 3,
                 .birth_ms = 1000};
  if (!site || gt__batch_add(b, by, &ev, n, sampled, 5000) != 0)
    abort(); /* the fixture itself is broken: not a finding */
}

/* Names and files hold no braces, so braces in the output can only come
 * from the template (see count_braces). */
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  char longname[300], longfile[700];
  memset(longname, 'N', sizeof longname - 1);
  longname[sizeof longname - 1] = 0;
  memset(longfile, 'd', sizeof longfile - 1);
  longfile[0] = '/';
  longfile[sizeof longfile - 1] = 0;

  /* 0: one object, one site: the single template. */
  gt__batch_init(&batches[0]);
  add(&batches[0], GT_GROUP_NAME, gt__intern_site("Node", "src/list.c", 42),
      GT_EV_COLLECTED, 1, 48, true);

  /* 1: twelve names (more than the ten listed), one with two sites, one
   * without a file, and explicit frees. */
  gt__batch_init(&batches[1]);
  batches[1].seq = 7;
  for (int i = 0; i < 12; i++) {
    char name[32];
    snprintf(name, sizeof name, "Type%d", i);
    add(&batches[1], GT_GROUP_NAME,
        gt__intern_site(name, i % 3 ? "lib/x.c" : NULL, 100 + i),
        GT_EV_COLLECTED, (uint64_t)(i + 1) * 1000, 16, i % 2);
  }
  add(&batches[1], GT_GROUP_NAME, gt__intern_site("Type0", "other.c", 9),
      GT_EV_COLLECTED, 5, 16, false);
  add(&batches[1], GT_GROUP_NAME, gt__intern_site("Type1", "lib/x.c", 101),
      GT_EV_FREED, 1234567, 0, false);
  gt__batch_sort(&batches[1]);

  /* 2: sampled allocation (estimates, "~"), by site, huge counts, a name
   * and a path longer than the renderer's buffers. */
  gt__batch_init(&batches[2]);
  batches[2].scale = 1000;
  batches[2].seq = UINT64_MAX;
  add(&batches[2], GT_GROUP_SITE, gt__intern_site(longname, longfile, 1 << 30),
      GT_EV_COLLECTED, UINT64_MAX / 2, UINT64_MAX / 4, true);
  add(&batches[2], GT_GROUP_SITE, gt__intern_site("Node", "src/list.c", 42),
      GT_EV_COLLECTED, 1, 1, false);
  gt__batch_sort(&batches[2]);

  /* 3: nothing collected, only frees, no grouping. */
  gt__batch_init(&batches[3]);
  add(&batches[3], GT_GROUP_NONE, gt__intern_site("object", NULL, 0),
      GT_EV_FREED, 3, 0, false);
  return 0;
}

/* How many '{' a valid template renders to: one per "{{". */
static size_t count_braces(const char *t) {
  size_t n = 0;
  for (const char *p = t; (p = strchr(p, '{'));) {
    if (p[1] == '{') {
      n++;
      p += 2;
    } else {
      p = strchr(p, '}') + 1; /* valid: the '}' exists */
    }
  }
  return n;
}

/* A template without placeholders as it renders: "}}" is one '}'. */
static bool renders_as(const char *out, const char *t) {
  for (; *t; t++, out++) {
    if (*out != *t) return false;
    if (t[0] == '}' && t[1] == '}') t++;
  }
  return *out == '\0';
}

static size_t count_char(const char *s, char c) {
  size_t n = 0;
  for (; *s; s++)
    n += *s == c;
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *tpl = malloc(size + 1);
  if (!tpl) return 0;
  memcpy(tpl, data, size);
  tpl[size] = 0;

  gt__clear_error();
  int rc = gt__render_check("gt.template", tpl);
  CHECK(rc == 0 || rc == GT_EINVAL);
  if (rc) {
    const char *err = gt_last_error();
    CHECK(!strncmp(err, "gt.template: ", 13));
  }

  gt_config cfg;
  memset(&cfg, 0, sizeof cfg);
  for (int as = 0; as < 2; as++) {
    cfg.template_batch = as ? NULL : tpl;
    cfg.template_single = as ? tpl : NULL;
    for (int i = 0; i < NBATCH; i++) {
      char *out = gt__render(&cfg, &batches[i]);
      CHECK(out != NULL);
      size_t olen = strlen(out);
      /* The template or the default was used: which one is known. */
      bool single = batches[i].collected == 1 && batches[i].freed == 0 &&
                    batches[i].scale == 1;
      bool used = *tpl && (as ? single : !single);
      if (used && rc == 0) {
        CHECK(count_char(out, '{') == count_braces(tpl));
        if (!strchr(tpl, '{')) CHECK(renders_as(out, tpl));
        /* Each placeholder is at least 4 bytes and expands to at most
         * ten names of a few hundred bytes each (sites are cut at 512). */
        CHECK(olen <= size + (size / 4 + 1) * 12 * 1200);
      }
      free(out);
    }
  }
  free(tpl);
  return 0;
}
