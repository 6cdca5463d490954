/* The "email" backend. email.transport = smtp (default) sends through an
 * SMTP server with libcurl, TLS required (smtps:// or STARTTLS);
 * email.transport = infobip hands over to email_infobip.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backends/email.h"
#include "backends/http.h"
#include "text.h"

typedef struct smtp_state {
  gt_http http;
  gt_email_common c;
  struct curl_slist *rcpt;
  char *subject_hdr;  /* RFC 2047-encoded when not ASCII */
  char *from_hdr;     /* the same for the display name */
  const char *domain; /* for Message-ID, inside c.from_addr */
  unsigned long seq;
} smtp_state;

static void smtp_close(void *p) {
  smtp_state *s = p;
  if (!s) return;
  gt__http_close(&s->http);
  gt__email_common_free(&s->c);
  curl_slist_free_all(s->rcpt);
  free(s->subject_hdr);
  free(s->from_hdr);
  free(s);
}

/* email.url as libcurl is given it: smtps:// when it names no scheme,
 * else smtps:// or smtp:// (and then STARTTLS is required). *url is
 * replaced by *full when a scheme had to be added; the caller frees *full. */
static int smtp_url(const char **url, char **full) {
  const char *in = *url;
  if (!in)
    return gt__fail(GT_EINVAL, "email.url: required (smtps://host:465 or "
                               "smtp://host:587 with STARTTLS)");
  for (const char *p = in; *p; p++)
    if ((unsigned char)*p <= 0x20 || *p == 0x7f)
      return gt__fail(GT_EINVAL, "email.url: must not contain spaces or "
                                 "control characters");
  if (!strstr(in, "://")) {
    size_t n = strlen(in) + sizeof "smtps://";
    if (!(*full = malloc(n)))
      return gt__fail(GT_ENOMEM, "email: out of memory");
    snprintf(*full, n, "smtps://%s", in);
    *url = *full;
  } else if (strncmp(in, "smtps://", 8) != 0 &&
             strncmp(in, "smtp://", 7) != 0) {
    return gt__fail(GT_EINVAL, "email.url: scheme must be smtps:// or smtp:// "
                               "(STARTTLS is then required)");
  }
  return 0;
}

static int smtp_open(const gt_config *cfg, void **state) {
  *state = NULL;
  smtp_state *s = calloc(1, sizeof *s);
  if (!s) return gt__fail(GT_ENOMEM, "email: out of memory");
  int rc;
  const char *url = gt__config_get(cfg, "email.url");
  const char *user = gt__config_get(cfg, "email.username");
  const char *pass = gt__config_get(cfg, "email.password");
  char *full = NULL;
  if ((rc = gt__email_common_open(cfg, &s->c)) < 0) goto fail;
  if ((rc = smtp_url(&url, &full)) < 0) goto fail;
  if (user && !pass) {
    rc = gt__fail(GT_EINVAL, "email.password: required with email.username");
    goto fail;
  }
  if (!user && pass) {
    rc = gt__fail(GT_EINVAL, "email.username: required with email.password");
    goto fail;
  }
  for (size_t i = 0; i < s->c.nto; i++) {
    char buf[300];
    snprintf(buf, sizeof buf, "<%s>", s->c.to[i]);
    struct curl_slist *l = curl_slist_append(s->rcpt, buf);
    if (!l) {
      rc = gt__fail(GT_ENOMEM, "email: out of memory");
      goto fail;
    }
    s->rcpt = l;
  }
  if (!(s->subject_hdr = gt__email_encode_words(s->c.subject)) ||
      !(s->from_hdr = gt__email_from_header(&s->c))) {
    rc = gt__fail(GT_ENOMEM, "email: out of memory");
    goto fail;
  }
  s->domain = strchr(s->c.from_addr, '@') + 1;
  if ((rc = gt__http_open(&s->http, cfg, "email", "smtps,smtp")) < 0 ||
      (rc = gt__http_add_login(&s->http, "email.password", user, pass)) < 0 ||
      (rc = gt__http_add_url_secrets(&s->http, "email.url", url)) < 0)
    goto fail;
  CURL *c = s->http.curl;
  char from[300];
  snprintf(from, sizeof from, "<%s>", s->c.from_addr);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, s->rcpt);
  if (user) {
    curl_easy_setopt(c, CURLOPT_USERNAME, user);
    curl_easy_setopt(c, CURLOPT_PASSWORD, pass);
  }
  free(full);
  *state = s;
  return 0;
