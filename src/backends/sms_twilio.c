/* The "sms" backend for sms.provider = twilio: Twilio's Messages API,
 * POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json, a form per
 * destination (Twilio takes one To per message), HTTP Basic auth. It owns
 * the Twilio keys and the reading of Twilio's replies; transport, TLS and
 * the scrubbing of secrets are http.h's. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/http.h"
#include "backends/sms_text.h"
#include "text.h"

#define TW_DEFAULT_BASE "https://api.twilio.com"
#define TW_SID_LEN 34 /* two letters and 32 hex digits */

typedef struct tw_state {
  gt_http http;
  char *url;
  struct curl_slist *headers;
  char *from;    /* "+14155550100", a short code or a sender ID; or NULL */
  char *service; /* MessagingServiceSid, sent instead of From */
  char **to;     /* "+<digits>" */
  size_t nto;
  uint64_t max_segments;
} tw_state;

static void tw_close(void *p) {
  tw_state *s = p;
  if (!s) return;
  gt__http_close(&s->http);
  free(s->url);
  curl_slist_free_all(s->headers);
  free(s->from);
  free(s->service);
  for (size_t i = 0; i < s->nto; i++)
    free(s->to[i]);
  free(s->to);
  free(s);
}

/* ---- configuration ------------------------------------------------------- */

/* Twilio SIDs are two letters naming the kind (AC account, SK API key, MG
 * messaging service) and 32 hex digits; a SID of the wrong kind is the
 * usual mistake (an SK where the AC goes). */
static int check_sid(const char *key, const char *v, const char *prefix,
                     bool required) {
  if (!v)
    return required ? gt__fail(GT_EINVAL,
                               "%s: required (%s followed by 32 hexadecimal "
                               "digits, from the Twilio console)",
                               key, prefix)
                    : 0;
  bool ok = strlen(v) == TW_SID_LEN && strncmp(v, prefix, 2) == 0 &&
            strspn(v + 2, "0123456789abcdefABCDEF") == TW_SID_LEN - 2;
  return ok ? 0
            : gt__fail(GT_EINVAL,
                       "%s: must be %s followed by 32 hexadecimal digits", key,
                       prefix);
}

/* From, once it passes the rule every provider shares
 * (gt__sms_check_from): a number of 8 digits or more is a phone number and
 * goes as E.164 like sms.to ("41793026727" -> "+41793026727"), a shorter
 * one is a short code, a sender ID goes as written (but Twilio's take no
 * '.'). A Messaging Service picks the sender itself: From is then not
 * sent at all. */
static int parse_sender(tw_state *s, const gt_config *cfg) {
  const char *service = gt__config_get(cfg, "sms.messaging_service_sid");
  const char *from = gt__config_get(cfg, "sms.from");
  int rc = check_sid("sms.messaging_service_sid", service, "MG", false);
  if (rc < 0) return rc;
  if (service)
    return (s->service = strdup(service))
               ? 0
               : gt__fail(GT_ENOMEM, "sms: out of memory");
  if (!from)
    return gt__fail(GT_EINVAL, "sms.from: required unless "
                               "sms.messaging_service_sid is set");
  if ((rc = gt__sms_check_from(from)) < 0) return rc;
  bool plus = from[0] == '+';
  size_t digits = strspn(from + plus, "0123456789");
  bool numeric = from[plus + digits] == '\0';
  if (!numeric && strchr(from, '.'))
    return gt__fail(GT_EINVAL, "sms.from: Twilio's alphanumeric sender IDs "
                               "take letters, digits, spaces, '-' and '_', "
                               "not '.'");
  size_t n = strlen(from) + 2;
  if (!(s->from = malloc(n))) return gt__fail(GT_ENOMEM, "sms: out of memory");
  snprintf(s->from, n, "%s%s", numeric && !plus && digits >= 8 ? "+" : "",
           from);
  return 0;
}

static int check_key(const char *key) {
  if (!key) return gt__fail(GT_EINVAL, "sms.api_key: required");
  for (const char *p = key; *p; p++)
    if ((unsigned char)*p <= 0x20 || *p == 0x7f)
      return gt__fail(GT_EINVAL, "sms.api_key: must not contain spaces or "
                                 "control characters");
  return 0;
}

/* The handle, with the login libcurl sends as Basic on every request and
 * every form of it registered as a secret (the key, and base64 of
 * "user:key", the form it travels in). */
static int open_http(tw_state *s, const gt_config *cfg, const char *user,
                     const char *key) {
  int rc = gt__http_open(&s->http, cfg, "sms", "https,http");
  if (rc == 0) rc = gt__http_add_login(&s->http, "sms.api_key", user, key);
  if (rc < 0) return rc;
  CURL *c = s->http.curl;
  if (curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) ||
      curl_easy_setopt(c, CURLOPT_USERNAME, user) ||
      curl_easy_setopt(c, CURLOPT_PASSWORD, key) ||
      !gt__http_header(&s->headers, "Content-Type",
                       "application/x-www-form-urlencoded") ||
      !gt__http_header(&s->headers, "Accept", "application/json"))
    return gt__fail(GT_ENOMEM, "sms: out of memory");
  return 0;
}

