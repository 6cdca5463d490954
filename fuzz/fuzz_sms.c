/* fuzz_sms: the SMS segment counter and fitter (src/backend/sms_text.c).
 *
 * Input: byte 0 picks max_segments, the rest is the text (any bytes, so
 * invalid UTF-8 and embedded NULs too). Besides the sanitizers, checks the
 * invariants the sms backend relies on; a violation calls abort() so
 * libFuzzer keeps the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/sms_text.h"

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "fuzz_sms: invariant failed: %s (line %d)\n", #cond,     \
              __LINE__);                                                       \
      abort();                                                                 \
    }                                                                          \
  } while (0)

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF),
 * written independently of sms_text.c so the two can disagree. */
static int utf8_valid(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    size_t len;
    uint32_t v;
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF)
      len = 2, v = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
      len = 3, v = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
      len = 4, v = c & 0x07;
    else
      return 0;
    if (i + len > n) return 0;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return 0;
      v = (v << 6) | (s[i + k] & 0x3F);
    }
    if ((len == 3 && v < 0x800) || (len == 4 && v < 0x10000) || v > 0x10FFFF ||
        (v >= 0xD800 && v <= 0xDFFF))
      return 0;
    i += len;
  }
  return 1;
}

/* Plain ASCII letters, digits and spaces: GSM-7, one septet each. */
static int all_plain(const unsigned char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
          (s[i] >= '0' && s[i] <= '9') || s[i] == ' '))
      return 0;
  return 1;
}

static void check_count(const char *t, size_t n, gt_sms_count c) {
  size_t single = c.ucs2 ? 70 : 160, part = c.ucs2 ? 67 : 153;
  CHECK((n == 0) == (c.units == 0));
  CHECK((c.units == 0) == (c.segments == 0));
  /* A byte costs at most 2 units: an escaped GSM character ('^') is one
   * byte and two septets; in UCS-2 an invalid byte is one unit and a valid
   * character at least one byte per unit. */
  CHECK(c.units <= 2 * n);
  if (c.units && c.units <= single) CHECK(c.segments == 1);
  if (c.units > single) {
    /* Every part is full but for an unsplittable pair at its end. */
    CHECK(c.segments >= (c.units + part - 1) / part);
    CHECK(c.segments <= (c.units + part - 2) / (part - 1));
  }
  if (all_plain((const unsigned char *)t, n)) CHECK(!c.ucs2 && c.units == n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  /* 0..10 is the range sms.max_segments accepts (0 means 1 to the fitter);
   * 255 exercises a text that always fits. */
  size_t max_segments = data[0] % 12 == 11 ? 255 : data[0] % 12;
  const char *raw = (const char *)data + 1;
  size_t n = size - 1;

  gt_sms_count c = gt__sms_count(raw, n);
  check_count(raw, n, c);

  /* Cutting before an ASCII byte cannot change how the prefix decodes (an
   * ASCII byte never continues a sequence), so its count cannot be larger. */
  for (size_t cut = n / 2; cut < n; cut++) {
    if ((unsigned char)raw[cut] < 0x80) {
      gt_sms_count p = gt__sms_count(raw, cut);
      check_count(raw, cut, p);
      CHECK(p.segments <= c.segments);
      break;
    }
  }

  /* The fitter takes a C string: stop at the first NUL like a caller. */
  char *text = malloc(n + 1);
  if (!text) return 0;
  memcpy(text, raw, n);
  text[n] = 0;
  size_t len = strlen(text);
  size_t eff = max_segments ? max_segments : 1;
  gt_sms_count tc = gt__sms_count(text, len);

  char *fit = gt__sms_fit(text, max_segments);
  CHECK(fit != NULL);
  size_t flen = strlen(fit);
  gt_sms_count fc = gt__sms_count(fit, flen);
  CHECK(fc.segments <= eff);
  if (tc.segments <= eff) {
    CHECK(strcmp(fit, text) == 0); /* fits already: unchanged */
  } else {
    /* A prefix of the text plus " +N more" (N < 10^20) or "...". */
    CHECK(flen <= len + 27); /* " +" 20 digits " more" */
    size_t keep;
    if (flen >= 3 && !strcmp(fit + flen - 3, "...")) {
      keep = flen - 3;
    } else {
      const char *m = strstr(fit, " +");
      const char *last = m;
      while (m && (m = strstr(m + 1, " +")))
        last = m;
      CHECK(last && flen >= 6 && !strcmp(fit + flen - 5, " more"));
      keep = (size_t)(last - fit);
      for (const char *d = last + 2; d < fit + flen - 5; d++)
        CHECK(*d >= '0' && *d <= '9');
    }
    CHECK(keep <= len && memcmp(fit, text, keep) == 0);
  }
  if (utf8_valid((const unsigned char *)text, len))
    CHECK(utf8_valid((const unsigned char *)fit, flen));
  free(fit);
  free(text);
  return 0;
}