fail:
  free(full);
  smtp_close(s);
  return rc;
}

/* RFC 5322 date, built by hand so that the C locale is not needed. */
static void rfc5322_date(char *buf, size_t n) {
  static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                     "Thu", "Fri", "Sat"};
  static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                       "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"};
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  snprintf(buf, n, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
           tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
           tm.tm_min, tm.tm_sec);
}

/* SMTP replies that refuse our credentials (RFC 4954): 530 authentication
 * required, 534 mechanism too weak, 535 credentials invalid. */
static bool smtp_auth_refused(const gt_http_reply *r) {
  return r->code == CURLE_LOGIN_DENIED || r->status == 530 ||
         r->status == 534 || r->status == 535;
}

static int smtp_send(void *p, const gt_message *msg, gt_send_result *res) {
  smtp_state *s = p;
  res->retryable = false;
  res->auth_failed = false;
  res->retry_after_ms = -1;
  res->detail[0] = '\0';
  char date[64], mid[400];
  rfc5322_date(date, sizeof date);
  snprintf(mid, sizeof mid, "<%lld.%d.%lu@%s>", (long long)time(NULL),
           (int)getpid(), ++s->seq, s->domain);
  struct curl_slist *hdrs = NULL;
  /* The part says charset=UTF-8: make it true whatever the names were. */
  char *text = gt__text_utf8(msg->text);
  curl_mime *mime = text ? curl_mime_init(s->http.curl) : NULL;
  curl_mimepart *part = mime ? curl_mime_addpart(mime) : NULL;
  int ok = part && gt__http_header(&hdrs, "Date", date) &&
           gt__http_header(&hdrs, "Message-ID", mid) &&
           gt__http_header(&hdrs, "From", s->from_hdr) &&
           gt__http_header(&hdrs, "To", s->c.to_line) &&
           gt__http_header(&hdrs, "Subject", s->subject_hdr) &&
           curl_mime_data(part, text, CURL_ZERO_TERMINATED) == CURLE_OK &&
           curl_mime_type(part, "text/plain; charset=UTF-8") == CURLE_OK &&
           curl_mime_encoder(part, "quoted-printable") == CURLE_OK;
  int rc = 0;
  if (!ok) {
    res->retryable = true;
    snprintf(res->detail, sizeof res->detail, "email: out of memory");
    rc = GT_ESEND;
    goto done;
  }
  CURL *c = s->http.curl;
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
  gt_http_reply r = {0};
  if (gt__http_perform(&s->http, &r) == 0) {
    snprintf(res->detail, sizeof res->detail,
             "email: accepted by the SMTP server for %zu recipient%s (%ld)",
             s->c.nto, s->c.nto == 1 ? "" : "s", r.status);
  } else {
    rc = gt__http_transport_fail(&s->http, &r, "email", res);
    /* SMTP says itself whether to try again: 4xx transient, 5xx not. */
    if (r.status >= 400 && r.status < 500)
      res->retryable = true;
    else if (r.status >= 500 || r.code == CURLE_LOGIN_DENIED)
      res->retryable = false;
    if (smtp_auth_refused(&r)) {
      res->auth_failed = true;
      res->retryable = false;
    }
    if (r.status) {
      size_t n = strlen(res->detail);
      snprintf(res->detail + n, sizeof res->detail - n, " (SMTP %ld)",
               r.status);
    }
  }
  gt__http_reply_free(&r);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
  curl_easy_setopt(c, CURLOPT_MIMEPOST, (curl_mime *)NULL);
done:
  curl_slist_free_all(hdrs);
  curl_mime_free(mime);
  free(text);
  return gt__http_finish(&s->http, res, rc);
}

static const gt_key_def smtp_keys[] = {
    GT_EMAIL_KEYS("smtp"),
    {"email.url", GT_KEY_STR, NULL, NULL, 0, 0},
    {"email.username", GT_KEY_STR, NULL, NULL, 0, 0},
    {"email.password", GT_KEY_SECRET, NULL, NULL, 0, 0},
};

const gt_backend_ops gt__backend_email_smtp = {
    .name = "email",
    .select_key = "email.transport",
    .select_value = "smtp",
    .flags = GT_BACKEND_RATE_LIMITED,
    .keys = GT_KEYS(smtp_keys),
    .open = smtp_open,
    .send = smtp_send,
    .close = smtp_close,
};
