/* The "alertmanager" backend: each batch becomes one alert per object-name
 * group, POSTed as a JSON array to {member}/api/v2/alerts on EVERY member
 * listed in alertmanager.url. Alertmanager replicas deduplicate the
 * notifications they send between themselves, but they do not gossip alerts:
 * a replica only knows the alerts posted to it, so (like Prometheus) we post
 * to each one. A member that is down does not stop delivery to the others;
 * it is reported once when it goes down and once when it comes back.
 *
 * Not rate limited: Alertmanager groups, throttles (group_interval,
 * repeat_interval), silences and routes; holding batches here would only
 * delay what it already paces (docs/fleet.md). */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/alertmanager.h"
#include "backends/http.h"

#define AM_MAX_MEMBERS 16

typedef struct am_member {
  gt_http http;
  char *url;   /* {base}/api/v2/alerts */
  char *label; /* scheme://host:port: what messages may show (no path,
                  no userinfo, since either may carry a token) */
  int down;    /* reported down, not yet reported back */
} am_member;

typedef struct am_state {
  am_member members[AM_MAX_MEMBERS];
  size_t nmembers;
  gt_am_identity id;
} am_state;

static void am_close(void *p) {
  am_state *s = p;
  if (!s) return;
  for (size_t i = 0; i < s->nmembers; i++) {
    gt__http_close(&s->members[i].http);
    free(s->members[i].url);
    free(s->members[i].label);
  }
  for (size_t i = 0; i < s->id.nlabels; i++) {
    free(s->id.labels[i].name);
    free(s->id.labels[i].value);
  }
  free(s->id.service);
  free(s->id.instance);
  free(s);
}

/* Prometheus label names: [a-zA-Z_][a-zA-Z0-9_]*; "__" prefixes are
 * reserved for Prometheus' own use. */
static int label_name_ok(const char *n) {
  if (!*n || !(isalpha((unsigned char)*n) || *n == '_')) return 0;
  for (const char *p = n; *p; p++)
    if (!(isalnum((unsigned char)*p) || *p == '_')) return 0;
  return strncmp(n, "__", 2) != 0;
}

/* Label values and annotations must be UTF-8 (jansson refuses anything
 * else, and so would Alertmanager). */
static int utf8_ok(const char *v) {
  json_t *j = json_string(v);
  json_decref(j);
  return j != NULL;
}

static char *trim(char *s) {
  while (isspace((unsigned char)*s))
    s++;
  size_t n = strlen(s);
  while (n > 0 && isspace((unsigned char)s[n - 1]))
    s[--n] = '\0';
  return s;
}

static const char *const builtin_labels[] = {"alertname", "service", "instance",
                                             "name", NULL};

/* "k=v,k2=v2": extra labels on every alert (env, region, team...). */
static int parse_labels(am_state *s, const char *in) {
  static const char key[] = "alertmanager.labels";
  char *copy = strdup(in), *save = NULL;
  if (!copy) return gt__fail(GT_ENOMEM, "%s: out of memory", key);
  int rc = 0;
  for (char *tok = strtok_r(copy, ",", &save); tok && rc == 0;
       tok = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(tok, '=');
    if (!eq) {
      rc = gt__fail(GT_EINVAL, "%s: expected name=value, got \"%s\"", key,
                    trim(tok));
      break;
    }
    *eq = '\0';
    char *name = trim(tok), *value = trim(eq + 1);
    if (!label_name_ok(name)) {
      rc = gt__fail(GT_EINVAL,
                    "%s: \"%s\" is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, "
                    "not starting with __)",
                    key, name);
      break;
    }
    for (size_t i = 0; builtin_labels[i]; i++)
      if (strcmp(name, builtin_labels[i]) == 0)
        rc = gt__fail(GT_EINVAL,
                      "%s: \"%s\" is set by the backend (use "
                      "alertmanager.service / alertmanager.instance)",
                      key, name);
    for (size_t i = 0; rc == 0 && i < s->id.nlabels; i++)
      if (strcmp(name, s->id.labels[i].name) == 0)
        rc = gt__fail(GT_EINVAL, "%s: label \"%s\" given twice", key, name);
    if (rc) break;
    if (!*value || !utf8_ok(value)) {
      rc = gt__fail(GT_EINVAL, "%s: label \"%s\" needs a UTF-8 value", key,
                    name);
      break;
    }
    if (s->id.nlabels == GT_AM_MAX_LABELS) {
      rc = gt__fail(GT_EINVAL, "%s: at most %d labels", key, GT_AM_MAX_LABELS);
      break;
    }
    gt_am_label *l = &s->id.labels[s->id.nlabels];
    l->name = strdup(name);
    l->value = strdup(value);
    s->id.nlabels++; /* counted now so am_close frees a half-made pair */
    if (!l->name || !l->value)
      rc = gt__fail(GT_ENOMEM, "%s: out of memory", key);
  }
  free(copy);
  return rc;
}

