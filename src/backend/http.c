/* libcurl helper shared by sms, email and webhook. */
#include "backend/http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* curl_global_init is not thread-safe on every libcurl we may meet, and a
 * program may open backends from several threads (the worker, gt tool). */
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;
static void global_init(void) {
  global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int gt__http_header(struct curl_slist **list, const char *name,
                    const char *value) {
  size_t n = strlen(name) + strlen(value) + 3;
  char *line = malloc(n);
  if (!line) return 0;
  snprintf(line, n, "%s: %s", name, value);
  struct curl_slist *l = curl_slist_append(*list, line);
  free(line);
  if (!l) return 0;
  *list = l;
  return 1;
}

void gt__http_sanitize(char *dst, size_t dstsz, const char *src, size_t n) {
  size_t j = 0;
  if (!dstsz) return;
  for (size_t i = 0; src && i < n && src[i] && j + 1 < dstsz; i++) {
    unsigned char c = (unsigned char)src[i];
    dst[j++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
  }
  dst[j] = '\0';
}

int gt__http_open(gt_http *h, const gt_config *cfg, const char *section,
                  const char *protocols) {
  memset(h, 0, sizeof *h);
  pthread_once(&global_once, global_init);
  if (global_rc != CURLE_OK)
    return gt__fail(GT_EBACKEND, "%s: libcurl initialisation failed: %s",
                    section, curl_easy_strerror(global_rc));
  char key[64];
  snprintf(key, sizeof key, "%s.ca_file", section);
  const char *ca = gt__config_get(cfg, key);
  if (ca) {
    FILE *f = fopen(ca, "r");
    if (!f) return gt__fail(GT_EINVAL, "%s: cannot read %s", key, ca);
    fclose(f);
    if (!(h->ca_file = strdup(ca)))
      return gt__fail(GT_ENOMEM, "%s: out of memory", key);
  }
  h->timeout_ms = cfg->timeout_ms ? (long)cfg->timeout_ms : 10000;
  h->curl = curl_easy_init();
  if (!h->curl) {
    free(h->ca_file);
    h->ca_file = NULL;
    return gt__fail(GT_ENOMEM, "%s: curl_easy_init failed", section);
  }
  CURL *c = h->curl;
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* we run on a worker thread */
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->timeout_ms);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->timeout_ms);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protocols);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "garbage-texts/" GT_VERSION_STRING);
  if (h->ca_file) curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
  return 0;
}

void gt__http_close(gt_http *h) {
  if (h->curl) curl_easy_cleanup(h->curl);
  free(h->ca_file);
  memset(h, 0, sizeof *h);
}

