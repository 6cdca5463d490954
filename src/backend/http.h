/* Shared libcurl plumbing for the network backends: one easy handle per
 * backend instance, verification always on, timeouts from gt.timeout_ms. */
#ifndef GT_BACKEND_HTTP_H
#define GT_BACKEND_HTTP_H

#include <curl/curl.h>
#include <stddef.h>

#include "gt_internal.h"

typedef struct gt_http {
  CURL *curl;
  long timeout_ms;
  char *ca_file; /* NULL: the system store */
  char errbuf[CURL_ERROR_SIZE];
} gt_http;

typedef struct gt_http_reply {
  CURLcode code; /* transport result */
  long status;   /* HTTP status or SMTP reply code; 0 if none */
  char *body;    /* NUL-terminated, never NULL after a request */
  size_t len;
  long retry_after_ms; /* -1 when the server sent no usable Retry-After */
} gt_http_reply;

/* Prepares a handle for `section` ("sms", "email", ...): reads
 * <section>.ca_file and gt.timeout_ms. protocols is a libcurl list such as
 * "https,http". Fails with gt__fail naming the key. */
GT_HIDDEN int gt__http_open(gt_http *h, const struct gt_config *cfg,
                            const char *section, const char *protocols);
GT_HIDDEN void gt__http_close(gt_http *h);

/* Normalises an HTTP(S) base URL from config key `key`: no scheme gets
 * https://, http:// is accepted only for loopback hosts, trailing slashes
 * are dropped. The value is never echoed in errors (it may carry tokens). */
GT_HIDDEN int gt__http_url(const char *key, const char *in, char **out);

/* True for 127.0.0.0/8, ::1 and localhost. */
GT_HIDDEN int gt__http_host_is_loopback(const char *host);

/* POSTs either a body (len bytes) or a MIME form. Always fills r; returns 0
 * when a status was received (any status), -1 on transport failure. */
GT_HIDDEN int gt__http_post(gt_http *h, const char *url,
                            struct curl_slist *headers, const char *body,
                            size_t len, curl_mime *mime, gt_http_reply *r);
GT_HIDDEN void gt__http_reply_free(gt_http_reply *r);

/* Runs a prepared transfer (for SMTP, whose options the caller set). */
GT_HIDDEN int gt__http_perform(gt_http *h, gt_http_reply *r);

/* Fills res for a transport failure: retryable for timeouts and connection
 * trouble, permanent for certificate problems. Returns -GT_ESEND. */
GT_HIDDEN int gt__http_transport_fail(const gt_http *h, const gt_http_reply *r,
                                      const char *backend, gt_send_result *res);

/* True for statuses worth retrying: 429 and 5xx. */
GT_HIDDEN int gt__http_status_retryable(long status);

/* Appends "Name: value" to a header list; false on allocation failure. */
GT_HIDDEN int gt__http_header(struct curl_slist **list, const char *name,
                              const char *value);

/* Copies up to n bytes of untrusted text into dst as one printable line. */
GT_HIDDEN void gt__http_sanitize(char *dst, size_t dstsz, const char *src,
                                 size_t n);

#endif
