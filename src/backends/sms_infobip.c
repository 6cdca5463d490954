/* The "sms" backend: Infobip SMS API, v3 (/sms/3/messages, default) or v2
 * (/sms/2/text/advanced). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/http.h"
#include "backends/infobip.h"
#include "backends/sms_text.h"
#include "text.h"

typedef struct sms_state {
  gt_http http;
  char *url;
  struct curl_slist *headers;
  char *from;
  char **to; /* digits only */
  size_t nto;
  uint64_t max_segments;
  uint64_t api;
} sms_state;

static void sms_close(void *p) {
  sms_state *s = p;
  if (!s) return;
  gt__http_close(&s->http);
  free(s->url);
  curl_slist_free_all(s->headers);
  free(s->from);
  for (size_t i = 0; i < s->nto; i++)
    free(s->to[i]);
  free(s->to);
  free(s);
}

static int sms_open(const gt_config *cfg, void **state) {
  *state = NULL;
  sms_state *s = calloc(1, sizeof *s);
  if (!s) return gt__fail(GT_ENOMEM, "sms: out of memory");
  int rc;
  char *base = NULL;
  const char *key = gt__config_get(cfg, "sms.api_key");
  const char *from = gt__config_get(cfg, "sms.from");
  if (!from) from = GT_SMS_DEFAULT_FROM;
  if ((rc = gt__config_u64(cfg, "sms.api", 3, 2, 3, &s->api)) < 0 ||
      (rc = gt__config_u64(cfg, "sms.max_segments", 1, 1, 10,
                           &s->max_segments)) < 0 ||
      (rc = gt__http_url("sms.base_url", gt__config_get(cfg, "sms.base_url"),
                         &base)) < 0)
    goto fail;
  if (!key) {
    rc = gt__fail(GT_EINVAL, "sms.api_key: required");
    goto fail;
  }
  for (const char *p = key; *p; p++)
    if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
      rc = gt__fail(GT_EINVAL, "sms.api_key: must not contain spaces or "
                               "control characters");
      goto fail;
    }
  if ((rc = gt__sms_check_from(from)) < 0) goto fail;
  if ((rc = gt__sms_parse_to(gt__config_get(cfg, "sms.to"), "",
                             "+41 79 302 67 27", &s->to, &s->nto)) < 0)
    goto fail;
  const char *path = s->api == 2 ? "/sms/2/text/advanced" : "/sms/3/messages";
  size_t n = strlen(base) + strlen(path) + 1;
  char *auth = malloc(strlen(key) + 5);
  if (!(s->url = malloc(n)) || !(s->from = strdup(from)) || !auth) {
    free(auth);
    rc = gt__fail(GT_ENOMEM, "sms: out of memory");
    goto fail;
  }
  snprintf(s->url, n, "%s%s", base, path);
  sprintf(auth, "App %s", key);
  int ok = gt__http_header(&s->headers, "Authorization", auth) &&
           gt__http_header(&s->headers, "Content-Type", "application/json") &&
           gt__http_header(&s->headers, "Accept", "application/json");
  free(auth);
  if (!ok) {
    rc = gt__fail(GT_ENOMEM, "sms: out of memory");
    goto fail;
  }
  if ((rc = gt__http_open(&s->http, cfg, "sms", "https,http")) < 0 ||
      (rc = gt__http_add_secret(&s->http, "sms.api_key", key)) < 0 ||
      (rc = gt__http_add_url_secrets(&s->http, "sms.base_url", base)) < 0)
    goto fail;
  free(base);
  *state = s;
  return 0;
fail:
  free(base);
  sms_close(s);
  return rc;
}

/* The request body; the two API versions name the same things differently.
 * NULL only when out of memory: every string in it is valid UTF-8. */
static json_t *sms_body(const sms_state *s, const char *text) {
  json_t *dests = json_array(), *msg = NULL, *body = NULL;
  for (size_t i = 0; dests && i < s->nto; i++) {
    json_t *d = json_pack("{s:s}", "to", s->to[i]);
    if (!d || json_array_append_new(dests, d) != 0) {
      json_decref(dests);
      return NULL;
    }
  }
  if (dests)
    msg = s->api == 2
              ? json_pack("{s:s, s:O, s:s}", "from", s->from, "destinations",
                          dests, "text", text)
              : json_pack("{s:s, s:O, s:{s:s}}", "sender", s->from,
                          "destinations", dests, "content", "text", text);
  if (msg) body = json_pack("{s:[O]}", "messages", msg);
  json_decref(msg);
  json_decref(dests);
  return body;
}

static int sms_send(void *p, const gt_message *msg, gt_send_result *res) {
  sms_state *s = p;
  res->retryable = false;
  res->auth_failed = false;
  res->retry_after_ms = -1;
  res->detail[0] = '\0';
  /* Text that is not UTF-8 (a name from a program that did not check)
   * would make jansson refuse the whole message: escape, never fail. */
  char *clean = gt__text_utf8(msg->text);
  char *text = clean ? gt__sms_fit(clean, s->max_segments) : NULL;
  json_t *body = text ? sms_body(s, text) : NULL;
  char *json = body ? json_dumps(body, JSON_COMPACT) : NULL;
  json_decref(body);
  free(text);
  free(clean);
  if (!json) {
    res->retryable = true;
    snprintf(res->detail, sizeof res->detail,
             "sms: out of memory building the request");
    return gt__http_finish(&s->http, res, GT_ESEND);
  }
  gt_http_reply r = {0};
  int rc = gt__http_post(&s->http, s->url, s->headers, json, strlen(json), NULL,
                         &r) < 0
               ? gt__http_transport_fail(&s->http, &r, "sms", res)
               : gt__infobip_verdict(&s->http, "sms", &r, res);
  gt__http_reply_free(&r);
  free(json);
  return gt__http_finish(&s->http, res, rc);
}

static const gt_key_def infobip_keys[] = {
    GT_SMS_KEYS,
    {"sms.api", GT_KEY_ENUM, "3", "3|2", 0, 0},
};

const gt_backend_ops gt__backend_sms_infobip = {
    .name = "sms",
    .select_key = "sms.provider",
    .select_value = "infobip",
    .keys = GT_KEYS(infobip_keys),
    .flags = GT_BACKEND_RATE_LIMITED,
    .open = sms_open,
    .send = sms_send,
    .close = sms_close,
};
