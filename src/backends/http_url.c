/* URLs: the checks on a configured base URL (https, or http to loopback
 * only), and the masking of the userinfo (a password, or a bare token) of
 * every URL in a text, so that a URL can be shown without its credentials.
 * Masking works on any text, also one that does not parse as a URL. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backends/http.h"

/* ---- masking ------------------------------------------------------------ */

/* Copies in into out (cap bytes, truncated) with the password of every
 * "scheme://user:pass@" replaced by "***", or the whole userinfo when it
 * has no password. The authority ends at the first / ? # or space. */
void gt__http_mask_userinfo(const char *in, char *out, size_t cap) {
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
  gt__http_mask_userinfo(src, out, cap);
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
    gt__http_mask_userinfo(by_curl, out, cap);
  }
  free(by_curl);
  free(src);
  return out;
}

/* ---- configured URLs ---------------------------------------------------- */

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
