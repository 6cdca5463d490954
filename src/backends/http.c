/* libcurl plumbing shared by sms, email, webhook and alertmanager: the
 * transfer loop (bounded by gt.timeout_ms, by a short grace once the status
 * is in, and by the shutdown deadline of gt__http_abort_at), and the
 * scrubbing of server text before it can reach a detail. */
#include "backends/http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <mbedtls/base64.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The longest a transfer waits in curl_multi_poll before it looks at the
 * deadlines again: gt__http_abort_at may be called from another thread. */
#define POLL_SLICE_MS 20

/* curl_global_init is not thread-safe on every libcurl we may meet, and a
 * program may open backends from several threads (the worker, gt tool). */
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;
static void global_init(void) {
  global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static _Atomic int64_t abort_at_ms; /* 0: no deadline */

void gt__http_abort_at(int64_t mono_ms) {
  atomic_store_explicit(&abort_at_ms, mono_ms, memory_order_release);
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

/* ---- secrets --------------------------------------------------------------
 */

static void wipe_free(char *s) {
  if (!s) return;
  volatile char *v = s; /* volatile so the wipe is not optimised away */
  while (*v)
    *v++ = 0;
  free(s);
}

/* Shorter values cannot be told from ordinary text (a password "p" would
 * star every p of every detail) and protect nothing: not scrubbed. */
#define MIN_SECRET 4

int gt__http_add_secret(gt_http *h, const char *key, const char *secret) {
  if (!secret || strlen(secret) < MIN_SECRET) return 0;
  for (size_t i = 0; i < h->nsecrets; i++)
    if (strcmp(h->secrets[i], secret) == 0) return 0;
  if (h->nsecrets == GT_HTTP_MAX_SECRETS)
    return gt__fail(GT_EINVAL, "%s: too many credentials", key);
  char *copy = strdup(secret);
  if (!copy) return gt__fail(GT_ENOMEM, "%s: out of memory", key);
  /* Longest first: a secret that contains another is replaced whole. */
  size_t i = h->nsecrets++, n = strlen(copy);
  for (; i > 0 && strlen(h->secrets[i - 1]) < n; i--)
    h->secrets[i] = h->secrets[i - 1];
  h->secrets[i] = copy;
  return 0;
}

static int add_b64(gt_http *h, const char *key, const unsigned char *data,
                   size_t n) {
  size_t olen = 0;
  mbedtls_base64_encode(NULL, 0, &olen, data, n); /* asks for the size */
  unsigned char *out = malloc(olen + 1);
  if (!out) return gt__fail(GT_ENOMEM, "%s: out of memory", key);
  int rc = 0;
  if (mbedtls_base64_encode(out, olen + 1, &olen, data, n) == 0) {
    out[olen] = 0;
    rc = gt__http_add_secret(h, key, (char *)out);
  }
  memset(out, 0, olen);
  free(out);
  return rc;
}

int gt__http_add_login(gt_http *h, const char *key, const char *user,
                       const char *pass) {
  if (!pass || !*pass) return 0;
  int rc = gt__http_add_secret(h, key, pass);
  if (rc == 0) rc = add_b64(h, key, (const unsigned char *)pass, strlen(pass));
  if (rc < 0 || !user) return rc;
  size_t nu = strlen(user), np = strlen(pass);
  unsigned char *buf = malloc(nu + np + 2);
  if (!buf) return gt__fail(GT_ENOMEM, "%s: out of memory", key);
  memcpy(buf, user, nu); /* user:pass, HTTP Basic */
  buf[nu] = ':';
  memcpy(buf + nu + 1, pass, np);
  rc = add_b64(h, key, buf, nu + np + 1);
  buf[0] = 0; /* \0user\0pass, SASL PLAIN */
  memcpy(buf + 1, user, nu);
  buf[nu + 1] = 0;
  memcpy(buf + nu + 2, pass, np);
  if (rc == 0) rc = add_b64(h, key, buf, nu + np + 2);
  memset(buf, 0, nu + np + 2);
  free(buf);
  return rc;
}

int gt__http_add_url_secrets(gt_http *h, const char *key, const char *url) {
  if (!url) return 0;
  CURLU *u = curl_url();
  if (!u) return gt__fail(GT_ENOMEM, "%s: out of memory", key);
  char *user = NULL, *pass = NULL, *duser = NULL, *dpass = NULL;
  int rc = 0;
  if (curl_url_set(u, CURLUPART_URL, url,
                   CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) ==
      CURLUE_OK) {
    curl_url_get(u, CURLUPART_USER, &user, 0);
    curl_url_get(u, CURLUPART_PASSWORD, &pass, 0);
    curl_url_get(u, CURLUPART_USER, &duser, CURLU_URLDECODE);
    curl_url_get(u, CURLUPART_PASSWORD, &dpass, CURLU_URLDECODE);
    if (pass) {
      rc = gt__http_add_secret(h, key, pass);
      if (rc == 0) rc = gt__http_add_login(h, key, duser, dpass);
    } else if (user && duser) { /* a bare token, sent as Basic "tok:" */
      size_t n = strlen(duser);
      char *basic = malloc(n + 2);
      if (!basic) {
        rc = gt__fail(GT_ENOMEM, "%s: out of memory", key);
      } else {
        snprintf(basic, n + 2, "%s:", duser);
        rc = gt__http_add_secret(h, key, user);
        if (rc == 0) rc = gt__http_add_secret(h, key, duser);
        if (rc == 0) rc = add_b64(h, key, (const unsigned char *)basic, n + 1);
        memset(basic, 0, n + 1);
        free(basic);
      }
    }
  }
  curl_free(user);
  curl_free(pass);
  curl_free(duser);
  curl_free(dpass);
  curl_url_cleanup(u);
  return rc;
}

/* Replaces each registered secret in s[0..len) (which may hold NULs) by
 * "***"; with tail, also a secret's beginning left at the very end of a
 * cut-off text. Never grows the text; returns its new length. */
static size_t scrub_secrets(const gt_http *h, char *s, size_t len, bool tail) {
  for (size_t k = 0; h && k < h->nsecrets; k++) {
    const char *sec = h->secrets[k];
    size_t n = strlen(sec), rep = 3; /* n >= MIN_SECRET: never grows */
    char *p = s;
    while ((p = memmem(p, len - (size_t)(p - s), sec, n))) {
      memset(p, '*', rep);
      memmove(p + rep, p + n, len - (size_t)(p + n - s));
      len -= n - rep;
      p += rep;
    }
    /* A text cut mid-secret ends with its first bytes. */
    for (size_t m = n - 1; tail && m >= MIN_SECRET; m--)
      if (m <= len && memcmp(s + len - m, sec, m) == 0) {
        memcpy(s + len - m, "***", 3);
        len -= m - 3;
        break;
      }
  }
  return len;
}

/* Copies in into out (cap bytes, truncated) with the password of every
 * "scheme://user:pass@" replaced by "***", or the whole userinfo when it
 * has no password. The authority ends at the first / ? # or space. */
static void mask_userinfo(const char *in, char *out, size_t cap) {
  size_t o = 0;
#define PUT(ptr, n)                                                            \
  do {                                                                         \
    size_t n_ = (n);                                                           \
    if (n_ > cap - 1 - o) n_ = cap - 1 - o;                                    \
    memcpy(out + o, (ptr), n_);                                                \
    o += n_;                                                                   \
  } while (0)
  const char *p = in, *k;
  while ((k = strstr(p, "://"))) {
    const char *a = k + 3, *end = a, *at = NULL;
    while (*end && !strchr("/?#", *end) && !isspace((unsigned char)*end) &&
           *end != '"' && *end != '<' && *end != '>') {
      if (*end == '@') at = end;
      end++;
    }
    PUT(p, (size_t)(a - p));
    if (at) {
      const char *colon = memchr(a, ':', (size_t)(at - a));
      if (colon) PUT(a, (size_t)(colon + 1 - a));
      PUT("***", 3);
      p = at;
    } else {
      p = a;
    }
  }
  PUT(p, strlen(p));
#undef PUT
  out[o] = '\0';
}

void gt__http_scrub(const gt_http *h, char *text, size_t cap) {
  if (!text || !cap) return;
  size_t len = scrub_secrets(h, text, strnlen(text, cap - 1), false);
  text[len] = '\0';
  if (!strstr(text, "://")) return;
  char *tmp = malloc(cap);
  if (!tmp) { /* cannot mask: hide the whole text rather than risk it */
    snprintf(text, cap, "(text withheld: out of memory)");
    return;
  }
  mask_userinfo(text, tmp, cap);
  memcpy(text, tmp, strlen(tmp) + 1);
  free(tmp);
}

int gt__http_finish(const gt_http *h, gt_send_result *res, int rc) {
  gt__http_scrub(h, res->detail, sizeof res->detail);
  if (rc < 0) gt__fail(GT_ESEND, "%s", res->detail);
  return rc;
}

/* libcurl's reading of a URL with its userinfo masked, normalised (a
 * guessed scheme left out); NULL when it has no userinfo or is no URL. */
static char *curl_masked(const char *url) {
  char *shown = NULL, *user = NULL, *pass = NULL, *full = NULL;
  CURLU *u = curl_url();
  if (u && curl_url_set(u, CURLUPART_URL, url,
                        CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) ==
               CURLUE_OK) {
    curl_url_get(u, CURLUPART_USER, &user, 0);
    curl_url_get(u, CURLUPART_PASSWORD, &pass, 0);
    if ((pass || user) &&
        (pass ? curl_url_set(u, CURLUPART_PASSWORD, "***", 0)
              : curl_url_set(u, CURLUPART_USER, "***", 0)) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK) {
      const char *sep = strstr(full, "://");
      shown = strdup(!strstr(url, "://") && sep ? sep + 3 : full);
    }
  }
  curl_free(user);
  curl_free(pass);
  curl_free(full);
  curl_url_cleanup(u);
  return shown;
}

char *gt__http_mask_url(const char *url) {
  if (!url) return NULL;
  /* libcurl says whether there is a userinfo (also without a scheme:
   * "user:pw@host"); the scan masks it where it stands, so the value keeps
   * its shape, and masks every URL of a comma list. */
  char *by_curl = curl_masked(url);
  bool schemeless = !strstr(url, "://");
  size_t n = strlen(url), cap = 2 * n + 16;
  char *src = malloc(n + 4), *out = malloc(cap);
  if (!src || !out) {
    free(by_curl);
    free(src);
    free(out);
    return NULL;
  }
  snprintf(src, n + 4, "%s%s", by_curl && schemeless ? "://" : "", url);
  mask_userinfo(src, out, cap);
  if (by_curl && schemeless) memmove(out, out + 3, strlen(out + 3) + 1);
  if (by_curl && strcmp(out, url) == 0) { /* the scan saw none: trust curl */
    size_t bn = strlen(by_curl);
    if (bn * 2 + 16 > cap) {
      char *o = realloc(out, bn * 2 + 16);
      if (!o) {
        free(by_curl);
        free(src);
        free(out);
        return NULL;
      }
      out = o;
      cap = bn * 2 + 16;
    }
    mask_userinfo(by_curl, out, cap);
  }
  free(by_curl);
  free(src);
  return out;
}

/* ---- handles --------------------------------------------------------------
 */

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
  h->is_http = strncmp(protocols, "http", 4) == 0;
  h->curl = curl_easy_init();
  h->multi = curl_multi_init();
  if (!h->curl || !h->multi) {
    gt__http_close(h);
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
  /* The easy handle is never left in the multi (see run_transfer). */
  if (h->multi) curl_multi_cleanup(h->multi);
  if (h->curl) curl_easy_cleanup(h->curl);
  free(h->ca_file);
  for (size_t i = 0; i < h->nsecrets; i++)
    wipe_free(h->secrets[i]);
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

/* Keeps the first MiB of a reply: enough for any verdict. Past it the
 * transfer is stopped (CURLE_WRITE_ERROR); with a status in, that is a
 * reply cut short, not a failure. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
  gt_http_reply *r = ud;
  size_t n = size * nmemb;
  if (r->len + n > (1u << 20)) return 0;
  char *b = realloc(r->body, r->len + n + 1);
  if (!b) return 0;
  memcpy(b + r->len, data, n);
  r->len += n;
  b[r->len] = '\0';
  r->body = b;
  return n;
}

/* Notes the final status line ("HTTP/1.1 200 OK", "HTTP/2 204") and when
 * it came; 1xx lines are interim. SMTP replies are not status lines. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *ud) {
  gt_http *h = ud;
  size_t n = size * nmemb;
  if (h->is_http && n > 9 && memcmp(data, "HTTP/", 5) == 0) {
    const char *sp = memchr(data, ' ', n);
    size_t at = sp ? (size_t)(sp - data) + 1 : n;
    long code = 0;
    for (size_t i = at; i < n && i < at + 3 && isdigit((unsigned char)data[i]);
         i++)
      code = code * 10 + (data[i] - '0');
    if (code >= 200 && code <= 999) {
      h->seen_status = code;
      h->status_ms = gt__now_ms();
    }
  }
  return n;
}

/* A 401's WWW-Authenticate (the scheme and realm the server wants, maybe
 * an error code), as one printable line. */
static void read_challenge(CURL *c, gt_http_reply *r) {
  struct curl_header *hd = NULL;
  r->challenge[0] = '\0';
  if (r->status == 401 &&
      curl_easy_header(c, "WWW-Authenticate", 0, CURLH_HEADER, -1, &hd) ==
          CURLHE_OK &&
      hd && hd->value)
    gt__http_sanitize(r->challenge, sizeof r->challenge, hd->value,
                      sizeof r->challenge - 1);
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

/* Drives one transfer through the multi handle in slices of at most
 * POLL_SLICE_MS, so that it stops within a slice of the shutdown deadline
 * (set from any thread) and of the grace after the status line. */
static CURLcode run_transfer(gt_http *h) {
  int64_t start = gt__now_ms();
  int64_t stop = atomic_load_explicit(&abort_at_ms, memory_order_acquire);
  if (stop && start >= stop) {
    snprintf(h->errbuf, sizeof h->errbuf,
             "not started: the shutdown deadline has passed");
    return CURLE_OPERATION_TIMEDOUT;
  }
  if (curl_multi_add_handle(h->multi, h->curl) != CURLM_OK)
    return CURLE_OUT_OF_MEMORY;
  CURLcode code = CURLE_RECV_ERROR;
  for (;;) {
    int running = 0, left;
    if (curl_multi_perform(h->multi, &running) != CURLM_OK) {
      code = CURLE_OUT_OF_MEMORY;
      break;
    }
    CURLMsg *m;
    bool done = false;
    while ((m = curl_multi_info_read(h->multi, &left)))
      if (m->msg == CURLMSG_DONE) {
        code = m->data.result;
        done = true;
      }
    if (done || !running) break;
    int64_t now = gt__now_ms();
    stop = atomic_load_explicit(&abort_at_ms, memory_order_acquire);
    if (stop && now >= stop) {
      snprintf(h->errbuf, sizeof h->errbuf,
               "stopped: the shutdown deadline has passed");
      code = CURLE_OPERATION_TIMEDOUT;
      break;
    }
    int64_t grace_end = 0;
    if (h->seen_status) {
      grace_end = h->status_ms + GT_HTTP_GRACE_MS;
      if (grace_end > start + h->timeout_ms) grace_end = start + h->timeout_ms;
      if (now >= grace_end) {
        snprintf(h->errbuf, sizeof h->errbuf,
                 "the body stalled after the status line");
        code = CURLE_OPERATION_TIMEDOUT;
        break;
      }
    }
    int64_t wait = POLL_SLICE_MS;
    if (stop && stop - now < wait) wait = stop - now;
    if (grace_end && grace_end - now < wait) wait = grace_end - now;
    curl_multi_poll(h->multi, NULL, 0, (int)(wait > 0 ? wait : 1), NULL);
  }
  /* Also closes a connection whose transfer was stopped half-way. */
  curl_multi_remove_handle(h->multi, h->curl);
  return code;
}

int gt__http_perform(gt_http *h, gt_http_reply *r) {
  r->status = 0;
  r->retry_after_ms = -1;
  r->cut = false;
  r->challenge[0] = '\0';
  free(r->body);
  r->len = 0;
  r->body = calloc(1, 1);
  if (!r->body) {
    r->code = CURLE_OUT_OF_MEMORY;
    return -1;
  }
  h->errbuf[0] = '\0';
  h->seen_status = 0;
  h->status_ms = 0;
  curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, h);
  r->code = run_transfer(h);
  curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &r->status);
  if (h->seen_status) r->status = h->seen_status;
  /* Nothing a server sent goes further with a secret in it; a cut body
   * may end with the first bytes of one. */
  bool got_status = r->code == CURLE_OK || h->seen_status;
  r->len = scrub_secrets(h, r->body, r->len, r->code != CURLE_OK);
  r->body[r->len] = '\0';
  gt__http_scrub(h, h->errbuf, sizeof h->errbuf);
  if (!got_status) return -1;
  r->cut = r->code != CURLE_OK;
  r->retry_after_ms = parse_retry_after(h->curl);
  read_challenge(h->curl, r);
  gt__http_scrub(h, r->challenge, sizeof r->challenge);
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
