/* The "webhook" backend: POSTs the batch as JSON, signed with HMAC-SHA256
 * when webhook.secret is set. The signature covers "<timestamp>.<body>" so
 * a receiver can reject replays of an old body. */
#include <jansson.h>
#include <mbedtls/md.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/http.h"
#include "text.h"

typedef struct webhook_state {
  gt_http http;
  char *url;
  char *secret; /* NULL: unsigned */
  size_t secret_len;
} webhook_state;

static void webhook_close(void *p) {
  webhook_state *s = p;
  if (!s) return;
  gt__http_close(&s->http);
  free(s->url);
  if (s->secret) {
    /* volatile so the wipe is not optimised away. */
    volatile char *v = s->secret;
    for (size_t i = 0; i < s->secret_len; i++)
      v[i] = 0;
    free(s->secret);
  }
  free(s);
}

static int webhook_open(const gt_config *cfg, void **state) {
  *state = NULL;
  webhook_state *s = calloc(1, sizeof *s);
  if (!s) return gt__fail(GT_ENOMEM, "webhook: out of memory");
  int rc;
  const char *secret = gt__config_get(cfg, "webhook.secret");
  if ((rc = gt__http_url("webhook.url", gt__config_get(cfg, "webhook.url"),
                         &s->url)) < 0)
    goto fail;
  if (secret) {
    if (strlen(secret) < 16) {
      rc = gt__fail(GT_EINVAL, "webhook.secret: use at least 16 characters");
      goto fail;
    }
    if (!(s->secret = strdup(secret))) {
      rc = gt__fail(GT_ENOMEM, "webhook: out of memory");
      goto fail;
    }
    s->secret_len = strlen(secret);
  }
  if ((rc = gt__http_open(&s->http, cfg, "webhook", "https,http")) < 0 ||
      (rc = gt__http_add_secret(&s->http, "webhook.secret", secret)) < 0 ||
      (rc = gt__http_add_url_secrets(&s->http, "webhook.url", s->url)) < 0)
    goto fail;
  *state = s;
  return 0;
fail:
  webhook_close(s);
  return rc;
}

/* hex(HMAC-SHA256(secret, "<ts>.<body>")) into out (65 bytes). */
static int sign(const webhook_state *s, const char *ts, const char *body,
                char out[65]) {
  const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
  mbedtls_md_context_t ctx;
  unsigned char mac[32];
  mbedtls_md_init(&ctx);
  int rc = mbedtls_md_setup(&ctx, md, 1);
  if (!rc)
    rc = mbedtls_md_hmac_starts(&ctx, (const unsigned char *)s->secret,
                                s->secret_len);
  if (!rc)
    rc = mbedtls_md_hmac_update(&ctx, (const unsigned char *)ts, strlen(ts));
  if (!rc) rc = mbedtls_md_hmac_update(&ctx, (const unsigned char *)".", 1);
  if (!rc)
    rc =
        mbedtls_md_hmac_update(&ctx, (const unsigned char *)body, strlen(body));
  if (!rc) rc = mbedtls_md_hmac_finish(&ctx, mac);
  mbedtls_md_free(&ctx);
  if (rc) return -1;
  for (int i = 0; i < 32; i++)
    snprintf(out + 2 * i, 3, "%02x", mac[i]);
  return 0;
}

/* The batch object (when there is one) plus the rendered text; NULL when
 * out of memory. */
static char *webhook_body(const gt_message *msg) {
  json_t *owned, *o = json_deep_copy(gt__message_json(msg, &owned));
  json_decref(owned);
  char *text = gt__text_utf8(msg->text); /* jansson refuses bad UTF-8 */
  char *out = NULL;
  if (o && text && json_object_set_new(o, "text", json_string(text)) == 0)
    out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(o);
  free(text);
  return out;
}

static int webhook_send(void *p, const gt_message *msg, gt_send_result *res) {
  webhook_state *s = p;
  res->retryable = false;
  res->auth_failed = false;
  res->retry_after_ms = -1;
  res->detail[0] = '\0';
  char *body = webhook_body(msg);
  struct curl_slist *hdrs = NULL;
  int ok = body && gt__http_header(&hdrs, "Content-Type", "application/json") &&
           gt__http_header(&hdrs, "Accept", "application/json, */*");
  if (ok && s->secret) {
    char ts[32], hex[65], sig[80];
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
    ok = sign(s, ts, body, hex) == 0 &&
         gt__http_header(&hdrs, "X-GT-Timestamp", ts);
    snprintf(sig, sizeof sig, "sha256=%s", hex);
    ok = ok && gt__http_header(&hdrs, "X-GT-Signature", sig);
  }
  int rc = 0;
  if (!ok) {
    res->retryable = true;
    snprintf(res->detail, sizeof res->detail,
             "webhook: cannot build the request");
    rc = GT_ESEND;
  } else {
    gt_http_reply r = {0};
    if (gt__http_post(&s->http, s->url, hdrs, body, strlen(body), NULL, &r) <
        0) {
      rc = gt__http_transport_fail(&s->http, &r, "webhook", res);
    } else if (r.status >= 200 && r.status < 300) {
      char note[400]; /* delivered even if the rest of the reply is lost */
      snprintf(res->detail, sizeof res->detail, "webhook: HTTP %ld%s", r.status,
               gt__http_cut_note(&s->http, &r, note, sizeof note));
    } else {
      char why[200];
      gt__http_sanitize(why, sizeof why, r.body, 160);
      res->retryable = gt__http_status_retryable(r.status);
      res->auth_failed = gt__http_status_auth(r.status);
      res->retry_after_ms = r.retry_after_ms;
      char ch[200];
      snprintf(res->detail, sizeof res->detail, "webhook: HTTP %ld%s%s%s",
               r.status, *why ? ": " : "", why,
               gt__http_challenge_note(&r, ch, sizeof ch));
      rc = GT_ESEND;
    }
    gt__http_reply_free(&r);
  }
  curl_slist_free_all(hdrs);
  free(body);
  return gt__http_finish(&s->http, res, rc);
}

static const gt_key_def webhook_keys[] = {
    {"webhook.url", GT_KEY_STR, NULL, NULL, 0, 0},
    {"webhook.secret", GT_KEY_SECRET, NULL, NULL, 0, 0},
    {"webhook.ca_file", GT_KEY_STR, NULL, NULL, 0, 0},
};

const gt_backend_ops gt__backend_webhook = {
    .name = "webhook",
    .keys = GT_KEYS(webhook_keys),
    .flags = 0,
    .open = webhook_open,
    .send = webhook_send,
    .close = webhook_close,
};
