/* fuzz_reply: the Infobip reply parser (src/backend/infobip.c), which reads
 * untrusted server text into the one-line detail that gets logged.
 *
 * Input: byte 0 picks the HTTP status, byte 1 the Retry-After; the rest is
 * the reply body. The verdict must be consistent with the status (a 2xx is
 * a delivery unless a destination is listed as refused; 401/403 are
 * authentication failures), and the detail NUL-terminated, bounded and one
 * printable line (it goes to logs and into error messages: a server must
 * not be able to inject lines). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/infobip.h"

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "fuzz_reply: invariant failed: %s (line %d)\n", #cond,   \
              __LINE__);                                                       \
      abort();                                                                 \
    }                                                                          \
  } while (0)

static const long statuses[] = {200, 201, 204, 299, 400, 401, 403, 404,
                                429, 500, 502, 503, 0,   100, 302, 999};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  long status = statuses[data[0] % (sizeof statuses / sizeof *statuses)];
  long retry_after = data[1] < 128 ? -1 : (long)(data[1] - 128) * 1000;
  size_t len = size - 2;

  /* Like http.c's reply: an exactly sized, NUL-terminated heap copy, so
   * ASan catches a read past the body. */
  char *body = malloc(len + 1);
  if (!body) return 0;
  memcpy(body, data + 2, len);
  body[len] = 0;
  gt_http_reply r = {.code = CURLE_OK,
                     .status = status,
                     .body = body,
                     .len = len,
                     .retry_after_ms = retry_after};

  gt_send_result res;
  /* Poison the detail so an unterminated one shows up below (the bools
   * must stay valid values: UBSan checks every load). */
  memset(&res, 'X', sizeof res);
  res.retryable = res.auth_failed = true;
  int rc = gt__infobip_verdict(NULL, "sms", &r, &res);

  CHECK(rc == 0 || rc == GT_ESEND);
  size_t dl = strnlen(res.detail, sizeof res.detail);
  CHECK(dl < sizeof res.detail);
  CHECK(dl > 0);
  for (size_t i = 0; i < dl; i++) {
    unsigned char c = (unsigned char)res.detail[i];
    CHECK(c >= 0x20 && c != 0x7f);
  }
  CHECK(!strncmp(res.detail, "sms: ", 5));
  CHECK(res.auth_failed == (status == 401 || status == 403));
  if (status < 200 || status >= 300) {
    CHECK(rc == GT_ESEND);
    CHECK(res.retryable == (status == 429 || (status >= 500 && status <= 599)));
    CHECK(res.retry_after_ms == retry_after);
  } else {
    CHECK(!res.retryable); /* 2xx verdicts are never retried */
    CHECK(res.retry_after_ms == -1);
    /* A 2xx is a delivery unless the body lists a refused destination. */
    if (rc != 0) CHECK(strstr(res.detail, "destinations failed"));
  }
  free(body);
  return 0;
}