/* scheme://host[:port] of a normalised URL, for messages. */
static char *member_label(const char *url) {
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL, *port = NULL, *out = NULL;
  if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
    curl_url_get(u, CURLUPART_PORT, &port, 0); /* absent: scheme default */
    size_t n = strlen(scheme) + strlen(host) + (port ? strlen(port) : 0) + 8;
    if ((out = malloc(n)))
      snprintf(out, n, "%s://%s%s%s", scheme, host, port ? ":" : "",
               port ? port : "");
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(u);
  return out;
}

static int add_member(am_state *s, const gt_config *cfg, const char *in,
                      size_t index) {
  char key[64];
  snprintf(key, sizeof key, "alertmanager.url (member %zu)", index + 1);
  if (s->nmembers == AM_MAX_MEMBERS)
    return gt__fail(GT_EINVAL, "alertmanager.url: at most %d members",
                    AM_MAX_MEMBERS);
  char *base = NULL;
  int rc = gt__http_url(key, in, &base);
  if (rc < 0) return rc;
  /* Accept the full endpoint too: people copy it from Alertmanager's API
   * docs. */
  static const char api[] = "/api/v2/alerts";
  size_t n = strlen(base);
  if (n >= sizeof api - 1 && strcmp(base + n - (sizeof api - 1), api) == 0)
    base[n - (sizeof api - 1)] = '\0';
  am_member *m = &s->members[s->nmembers];
  size_t len = strlen(base) + sizeof api;
  m->url = malloc(len);
  if (m->url) snprintf(m->url, len, "%s%s", base, api);
  free(base);
  m->label = m->url ? member_label(m->url) : NULL;
  s->nmembers++; /* am_close frees what was made */
  if (!m->url || !m->label)
    return gt__fail(GT_ENOMEM, "alertmanager: out of memory");
  for (size_t i = 0; i + 1 < s->nmembers; i++)
    if (strcmp(s->members[i].url, m->url) == 0)
      return gt__fail(GT_EINVAL, "%s: %s is listed twice", key, m->label);
  rc = gt__http_open(&m->http, cfg, "alertmanager", "https,http");
  if (rc == 0) rc = gt__http_add_url_secrets(&m->http, key, m->url);
  return rc;
}

