/* Shared libcurl plumbing for the network backends: one easy handle per
 * backend instance (driven through a multi handle so that a transfer can be
 * stopped at any moment), verification always on, timeouts from
 * gt.timeout_ms, and the one place where server text is cleaned of the
 * backend's secrets before it can reach a detail, a log or the spool.
 * http.c: handles and transfers; http_url.c: URLs and their masking;
 * http_secrets.c: secrets and scrubbing; http_reply.c: what a reply means. */
#ifndef GT_BACKEND_HTTP_H
#define GT_BACKEND_HTTP_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "delivery/backend.h"

#define GT_HTTP_MAX_SECRETS 16

/* Once the final status line is in, the body gets at most this long (or
 * what is left of gt.timeout_ms): the verdict is already known. */
#define GT_HTTP_GRACE_MS 2000

typedef struct gt_http {
  CURL *curl;
  CURLM *multi;
  long timeout_ms;
  char *ca_file; /* NULL: the system store */
  char errbuf[CURL_ERROR_SIZE];
  char *secrets[GT_HTTP_MAX_SECRETS]; /* longest first */
  size_t nsecrets;
  bool is_http;      /* not SMTP: status lines mean something */
  long seen_status;  /* final HTTP status of the transfer in progress */
  int64_t status_ms; /* when it arrived (CLOCK_MONOTONIC) */
} gt_http;

typedef struct gt_http_reply {
  CURLcode code; /* transport result */
  long status;   /* HTTP status or SMTP reply code; 0 if none */
  char *body;    /* NUL-terminated, never NULL after a request; scrubbed */
  size_t len;
  long retry_after_ms; /* -1 when the server sent no usable Retry-After */
  bool cut; /* the status arrived but the body was cut short (code says
               why): the status is still the server's verdict */
  char challenge[160]; /* a 401's WWW-Authenticate, one line, scrubbed;
                          tells why the credentials were refused */
} gt_http_reply;

/* Prepares a handle for `section` ("sms", "email", ...): reads
 * <section>.ca_file and gt.timeout_ms. protocols is a libcurl list such as
 * "https,http". Fails with gt__fail naming the key. */
GT_HIDDEN int gt__http_open(gt_http *h, const struct gt_config *cfg,
                            const char *section, const char *protocols);
GT_HIDDEN void gt__http_close(gt_http *h);

/* Registers text that must never leave the process through this handle's
 * replies or details (an API key, a password). NULL and values shorter
 * than 4 bytes (indistinguishable from ordinary text) are ignored.
 * Fails with GT_ENOMEM (gt__fail naming `key`). */
GT_HIDDEN int gt__http_add_secret(gt_http *h, const char *key,
                                  const char *secret);
/* Registers a login and the forms it travels in: the password, and the
 * base64 of "user:pass" (HTTP Basic), of "\0user\0pass" (SASL PLAIN) and of
 * the password alone (SASL LOGIN). */
GT_HIDDEN int gt__http_add_login(gt_http *h, const char *key, const char *user,
                                 const char *pass);
/* Registers the userinfo of a URL (user and password, raw and decoded, and
 * their login forms): libcurl sends it as Basic or SASL credentials. */
GT_HIDDEN int gt__http_add_url_secrets(gt_http *h, const char *key,
                                       const char *url);

/* Replaces, in place, every registered secret in the NUL-terminated text
 * with "***" and masks the password of any URL in it (user:***@host). cap
 * is the size of the buffer holding text. */
GT_HIDDEN void gt__http_scrub(const gt_http *h, char *text, size_t cap);

/* A backend's last step: scrubs res->detail, records it for
 * gt_last_error() when rc < 0, and returns rc. */
GT_HIDDEN int gt__http_finish(const gt_http *h, gt_send_result *res, int rc);

/* A malloc'd copy of a URL (or of a comma list of them) with the password
 * of each userinfo replaced by "***" (or the whole userinfo, when it has no
 * password: a bare token). NULL only when out of memory. */
GT_HIDDEN char *gt__http_mask_url(const char *url);

/* Normalises an HTTP(S) base URL from config key `key`: no scheme gets
 * https://, http:// is accepted only for loopback hosts, trailing slashes
 * are dropped. The value is never echoed in errors (it may carry tokens). */
GT_HIDDEN int gt__http_url(const char *key, const char *in, char **out);

/* True for 127.0.0.0/8, ::1 and localhost. */
GT_HIDDEN int gt__http_host_is_loopback(const char *host);

/* POSTs either a body (len bytes) or a MIME form. Always fills r; returns 0
 * when a status was received (any status, r->cut when the body then failed
 * to arrive), -1 on transport failure. */
GT_HIDDEN int gt__http_post(gt_http *h, const char *url,
                            struct curl_slist *headers, const char *body,
                            size_t len, curl_mime *mime, gt_http_reply *r);
GT_HIDDEN void gt__http_reply_free(gt_http_reply *r);

/* Runs a prepared transfer (for SMTP, whose options the caller set). It
 * stops early at the deadline of gt__http_abort_at and, for HTTP, once the
 * body has had GT_HTTP_GRACE_MS after the final status line. */
GT_HIDDEN int gt__http_perform(gt_http *h, gt_http_reply *r);

/* Fills res for a transport failure: retryable for timeouts and connection
 * trouble, permanent for certificate problems. Returns GT_ESEND. */
GT_HIDDEN int gt__http_transport_fail(const gt_http *h, const gt_http_reply *r,
                                      const char *backend, gt_send_result *res);

/* True for statuses worth retrying: 429 and 5xx. */
GT_HIDDEN int gt__http_status_retryable(long status);
/* True for statuses that refuse our credentials: 401 and 403. */
GT_HIDDEN bool gt__http_status_auth(long status);

/* " [WWW-Authenticate: <challenge>]" after a 401 that sent one, else "". */
GT_HIDDEN const char *gt__http_challenge_note(const gt_http_reply *r, char *buf,
                                              size_t n);

/* " (the reply was cut short: <why>)" for a cut reply, else "". */
GT_HIDDEN const char *gt__http_cut_note(const gt_http *h,
                                        const gt_http_reply *r, char *buf,
                                        size_t n);

/* Appends "Name: value" to a header list; false on allocation failure. */
GT_HIDDEN int gt__http_header(struct curl_slist **list, const char *name,
                              const char *value);

/* Copies up to n bytes of untrusted text into dst as one printable line. */
GT_HIDDEN void gt__http_sanitize(char *dst, size_t dstsz, const char *src,
                                 size_t n);

/* ---- between the http*.c files only ------------------------------------- */

/* Copies in into out (cap bytes, truncated) with the userinfo of every URL
 * masked as gt__http_scrub does. */
GT_HIDDEN void gt__http_mask_userinfo(const char *in, char *out, size_t cap);
/* Replaces each registered secret in s[0..len) (which may hold NULs) by
 * "***"; with tail, also a secret's beginning left at the very end of a
 * cut-off text. Never grows the text; returns its new length. */
GT_HIDDEN size_t gt__http_scrub_secrets(const gt_http *h, char *s, size_t len,
                                        bool tail);
/* Wipes and frees every registered secret (gt__http_close). */
GT_HIDDEN void gt__http_forget_secrets(gt_http *h);

#endif
