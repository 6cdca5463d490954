"""A mock of Twilio's Messages API (POST /2010-04-01/Accounts/{Sid}/Messages.json).

It checks what a real client must get right -- method, path, headers, HTTP
Basic credentials and the form against what Twilio documents -- and answers
the way Twilio does: 201 with the Message resource, errors as
{code, message, more_info, status}. What it answers is chosen by the test
through the password (the auth token or API key secret) and the To number:

  password tw-SECRET-ok-*      201 Created (status "queued", or "accepted"
                               when a Messaging Service sends it)
  password tw-SECRET-429-*     429 Too Many Requests (20429), Retry-After: 7
  password tw-SECRET-500-*     500 (20500)
  password tw-SECRET-forbid-*  403 (20403)
  password tw-SECRET-echo-*    401 whose message, WWW-Authenticate and
                               X-Echo headers repeat the Authorization
                               header and the decoded password (a server
                               that leaks what it was sent)
  password tw-SECRET-cut-*     201 with Content-Length 100000, a few bytes
                               of the body, then the connection is closed
  any other password           401 Authenticate (20003)
  To +15005550001              400, 21211 "The 'To' number ... is not a
                               valid phone number." (Twilio's own magic
                               test number for it)
  To +15005550500              500 for this destination only (mock only)
  To +15005550429              429 for this destination only (mock only)

The Basic user must be the Account SID of the path or an API key SID (SK
and 32 hex digits). With --proxy the server is instead a forward proxy that
records the target of each CONNECT and refuses it (403): it shows where a
client would have gone without letting it go anywhere.
"""
import base64
import json
import re
import sys
import urllib.parse
import uuid

import common

PATH = re.compile(r"/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Messages\.json")
SK = re.compile(r"SK[0-9a-fA-F]{32}")
MG = re.compile(r"MG[0-9a-fA-F]{32}")
E164 = re.compile(r"\+[1-9][0-9]{7,14}")
SHORT_CODE = re.compile(r"[0-9]{5,6}")
SENDER_ID = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 +\-_&]{1,11}")
FIELDS = {"To", "From", "MessagingServiceSid", "Body"}

ERRORS = {
    400: (21211, "The 'To' number {to} is not a valid phone number."),
    401: (20003, "Authenticate"),
    403: (20403, "Forbidden"),
    404: (20404, "The requested resource {path} was not found"),
    405: (20004, "Method not allowed"),
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
}