int gt__http_host_is_loopback(const char *host) {
  if (!host) return 0;
  if (strcasecmp(host, "localhost") == 0) return 1;
  char buf[64];
  size_t n = strlen(host);
  if (n >= sizeof buf) return 0;
  memcpy(buf, host, n + 1);
  if (n >= 2 && buf[0] == '[' && buf[n - 1] == ']') { /* libcurl keeps [] */
    buf[n - 1] = '\0';
    struct in6_addr a6;
    return inet_pton(AF_INET6, buf + 1, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
  }
  struct in_addr a4;
  if (inet_pton(AF_INET, buf, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  return 0;
}

int gt__http_url(const char *key, const char *in, char **out) {
  *out = NULL;
  if (!in || !*in) return gt__fail(GT_EINVAL, "%s: required", key);
  for (const char *p = in; *p; p++)
    if ((unsigned char)*p <= 0x20 || *p == 0x7f)
      return gt__fail(GT_EINVAL,
                      "%s: must not contain spaces or control "
                      "characters",
                      key);
  int rc = 0;
  char *withscheme = NULL;
  if (!strstr(in, "://")) {
    size_t n = strlen(in) + sizeof "https://";
    if (!(withscheme = malloc(n)))
      return gt__fail(GT_ENOMEM, "%s: out of memory", key);
    snprintf(withscheme, n, "https://%s", in);
    in = withscheme;
  }
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL, *full = NULL;
  if (!u) {
    rc = gt__fail(GT_ENOMEM, "%s: out of memory", key);
    goto done;
  }
  if (curl_url_set(u, CURLUPART_URL, in, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host) {
    rc = gt__fail(GT_EINVAL, "%s: not a valid URL", key);
    goto done;
  }
  if (strcasecmp(scheme, "https") != 0) {
    if (strcasecmp(scheme, "http") != 0) {
      rc = gt__fail(GT_EINVAL, "%s: scheme must be https", key);
      goto done;
    }
    if (!gt__http_host_is_loopback(host)) {
      rc = gt__fail(GT_EINVAL,
                    "%s: plain http:// is refused except for "
                    "loopback hosts; use https://",
                    key);
      goto done;
    }
  }
  if (curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK) {
    rc = gt__fail(GT_EINVAL, "%s: not a valid URL", key);
    goto done;
  }
  size_t n = strlen(full);
  while (n > 0 && full[n - 1] == '/')
    full[--n] = '\0';
  if (!(*out = strdup(full)))
    rc = gt__fail(GT_ENOMEM, "%s: out of memory", key);
done:
  curl_free(scheme);
  curl_free(host);
  curl_free(full);
  curl_url_cleanup(u);
  free(withscheme);
  return rc;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
  gt_http_reply *r = ud;
  size_t n = size * nmemb;
  /* A reply larger than this is not one we need to read in full. */
  if (r->len + n > (1u << 20)) return 0;
  char *b = realloc(r->body, r->len + n + 1);
  if (!b) return 0;
  memcpy(b + r->len, data, n);
  r->len += n;
  b[r->len] = '\0';
  r->body = b;
  return n;
}

static long parse_retry_after(CURL *c) {
  struct curl_header *hd = NULL;
  if (curl_easy_header(c, "Retry-After", 0, CURLH_HEADER, -1, &hd) !=
          CURLHE_OK ||
      !hd || !hd->value)
    return -1;
  const char *v = hd->value;
  while (*v == ' ')
    v++;
  if (isdigit((unsigned char)*v)) {
    char *end;
    long s = strtol(v, &end, 10);
    if (s < 0 || s > 86400) return -1;
    return s * 1000;
  }
  time_t when = curl_getdate(v, NULL);
  if (when == (time_t)-1) return -1;
  time_t now = time(NULL);
  return when > now ? (long)(when - now) * 1000 : 0;
}

/* gt_shutdown's deadline: no transfer runs past it. */
static _Atomic int64_t abort_at;

void gt__http_abort_at(int64_t mono_ms) {
  atomic_store(&abort_at, mono_ms);
}

int gt__http_perform(gt_http *h, gt_http_reply *r) {
  int64_t at = atomic_load(&abort_at);
  long timeout = h->timeout_ms;
  if (at) {
    int64_t left = at - gt__now_ms();
    timeout = left < 1 ? 1 : left < timeout ? (long)left : timeout;
  }
  curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, timeout);
  r->status = 0;
  r->retry_after_ms = -1;
  free(r->body);
  r->len = 0;
  r->body = calloc(1, 1);
  if (!r->body) {
    r->code = CURLE_OUT_OF_MEMORY;
    return -1;
  }
  h->errbuf[0] = '\0';
  curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, r);
  r->code = curl_easy_perform(h->curl);
  curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &r->status);
  if (r->code != CURLE_OK) return -1;
  r->retry_after_ms = parse_retry_after(h->curl);
  return 0;
}

int gt__http_post(gt_http *h, const char *url, struct curl_slist *headers,
                  const char *body, size_t len, curl_mime *mime,
                  gt_http_reply *r) {
  CURL *c = h->curl;
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  if (mime) {
    curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
  } else {
    curl_easy_setopt(c, CURLOPT_MIMEPOST, (curl_mime *)NULL);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  }
  int rc = gt__http_perform(h, r);
  /* The handle is reused: drop references to the caller's buffers. */
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
  curl_easy_setopt(c, CURLOPT_MIMEPOST, (curl_mime *)NULL);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, (char *)NULL);
  return rc;
}

void gt__http_reply_free(gt_http_reply *r) {
  free(r->body);
  r->body = NULL;
  r->len = 0;
}

int gt__http_status_retryable(long status) {
  return status == 429 || (status >= 500 && status <= 599);
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
  case CURLE_SSL_CONNECT_ERROR: /* handshake cut short, not a bad cert */
    res->retryable = true;
    break;
  default: /* certificate problems, bad URLs, refused logins: permanent */
    res->retryable = false;
    break;
  }
  res->retry_after_ms = -1;
  /* errbuf names hosts and reasons, never credentials or URL paths. */
  snprintf(res->detail, sizeof res->detail, "%s: %s%s%s", backend,
           curl_easy_strerror(r->code), h->errbuf[0] ? ": " : "", h->errbuf);
  return -GT_ESEND;
}