static int am_open(const gt_config *cfg, void **state) {
  *state = NULL;
  am_state *s = calloc(1, sizeof *s);
  if (!s) return gt__fail(GT_ENOMEM, "alertmanager: out of memory");
  int rc = 0;
  const char *urls = gt__config_get(cfg, "alertmanager.url");
  const char *service = gt__config_get(cfg, "alertmanager.service");
  const char *instance = gt__config_get(cfg, "alertmanager.instance");
  const char *labels = gt__config_get(cfg, "alertmanager.labels");
  if (!urls) {
    rc =
        gt__fail(GT_EINVAL, "alertmanager.url: required (comma list of cluster "
                            "members, e.g. http://127.0.0.1:9093)");
    goto fail;
  }
  char *copy = strdup(urls), *rest = copy, *tok;
  if (!copy) {
    rc = gt__fail(GT_ENOMEM, "alertmanager: out of memory");
    goto fail;
  }
  size_t index = 0;
  /* strsep, not strtok: "a,,b" is a typo to report, not a list of two. */
  while (rc == 0 && (tok = strsep(&rest, ",")) != NULL) {
    tok = trim(tok);
    if (!*tok)
      rc = gt__fail(GT_EINVAL, "alertmanager.url: member %zu is empty",
                    index + 1);
    else
      rc = add_member(s, cfg, tok, index);
    index++;
  }
  free(copy);
  if (rc < 0) goto fail;
  if (s->nmembers == 0) {
    rc = gt__fail(GT_EINVAL, "alertmanager.url: no member listed");
    goto fail;
  }
  if (!service || !utf8_ok(service)) {
    rc = gt__fail(GT_EINVAL,
                  "alertmanager.service: required (a UTF-8 name that groups "
                  "this program's processes)");
    goto fail;
  }
  if (!(s->id.service = strdup(service))) {
    rc = gt__fail(GT_ENOMEM, "alertmanager: out of memory");
    goto fail;
  }
  if (instance) {
    if (!utf8_ok(instance)) {
      rc = gt__fail(GT_EINVAL, "alertmanager.instance: must be UTF-8");
      goto fail;
    }
    s->id.instance = strdup(instance);
  } else {
    /* host:pid tells the processes of one machine apart; taken at open()
     * so a process that forks and initialises again gets its own. */
    char host[256] = "localhost", buf[300];
    if (gethostname(host, sizeof host) != 0 || !utf8_ok(host))
      snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    snprintf(buf, sizeof buf, "%s:%ld", host, (long)getpid());
    s->id.instance = strdup(buf);
  }
  if (!s->id.instance) {
    rc = gt__fail(GT_ENOMEM, "alertmanager: out of memory");
    goto fail;
  }
  if (labels && (rc = parse_labels(s, labels)) < 0) goto fail;
  *state = s;
  return 0;
fail:
  am_close(s);
  return rc;
}

/* One member's verdict: 0 accepted, else the reason in why (scrubbed of
 * the member's credentials). */
static int post_member(am_member *m, struct curl_slist *hdrs, const char *body,
                       char *why, size_t whysz, int *retryable, bool *auth,
                       long *retry_after) {
  gt_http_reply r = {0};
  int rc = 0;
  if (gt__http_post(&m->http, m->url, hdrs, body, strlen(body), NULL, &r) < 0) {
    gt_send_result tr = {0};
    gt__http_transport_fail(&m->http, &r, "alertmanager", &tr);
    /* tr.detail starts with "alertmanager: "; keep the cause only. */
    const char *d = tr.detail + strlen("alertmanager: ");
    size_t n = strnlen(d, whysz - 1); /* truncation is fine here */
    memcpy(why, d, n);
    why[n] = 0;
    *retryable = tr.retryable;
    rc = -1;
  } else if (r.status >= 200 && r.status < 300) {
    rc = 0; /* accepted, even if the rest of the reply was cut short */
  } else {
    char txt[200];
    gt__http_sanitize(txt, sizeof txt, r.body, 160);
    char ch[200];
    snprintf(why, whysz, "HTTP %ld%s%s%s", r.status, *txt ? ": " : "", txt,
             gt__http_challenge_note(&r, ch, sizeof ch));
    *retryable = gt__http_status_retryable(r.status);
    *auth = gt__http_status_auth(r.status);
    if (r.retry_after_ms > *retry_after) *retry_after = r.retry_after_ms;
    rc = -1;
  }
  gt__http_reply_free(&r);
  gt__http_scrub(&m->http, why, whysz);
  return rc;
}

