/* The secrets of a handle (API keys, passwords, URL userinfo, and the
 * encoded forms in which libcurl sends them) and the one place where text
 * is cleaned of them: server replies, libcurl's error text and every detail
 * a backend writes pass through here before a log, gt_last_error() or the
 * spool can see them. */
#include <mbedtls/base64.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/http.h"

/* ---- registering -------------------------------------------------------- */

static void wipe_free(char *s) {
  if (!s) return;
  volatile char *v = s; /* volatile so the wipe is not optimised away */
  while (*v)
    *v++ = 0;
  free(s);
}

void gt__http_forget_secrets(gt_http *h) {
  for (size_t i = 0; i < h->nsecrets; i++)
    wipe_free(h->secrets[i]);
  h->nsecrets = 0;
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

/* ---- scrubbing ---------------------------------------------------------- */

/* Replaces each registered secret in s[0..len) (which may hold NULs) by
 * "***"; with tail, also a secret's beginning left at the very end of a
 * cut-off text. Never grows the text; returns its new length. */
size_t gt__http_scrub_secrets(const gt_http *h, char *s, size_t len,
                              bool tail) {
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

void gt__http_scrub(const gt_http *h, char *text, size_t cap) {
  if (!text || !cap) return;
  size_t len = gt__http_scrub_secrets(h, text, strnlen(text, cap - 1), false);
  text[len] = '\0';
  if (!strstr(text, "://")) return;
  char *tmp = malloc(cap);
  if (!tmp) { /* cannot mask: hide the whole text rather than risk it */
    snprintf(text, cap, "(text withheld: out of memory)");
    return;
  }
  gt__http_mask_userinfo(text, tmp, cap);
  memcpy(text, tmp, strlen(tmp) + 1);
  free(tmp);
}

int gt__http_finish(const gt_http *h, gt_send_result *res, int rc) {
  gt__http_scrub(h, res->detail, sizeof res->detail);
  if (rc < 0) gt__fail(GT_ESEND, "%s", res->detail);
  return rc;
}