class Invalid(Exception):
    """A request Twilio would refuse with 400 and this code."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def need(cond, code, message):
    if not cond:
        raise Invalid(code, message)


def parse_form(data):
    """The form as Twilio reads it; every field once, nothing unknown."""
    try:
        text = data.decode("ascii")  # a urlencoded body is ASCII only
        pairs = urllib.parse.parse_qsl(text, keep_blank_values=True,
                                       strict_parsing=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise Invalid(21600, "The request body is not a valid form")
    form = {}
    for k, v in pairs:
        need(k in FIELDS, 21600, "Unknown parameter " + k)
        need(k not in form, 21600, "Parameter given twice: " + k)
        form[k] = v
    return form


def check_form(form):
    need("To" in form, 21604, "A 'To' phone number is required.")
    need(E164.fullmatch(form["To"]), 21211,
         "The 'To' number %s is not a valid phone number." % form["To"])
    sender, service = form.get("From"), form.get("MessagingServiceSid")
    need(sender or service, 21603, "A 'From' phone number is required.")
    if sender is not None:
        need(E164.fullmatch(sender) or SHORT_CODE.fullmatch(sender) or
             SENDER_ID.fullmatch(sender), 21212,
             "The 'From' number %s is not a valid phone number, shortcode, "
             "or alphanumeric sender ID." % sender)
    if service is not None:
        need(MG.fullmatch(service), 21701,
             "The Messaging Service Sid %s is invalid." % service)
    body = form.get("Body", "")
    need(body, 21602, "Message body is required.")
    need(len(body) <= 1600, 21617,
         "The concatenated message body exceeds the 1600 character limit.")


def credentials(header):
    m = re.fullmatch(r"Basic ([A-Za-z0-9+/=]+)", header or "")
    if not m:
        return None, None
    try:
        user, _, password = base64.b64decode(m.group(1), validate=True) \
            .decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None, None
    return user, password


class Handler(common.QuietHandler):
    def error(self, status, code=None, message=None, headers=None, **fmt):
        dflt_code, dflt_message = ERRORS[status]
        code = code or dflt_code
        text = message or dflt_message
        body = {"code": code,
                "message": text.format(**fmt) if fmt else text,
                "more_info": "https://www.twilio.com/docs/errors/%d" % code,
                "status": status}
        self.reply(status, body, headers)
        return status

    def created(self, sid, form):
        service = form.get("MessagingServiceSid")
        msg_sid = "SM" + uuid.uuid4().hex
        self.reply(201, {
            "sid": msg_sid, "account_sid": sid, "to": form["To"],
            "from": form.get("From"), "messaging_service_sid": service,
            "body": form["Body"], "status": "accepted" if service else "queued",
            "num_segments": "1", "num_media": "0",
            "direction": "outbound-api", "api_version": "2010-04-01",
            "price": None, "price_unit": "USD", "error_code": None,
            "error_message": None,
            "uri": "/2010-04-01/Accounts/%s/Messages/%s.json" % (sid, msg_sid),
        })
        return 201

    def cut_201(self):
        """A 201 whose body never arrives in full: recorded first, since
        the client decides (and the test looks) before this returns."""
        self.record_now(201)
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.write(b'{"sid": "SM')
        self.wfile.flush()
        self.close_connection = True
        return None

    def refuse_login(self, password):
        auth = self.headers.get("Authorization", "")
        if password.startswith("tw-SECRET-echo"):
            return self.error(401, message="Authenticate: Authorization: %s "
                              "(password %s)" % (auth, password), headers={
                                  "WWW-Authenticate": 'Basic realm="Twilio '
                                  'API", rejected="%s"' % auth,
                                  "X-Echo": auth})
        if password.startswith("tw-SECRET-forbid"):
            return self.error(403)
        return self.error(401, headers={
            "WWW-Authenticate": 'Basic realm="Twilio API"'})

    def by_password(self, password):
        """The replies chosen by the password; None: go on to the form."""
        if password.startswith("tw-SECRET-429"):
            return self.error(429, headers={"Retry-After": "7"})
        if password.startswith("tw-SECRET-500"):
            return self.error(500)
        if not password.startswith("tw-SECRET-ok"):
            return self.refuse_login(password)
        return None

    def handle_post(self, data, entry):
        m = PATH.fullmatch(self.path)
        if not m:
            return self.error(404, path=self.path)
        sid = m.group(1)
        if not self.headers.get("User-Agent", "").startswith("garbage-texts/"):
            return self.error(400, 21600, "User-Agent is not garbage-texts")
        if self.headers.get("Accept") != "application/json":
            return self.error(400, 21600, "Accept must be application/json")
        user, password = credentials(self.headers.get("Authorization"))
        entry["user"] = user
        if user is None or (user != sid and not SK.fullmatch(user)):
            return self.error(401, headers={
                "WWW-Authenticate": 'Basic realm="Twilio API"'})
        ctype = self.headers.get("Content-Type", "")
        if ctype.split(";")[0].strip() != "application/x-www-form-urlencoded":
            return self.error(400, 21600, "Content-Type must be "
                              "application/x-www-form-urlencoded")
        if password.startswith("tw-SECRET-cut"):
            return self.cut_201()
        status = self.by_password(password)
        if status is not None:
            return status
        try:
            form = parse_form(data)
            entry["form"] = form
            check_form(form)
        except Invalid as e:
            return self.error(400, e.code, str(e))
        to = form["To"]
        if to == "+15005550001":
            return self.error(400, to=to)
        if to == "+15005550500":
            return self.error(500)
        if to == "+15005550429":
            return self.error(429, headers={"Retry-After": "3"})
        return self.created(sid, form)

    def do_POST(self):
        data = self.read_body()
        entry = {"method": "POST", "path": self.path,
                 "headers": {k: v for k, v in self.headers.items()}}
        self.pending_record = entry
        status = self.handle_post(data, entry)
        if status is not None:  # replies that did not go through reply()
            self.record_now(status)
        self.pending_record = None

    def do_GET(self):
        self.read_body()
        common.record(self.server.args.record,
                      {"method": "GET", "path": self.path, "status": 405})
        self.error(405)


class ProxyHandler(common.QuietHandler):
    def do_CONNECT(self):
        common.record(self.server.args.record,
                      {"method": "CONNECT", "path": self.path, "status": 403})
        self.send_response(403)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.close_connection = True


def main():
    p = common.arg_parser(__doc__.splitlines()[0])
    p.add_argument("--proxy", action="store_true")
    args = p.parse_args()
    common.serve(args, ProxyHandler if args.proxy else Handler)


if __name__ == "__main__":
    sys.exit(main())
