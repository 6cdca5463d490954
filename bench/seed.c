/* gt-bench child: e2e's mode `seed`, the seed blog post's design. Every
 * object is GC_MALLOC'ed with an ordered finalizer that POSTs one SMS
 * (/sms/3/messages of the mock, synchronously, libcurl with one reused
 * handle, TLS verified against the test CA) before it returns, as the
 * seed's __del__ does.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#ifndef GC_THREADS
#define GC_THREADS
#endif
#include <gc/gc.h>

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "child.h"

static CURL *g_curl;
static struct curl_slist *g_headers;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t g_ok, g_failed;

static size_t discard_body(char *p, size_t size, size_t n, void *ud) {
  (void)p;
  (void)ud;
  return size * n;
}

/* The seed's message for one object, as Infobip's JSON. */
static char *seed_body(const char *name) {
  char text[256];
  snprintf(text, sizeof text,
           "The object with name %s is being removed "
           "from memory!",
           name);
  json_t *b = json_pack("{s:[{s:s,s:[{s:s}],s:{s:s}}]}", "messages", "sender",
                        "GarbageTexts", "destinations", "to", BENCH_E2E_TO,
                        "content", "text", text);
  char *s = b ? json_dumps(b, JSON_COMPACT) : NULL;
  json_decref(b);
  return s;
}

/* The seed's __del__: one SMS per object, sent before the finalizer
 * returns. */
static void GC_CALLBACK seed_finalizer(void *obj, void *cd) {
  (void)obj;
  char *body = seed_body((const char *)cd);
  long code = 0;
  CURLcode rc = CURLE_OUT_OF_MEMORY;
  pthread_mutex_lock(&g_mu);
  if (body) {
    curl_easy_setopt(g_curl, CURLOPT_POSTFIELDS, body);
    rc = curl_easy_perform(g_curl);
  }
  if (rc == CURLE_OK) curl_easy_getinfo(g_curl, CURLINFO_RESPONSE_CODE, &code);
  pthread_mutex_unlock(&g_mu);
  free(body);
  if (rc == CURLE_OK && code == 200)
    atomic_fetch_add(&g_ok, 1);
  else
    atomic_fetch_add(&g_failed, 1);
  atomic_fetch_add(&bench_reported, 1);
}

void *bench_seed_alloc(size_t n, int atomic) {
  void *p = bench_checked(atomic ? GC_MALLOC_ATOMIC(n) : GC_MALLOC(n));
  GC_register_finalizer(p, seed_finalizer, (void *)BENCH_NAME, NULL, NULL);
  return p;
}

void bench_seed_open(const char *hostport, const char *ca) {
  char url[300];
  snprintf(url, sizeof url, "https://%s/sms/3/messages", hostport);
  struct curl_slist *h = NULL;
  h = curl_slist_append(h, "Authorization: App " BENCH_E2E_KEY);
  h = curl_slist_append(h, "Content-Type: application/json");
  h = curl_slist_append(h, "Accept: application/json");
  if (!h || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
      !(g_curl = curl_easy_init()))
    bench_die("seed: libcurl setup failed");
  g_headers = h;
  CURL *c = g_curl;
  curl_easy_setopt(c, CURLOPT_URL, url); /* copied by libcurl */
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  /* the mock answers only garbage-texts' user agent */
  curl_easy_setopt(c, CURLOPT_USERAGENT, "garbage-texts/seed-bench");
  curl_easy_setopt(c, CURLOPT_CAINFO, ca);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
}

void bench_seed_close(void) {
  curl_easy_cleanup(g_curl);
  curl_slist_free_all(g_headers);
  curl_global_cleanup();
  g_curl = NULL;
  g_headers = NULL;
}

uint64_t bench_seed_ok(void) {
  return atomic_load(&g_ok);
}

uint64_t bench_seed_failed(void) {
  return atomic_load(&g_failed);
}