static int am_send(void *p, const gt_message *msg, gt_send_result *res) {
  am_state *s = p;
  res->retryable = false;
  res->auth_failed = false;
  res->retry_after_ms = -1;
  res->detail[0] = '\0';
  char *body = gt__alertmanager_body(&s->id, msg);
  struct curl_slist *hdrs = NULL;
  if (!body || !gt__http_header(&hdrs, "Content-Type", "application/json") ||
      !gt__http_header(&hdrs, "Accept", "application/json")) {
    res->retryable = true;
    snprintf(res->detail, sizeof res->detail,
             "alertmanager: cannot build the request");
    curl_slist_free_all(hdrs);
    free(body);
    return gt__fail(GT_ESEND, "%s", res->detail);
  }
  size_t ok = 0, pos = 0;
  int any_retryable = 0;
  bool any_auth = false;
  long retry_after = -1;
  char failed[400] = ""; /* fits in detail after the counts */
  for (size_t i = 0; i < s->nmembers; i++) {
    am_member *m = &s->members[i];
    char why[300];
    int retryable = 0;
    bool auth = false;
    if (post_member(m, hdrs, body, why, sizeof why, &retryable, &auth,
                    &retry_after) == 0) {
      ok++;
      if (m->down) {
        m->down = 0;
        gt__warn("alertmanager: member %s is back and accepting alerts",
                 m->label);
      }
      continue;
    }
    any_retryable |= retryable;
    any_auth |= auth;
    /* Once per outage, not once per batch: a member that stays down for a
     * day must not fill the log. */
    if (!m->down) {
      m->down = 1;
      gt__warn("alertmanager: member %s is down (%s); still delivering to "
               "the other %zu member%s; no further warning until it recovers",
               m->label, why, s->nmembers - 1, s->nmembers == 2 ? "" : "s");
    }
    int w = snprintf(failed + pos, sizeof failed - pos, "%s%s: %s",
                     pos ? "; " : "", m->label, why);
    if (w > 0)
      pos =
          pos + (size_t)w < sizeof failed ? pos + (size_t)w : sizeof failed - 1;
  }
  curl_slist_free_all(hdrs);
  free(body);
  if (ok == s->nmembers) {
    snprintf(res->detail, sizeof res->detail,
             "alertmanager: accepted by %zu of %zu members", ok, s->nmembers);
    return 0;
  }
  snprintf(res->detail, sizeof res->detail,
           "alertmanager: accepted by %zu of %zu members; down: %s", ok,
           s->nmembers, failed);
  /* Delivered if one member has the alerts: the cluster notifies from any
   * replica. Retrying would re-post to the ones that already accepted
   * (harmless, but pointless until the others recover). */
  for (size_t i = 0; i < s->nmembers; i++)
    gt__http_scrub(&s->members[i].http, res->detail, sizeof res->detail);
  if (ok > 0) return 0;
  res->retryable = any_retryable;
  /* A refused login is a configuration fault: the message is kept. */
  res->auth_failed = !any_retryable && any_auth;
  res->retry_after_ms = retry_after;
  return gt__fail(GT_ESEND, "%s", res->detail);
}

static const gt_key_def alertmanager_keys[] = {
    {"alertmanager.url", GT_KEY_STR, NULL, NULL, 0, 0},
    {"alertmanager.service", GT_KEY_STR, NULL, NULL, 0, 0},
    {"alertmanager.labels", GT_KEY_STR, NULL, NULL, 0, 0},
    {"alertmanager.instance", GT_KEY_STR, NULL, NULL, 0, 0},
    {"alertmanager.ca_file", GT_KEY_STR, NULL, NULL, 0, 0},
};

const gt_backend_ops gt__backend_alertmanager = {
    .name = "alertmanager",
    .keys = GT_KEYS(alertmanager_keys),
    .flags = 0, /* Alertmanager groups and throttles: see the top comment */
    .open = am_open,
    .send = am_send,
    .close = am_close,
};
