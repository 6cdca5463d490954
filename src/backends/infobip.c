/* Infobip reply parsing, shared by the sms and email (infobip) backends. */
#include "backends/infobip.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const char *jstr(json_t *o, const char *key) {
  const char *s = json_string_value(json_object_get(o, key));
  return s ? s : "";
}

/* A destination number or address, whichever the API version calls it. */
static const char *message_to(json_t *m) {
  const char *to = jstr(m, "destination"); /* SMS v3 */
  if (!*to) to = jstr(m, "to");            /* SMS v2, Email v3 */
  return to;
}

static int success(const char *backend, long status, json_t *root,
                   gt_send_result *res) {
  json_t *msgs = json_object_get(root, "messages");
  size_t i, accepted = 0, failed = 0;
  json_t *m;
  char first[300] = ""; /* room for every sanitized field below */
  const char *status_name = "";
  json_array_foreach(msgs, i, m) {
    json_t *st = json_object_get(m, "status");
    json_int_t group = json_integer_value(json_object_get(st, "groupId"));
    if (group == 2 || group == 5) {
      if (!failed++) {
        /* Every server string is sanitized: the detail is logged as one
         * line (groupName once was not; fuzz/corpus/reply/control_chars). */
        char to[40], group_name[40], name[80], desc[120];
        gt__http_sanitize(to, sizeof to, message_to(m), 39);
        gt__http_sanitize(group_name, sizeof group_name, jstr(st, "groupName"),
                          39);
        gt__http_sanitize(name, sizeof name, jstr(st, "name"), 79);
        gt__http_sanitize(desc, sizeof desc, jstr(st, "description"), 119);
        snprintf(first, sizeof first, "%s %s %s%s%s%s", to, group_name, name,
                 *desc ? " (" : "", desc, *desc ? ")" : "");
      }
    } else {
      accepted++;
      if (!*status_name) status_name = jstr(st, "name");
    }
  }
  if (!accepted && !failed) { /* a 2xx is an acceptance (F12) */
    snprintf(res->detail, sizeof res->detail,
             "%s: accepted (HTTP %ld); the reply lists no messages", backend,
             status);
    return 0;
  }
  if (failed) {
    /* Retrying would resend to the recipients that did accept it. */
    res->retryable = false;
    snprintf(res->detail, sizeof res->detail,
             "%s: %zu of %zu destinations failed: %s", backend, failed,
             failed + accepted, first);
    return GT_ESEND;
  }
  char name[80];
  gt__http_sanitize(name, sizeof name, status_name, 79);
  snprintf(res->detail, sizeof res->detail, "%s: accepted for %zu %s%s%s",
           backend, accepted, accepted == 1 ? "destination" : "destinations",
           *name ? ": " : "", name);
  return 0;
}

static void describe_error(json_t *root, char *buf, size_t n) {
  char code[64] = "", text[200] = "", extra[200] = "";
  json_t *se = json_object_get(json_object_get(root, "requestError"),
                               "serviceException");
  if (se) { /* the format of SMS v1/v2 and Email v3 */
    gt__http_sanitize(code, sizeof code, jstr(se, "messageId"), 63);
    gt__http_sanitize(text, sizeof text, jstr(se, "text"), 199);
    const char *field;
    json_t *msgs;
    json_object_foreach(json_object_get(se, "validationErrors"), field, msgs) {
      char f[60], v[120];
      gt__http_sanitize(f, sizeof f, field, 59);
      gt__http_sanitize(v, sizeof v, json_string_value(json_array_get(msgs, 0)),
                        119);
      snprintf(extra, sizeof extra, "; %s: %s", f, v);
      break;
    }
  } else if (json_object_get(root, "errorCode")) { /* SMS v3 */
    gt__http_sanitize(code, sizeof code, jstr(root, "errorCode"), 63);
    gt__http_sanitize(text, sizeof text, jstr(root, "description"), 199);
    json_t *v = json_array_get(json_object_get(root, "violations"), 0);
    if (v) {
      char p[60], w[120];
      gt__http_sanitize(p, sizeof p, jstr(v, "property"), 59);
      gt__http_sanitize(w, sizeof w, jstr(v, "violation"), 119);
      snprintf(extra, sizeof extra, "; %s: %s", p, w);
    }
  }
  if (*code || *text)
    snprintf(buf, n, "%s%s%s%s", code, *code && *text ? ": " : "", text, extra);
  else
    snprintf(buf, n, "no error details in the reply");
}

int gt__infobip_verdict(const gt_http *h, const char *backend,
                        const gt_http_reply *r, gt_send_result *res) {
  res->retryable = false;
  res->auth_failed = false;
  res->retry_after_ms = -1;
  json_error_t jerr;
  json_t *root =
      r->body && r->len ? json_loadb(r->body, r->len, 0, &jerr) : NULL;
  int rc;
  if (r->status >= 200 && r->status < 300 && !json_is_object(root)) {
    /* Infobip has accepted the request: a body we cannot read (cut short,
     * stalled, not JSON) must not make us send the message again. */
    char note[400];
    const char *cut = h ? gt__http_cut_note(h, r, note, sizeof note) : "";
    snprintf(res->detail, sizeof res->detail, "%s: accepted (HTTP %ld)%s%s",
             backend, r->status, *cut ? "" : "; the reply is not a JSON object",
             cut);
    rc = 0;
  } else if (r->status >= 200 && r->status < 300) {
    rc = success(backend, r->status, root, res);
  } else {
    char why[400];
    if (root)
      describe_error(root, why, sizeof why);
    else
      gt__http_sanitize(why, sizeof why, r->body ? r->body : "", 200);
    res->retryable = gt__http_status_retryable(r->status);
    res->auth_failed = gt__http_status_auth(r->status);
    res->retry_after_ms = r->retry_after_ms;
    const char *hint = res->auth_failed   ? " (check the api_key)"
                       : r->status == 404 ? " (check the base_url)"
                                          : "";
    char ch[200];
    snprintf(res->detail, sizeof res->detail, "%s: HTTP %ld: %s%s%s", backend,
             r->status, why, hint, gt__http_challenge_note(r, ch, sizeof ch));
    rc = GT_ESEND;
  }
  json_decref(root);
  return rc;
}