static int make_url(tw_state *s, const gt_config *cfg, const char *sid) {
  const char *in = gt__config_get(cfg, "sms.base_url");
  char *base = NULL;
  int rc = gt__http_url("sms.base_url", in ? in : TW_DEFAULT_BASE, &base);
  if (rc == 0) rc = gt__http_add_url_secrets(&s->http, "sms.base_url", base);
  if (rc == 0) {
    static const char fmt[] = "%s/2010-04-01/Accounts/%s/Messages.json";
    size_t n = strlen(base) + strlen(sid) + sizeof fmt;
    if ((s->url = malloc(n)))
      snprintf(s->url, n, fmt, base, sid);
    else
      rc = gt__fail(GT_ENOMEM, "sms: out of memory");
  }
  free(base);
  return rc;
}

static int tw_open(const gt_config *cfg, void **state) {
  *state = NULL;
  tw_state *s = calloc(1, sizeof *s);
  if (!s) return gt__fail(GT_ENOMEM, "sms: out of memory");
  const char *sid = gt__config_get(cfg, "sms.account_sid");
  const char *key_sid = gt__config_get(cfg, "sms.api_key_sid");
  const char *key = gt__config_get(cfg, "sms.api_key");
  int rc;
  if ((rc = check_sid("sms.account_sid", sid, "AC", true)) < 0 ||
      (rc = check_sid("sms.api_key_sid", key_sid, "SK", false)) < 0 ||
      (rc = check_key(key)) < 0 ||
      (rc = gt__config_u64(cfg, "sms.max_segments", 1, 1, 10,
                           &s->max_segments)) < 0 ||
      (rc = parse_sender(s, cfg)) < 0 ||
      (rc = gt__sms_parse_to(gt__config_get(cfg, "sms.to"), "+",
                             "+1 415 555 0100", &s->to, &s->nto)) < 0 ||
      (rc = open_http(s, cfg, key_sid ? key_sid : sid, key)) < 0 ||
      (rc = make_url(s, cfg, sid)) < 0) {
    tw_close(s);
    return rc;
  }
  *state = s;
  return 0;
}

/* ---- sending ------------------------------------------------------------- */

/* "To=…&From=…&Body=…", every value through curl_easy_escape: all but
 * RFC 3986's unreserved characters are percent-encoded, so the '+' of a
 * number and a text's '&', '=' and UTF-8 arrive as they were. NULL only
 * when out of memory. */
static char *form_body(const tw_state *s, const char *to, const char *text) {
  const char *name[3] = {"To", s->service ? "MessagingServiceSid" : "From",
                         "Body"};
  const char *value[3] = {to, s->service ? s->service : s->from, text};
  char *esc[3];
  size_t n = 1;
  bool ok = true;
  for (int i = 0; i < 3; i++) {
    esc[i] = curl_easy_escape(s->http.curl, value[i], 0);
    ok = ok && esc[i];
    n += strlen(name[i]) + (esc[i] ? strlen(esc[i]) : 0) + 2;
  }
  char *body = ok ? malloc(n) : NULL;
  if (body)
    snprintf(body, n, "%s=%s&%s=%s&%s=%s", name[0], esc[0], name[1], esc[1],
             name[2], esc[2]);
  for (int i = 0; i < 3; i++)
    curl_free(esc[i]);
  return body;
}

/* Twilio's errors: {"code":21211,"message":"…","more_info":"https://…",
 * "status":400}. */
static void describe_error(json_t *root, const gt_http_reply *r, char *buf,
                           size_t n) {
  json_t *code = json_object_get(root, "code");
  const char *msg = json_string_value(json_object_get(root, "message"));
  const char *more = json_string_value(json_object_get(root, "more_info"));
  if (!json_is_integer(code) && !msg) {
    const char *raw = r->len ? r->body : "no error details in the reply";
    gt__http_sanitize(buf, n, raw, 200);
    return;
  }
  char c[40] = "", m[200], info[120];
  if (json_is_integer(code))
    snprintf(c, sizeof c, "error %" JSON_INTEGER_FORMAT "%s",
             json_integer_value(code), msg ? ": " : "");
  gt__http_sanitize(m, sizeof m, msg, 199);
  gt__http_sanitize(info, sizeof info, more, 119);
  snprintf(buf, n, "%s%s%s%s%s", c, m, *info ? " (" : "", info,
           *info ? ")" : "");
}

/* What one destination's reply means. A 2xx is a delivery whatever
 * follows (sending again would send twice); status gets Twilio's name for
 * the message's state ("queued"), note why the reply was cut short. */
