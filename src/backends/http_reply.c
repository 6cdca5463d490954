/* What a reply means: which statuses and transport failures are worth
 * retrying and which refuse our credentials, the notes a backend adds to its
 * detail (a 401's challenge, a reply cut short), and server text made into
 * one printable line. The text they quote was scrubbed by the transfer. */
#include <stdio.h>
#include <string.h>

#include "backends/http.h"

void gt__http_sanitize(char *dst, size_t dstsz, const char *src, size_t n) {
  size_t j = 0;
  if (!dstsz) return;
  for (size_t i = 0; src && i < n && src[i] && j + 1 < dstsz; i++) {
    unsigned char c = (unsigned char)src[i];
    dst[j++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
  }
  dst[j] = '\0';
}

int gt__http_status_retryable(long status) {
  return status == 429 || (status >= 500 && status <= 599);
}

bool gt__http_status_auth(long status) {
  return status == 401 || status == 403;
}

const char *gt__http_challenge_note(const gt_http_reply *r, char *buf,
                                    size_t n) {
  if (!r->challenge[0]) return "";
  snprintf(buf, n, " [WWW-Authenticate: %s]", r->challenge);
  return buf;
}

const char *gt__http_cut_note(const gt_http *h, const gt_http_reply *r,
                              char *buf, size_t n) {
  if (!r->cut) return "";
  snprintf(buf, n, " (the reply was cut short: %s%s%s)",
           curl_easy_strerror(r->code), h->errbuf[0] ? ": " : "", h->errbuf);
  return buf;
}

int gt__http_transport_fail(const gt_http *h, const gt_http_reply *r,
                            const char *backend, gt_send_result *res) {
  switch (r->code) {
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_COULDNT_CONNECT:
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
  case CURLE_OUT_OF_MEMORY:
  case CURLE_SSL_CONNECT_ERROR: /* handshake cut short, not a bad cert */
    res->retryable = true;
    break;
  default: /* certificate problems, bad URLs, refused logins: permanent */
    res->retryable = false;
    break;
  }
  res->retry_after_ms = -1;
  res->auth_failed = r->code == CURLE_LOGIN_DENIED;
  /* errbuf was scrubbed of this handle's secrets and URL passwords. */
  snprintf(res->detail, sizeof res->detail, "%s: %s%s%s", backend,
           curl_easy_strerror(r->code), h->errbuf[0] ? ": " : "", h->errbuf);
  return GT_ESEND;
}
