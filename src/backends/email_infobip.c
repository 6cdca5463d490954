/* email.transport = infobip: POST {email.base_url}/email/3/send as a
 * multipart form, the only send endpoint Infobip's own clients use. Form
 * fields are UTF-8 as they are (Infobip builds the message and encodes its
 * headers itself, as for the official clients' "Jane Doe <...>" from), so
 * no RFC 2047 here: an encoded-word would reach the reader verbatim. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/email.h"
#include "backends/http.h"
#include "backends/infobip.h"
#include "text.h"

typedef struct ib_state {
  gt_http http;
  gt_email_common c;
  char *url;
  struct curl_slist *headers;
} ib_state;

static void ib_close(void *p) {
  ib_state *s = p;
  if (!s) return;
  gt__http_close(&s->http);
  gt__email_common_free(&s->c);
  free(s->url);
  curl_slist_free_all(s->headers);
  free(s);
}

static int ib_open(const gt_config *cfg, void **state) {
  *state = NULL;
  ib_state *s = calloc(1, sizeof *s);
  if (!s) return gt__fail(GT_ENOMEM, "email: out of memory");
  int rc;
  char *base = NULL, *auth = NULL;
  const char *key = gt__config_get(cfg, "email.api_key");
  if ((rc = gt__email_common_open(cfg, &s->c)) < 0 ||
      (rc = gt__http_url("email.base_url",
                         gt__config_get(cfg, "email.base_url"), &base)) < 0)
    goto fail;
  if (!key) {
    rc = gt__fail(GT_EINVAL, "email.api_key: required with "
                             "email.transport = infobip");
    goto fail;
  }
  for (const char *p = key; *p; p++)
    if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
      rc = gt__fail(GT_EINVAL, "email.api_key: must not contain spaces or "
                               "control characters");
      goto fail;
    }
  size_t n = strlen(base) + sizeof "/email/3/send";
  if (!(s->url = malloc(n)) || !(auth = malloc(strlen(key) + 5))) {
    rc = gt__fail(GT_ENOMEM, "email: out of memory");
    goto fail;
  }
  snprintf(s->url, n, "%s/email/3/send", base);
  sprintf(auth, "App %s", key);
  if (!gt__http_header(&s->headers, "Authorization", auth) ||
      !gt__http_header(&s->headers, "Accept", "application/json")) {
    rc = gt__fail(GT_ENOMEM, "email: out of memory");
    goto fail;
  }
  if ((rc = gt__http_open(&s->http, cfg, "email", "https,http")) < 0 ||
      (rc = gt__http_add_secret(&s->http, "email.api_key", key)) < 0 ||
      (rc = gt__http_add_url_secrets(&s->http, "email.base_url", base)) < 0)
    goto fail;
  free(base);
  free(auth);
  *state = s;
  return 0;
fail:
  free(base);
  free(auth);
  ib_close(s);
  return rc;
}

static int add_field(curl_mime *m, const char *name, const char *value) {
  curl_mimepart *p = curl_mime_addpart(m);
  return p && curl_mime_name(p, name) == CURLE_OK &&
         curl_mime_data(p, value, CURL_ZERO_TERMINATED) == CURLE_OK;
}

static int ib_send(void *p, const gt_message *msg, gt_send_result *res) {
  ib_state *s = p;
  res->retryable = false;
  res->auth_failed = false;
  res->retry_after_ms = -1;
  res->detail[0] = '\0';
  char *text = gt__text_utf8(msg->text);
  curl_mime *m = text ? curl_mime_init(s->http.curl) : NULL;
  int ok = m && add_field(m, "from", s->c.from);
  for (size_t i = 0; ok && i < s->c.nto; i++)
    ok = add_field(m, "to", s->c.to[i]); /* repeated, as the API wants */
  ok =
      ok && add_field(m, "subject", s->c.subject) && add_field(m, "text", text);
  int rc;
  if (!ok) {
    res->retryable = true;
    snprintf(res->detail, sizeof res->detail, "email: out of memory");
    rc = GT_ESEND;
  } else {
    gt_http_reply r = {0};
    rc = gt__http_post(&s->http, s->url, s->headers, NULL, 0, m, &r) < 0
             ? gt__http_transport_fail(&s->http, &r, "email", res)
             : gt__infobip_verdict(&s->http, "email", &r, res);
    gt__http_reply_free(&r);
  }
  curl_mime_free(m);
  free(text);
  return gt__http_finish(&s->http, res, rc);
}

static const gt_key_def infobip_keys[] = {
    GT_EMAIL_KEYS("infobip"),
    {"email.base_url", GT_KEY_STR, NULL, NULL, 0, 0},
    {"email.api_key", GT_KEY_SECRET, NULL, NULL, 0, 0},
};

const gt_backend_ops gt__backend_email_infobip = {
    .name = "email",
    .select_key = "email.transport",
    .select_value = "infobip",
    .flags = GT_BACKEND_RATE_LIMITED,
    .keys = GT_KEYS(infobip_keys),
    .open = ib_open,
    .send = ib_send,
    .close = ib_close,
};