static int dest_verdict(const tw_state *s, const char *to,
                        const gt_http_reply *r, gt_send_result *one,
                        char status[40], char note[300]) {
  json_t *root = r->len ? json_loadb(r->body, r->len, 0, NULL) : NULL;
  int rc = 0;
  if (r->status >= 200 && r->status < 300) {
    if (!*status)
      gt__http_sanitize(status, 40,
                        json_string_value(json_object_get(root, "status")), 39);
    if (!*note) gt__http_cut_note(&s->http, r, note, 300);
  } else {
    char why[400], ch[200];
    describe_error(root, r, why, sizeof why);
    one->retryable = gt__http_status_retryable(r->status);
    one->auth_failed = gt__http_status_auth(r->status);
    one->retry_after_ms = r->retry_after_ms;
    const char *hint = "";
    if (one->auth_failed)
      hint = " (check sms.account_sid, sms.api_key_sid and sms.api_key)";
    else if (r->status == 404)
      hint = " (check sms.base_url and sms.account_sid)";
    snprintf(one->detail, sizeof one->detail, "%s: HTTP %ld: %s%s%s", to,
             r->status, why, hint, gt__http_challenge_note(r, ch, sizeof ch));
    rc = GT_ESEND;
  }
  json_decref(root);
  return rc;
}

static int send_one(tw_state *s, const char *to, const char *text,
                    gt_send_result *one, char status[40], char note[300]) {
  memset(one, 0, sizeof *one);
  one->retry_after_ms = -1;
  char *body = form_body(s, to, text);
  if (!body) {
    one->retryable = true;
    snprintf(one->detail, sizeof one->detail,
             "%s: out of memory building the request", to);
    return GT_ESEND;
  }
  gt_http_reply r = {0};
  /* The number stands where the backend's name would: "+1…: Timeout …". */
  int rc = gt__http_post(&s->http, s->url, s->headers, body, strlen(body), NULL,
                         &r) < 0
               ? gt__http_transport_fail(&s->http, &r, to, one)
               : dest_verdict(s, to, &r, one, status, note);
  gt__http_reply_free(&r);
  free(body);
  return rc;
}

/* One request per destination. Nothing delivered yet: a retryable failure
 * stops here and the whole message is retried, and a refused login stops
 * (every other request would be refused too). Once a destination has it,
 * the failures of the others are permanent: a retry would send it to that
 * one again. */
static int tw_send(void *p, const gt_message *msg, gt_send_result *res) {
  tw_state *s = p;
  memset(res, 0, sizeof *res);
  res->retry_after_ms = -1;
  /* Text that is not UTF-8 (a name from a program that did not check)
   * is escaped, never refused. */
  char *clean = gt__text_utf8(msg->text);
  char *text = clean ? gt__sms_fit(clean, s->max_segments) : NULL;
  free(clean);
  if (!text) {
    res->retryable = true;
    snprintf(res->detail, sizeof res->detail,
             "sms: out of memory building the request");
    return gt__http_finish(&s->http, res, GT_ESEND);
  }
  size_t sent = 0, failed = 0, tried = 0;
  char status[40] = "", note[300] = "";
  gt_send_result one, first = {.retry_after_ms = -1};
  while (tried < s->nto) {
    if (send_one(s, s->to[tried++], text, &one, status, note) == 0) {
      sent++;
      continue;
    }
    bool stop = one.auth_failed || (one.retryable && sent == 0);
    if (!failed++ || stop) first = one;
    if (stop) break;
  }
  free(text);
  if (!failed) {
    snprintf(res->detail, sizeof res->detail, "sms: accepted for %zu %s%s%s%s",
             sent, sent == 1 ? "destination" : "destinations",
             *status ? ": " : "", status, note);
    return gt__http_finish(&s->http, res, 0);
  }
  res->retryable = first.retryable && sent == 0;
  res->auth_failed = first.auth_failed && sent == 0;
  res->retry_after_ms = res->retryable ? first.retry_after_ms : -1;
  char more[40] = "";
  if (tried < s->nto)
    snprintf(more, sizeof more, ", %zu not tried", s->nto - tried);
  if (s->nto == 1)
    snprintf(res->detail, sizeof res->detail, "sms: %.500s", first.detail);
  else
    snprintf(res->detail, sizeof res->detail,
             "sms: %zu of %zu destinations failed%s: %.380s", failed, s->nto,
             more, first.detail);
  return gt__http_finish(&s->http, res, GT_ESEND);
}

static const gt_key_def twilio_keys[] = {
    GT_SMS_KEYS,
    {"sms.account_sid", GT_KEY_STR, NULL, NULL, 0, 0},
    {"sms.api_key_sid", GT_KEY_STR, NULL, NULL, 0, 0},
    {"sms.messaging_service_sid", GT_KEY_STR, NULL, NULL, 0, 0},
};

const gt_backend_ops gt__backend_sms_twilio = {
    .name = "sms",
    .select_key = "sms.provider",
    .select_value = "twilio",
    .keys = GT_KEYS(twilio_keys),
    .flags = GT_BACKEND_RATE_LIMITED,
    .open = tw_open,
    .send = tw_send,
    .close = tw_close,
};
