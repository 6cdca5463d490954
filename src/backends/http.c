/* libcurl plumbing shared by sms, email, webhook and alertmanager: the
 * handles (verification always on, timeouts from gt.timeout_ms) and the
 * transfer loop, bounded by gt.timeout_ms, by a short grace once the status
 * is in, and by the shutdown deadline of gt__http_abort_at. URLs are
 * http_url.c, secrets and scrubbing http_secrets.c, what a reply means
 * http_reply.c. */
#include "backends/http.h"

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* ---- handles ------------------------------------------------------------ */

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
  gt__http_forget_secrets(h);
  memset(h, 0, sizeof *h);
}

/* ---- transfers ---------------------------------------------------------- */

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
  r->len = gt__http_scrub_secrets(h, r->body, r->len, r->code != CURLE_OK);
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
