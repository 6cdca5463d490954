"""A mock of the Infobip SMS (v3 and v2) and Email (v3) send endpoints.

It checks what a real client must get right -- method, path, headers, the
API key and the body against the documented schema -- and answers the way
Infobip does. What it answers is chosen by the test through the key and the
destination:

  key ib-SECRET-ok-*      accepted (status group 1 PENDING)
  key ib-SECRET-429-*     429 Too Many Requests, Retry-After: 7
  key ib-SECRET-429-date* the same with Retry-After as an HTTP date (+30 s)
  key ib-SECRET-500-*     500 General error
  key ib-SECRET-slow*     answers only after 5 s (client timeouts)
  key ib-SECRET-garbage*  200 OK with a body that is not JSON
  key ib-SECRET-close*    closes the connection without any reply
  key ib-SECRET-echo*     401 whose error text, WWW-Authenticate and
                          X-Echo headers repeat the Authorization header
                          (a server that leaks what it was sent)
  key ib-SECRET-forbid*   403 Forbidden
  key ib-SECRET-stall*    200 with Content-Length 100000, a few bytes of
                          the body, then silence for 30 s
  key ib-SECRET-cut*      200 with Content-Length 100000, a few bytes of
                          the body, then the connection is closed
  key ib-SECRET-hole*     reads the request, never answers (30 s)
  any other key           401 Invalid login details
  to 41000000000          REJECTED (group 5) REJECTED_DESTINATION_NOT_REGISTERED
  to 41999999999          UNDELIVERABLE (group 2)
  to bad@example.org      REJECTED (email)

SMS v3 replies to errors in the new format ({errorCode, description}); SMS
v2 and Email v3 in the legacy one (requestError.serviceException), as the
official clients expect.
"""
import email.parser
import email.policy
import email.utils
import json
import re
import sys
import time
import uuid

import common

SMS_V3 = "/sms/3/messages"
SMS_V2 = "/sms/2/text/advanced"
EMAIL_V3 = "/email/3/send"

TEXT = {400: "Bad request", 401: "Invalid login details",
        403: "Unauthorized access", 404: "Not found",
        405: "Method not allowed", 429: "Too many requests sent.",
        500: "Something went wrong."}
LEGACY_ID = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "UNAUTHORIZED",
             404: "NOT_FOUND", 405: "BAD_REQUEST", 429: "TOO_MANY_REQUESTS",
             500: "GENERAL_ERROR"}


class Invalid(Exception):
    def __init__(self, prop, why):
        super().__init__(prop + ": " + why)
        self.prop, self.why = prop, why


def need(cond, prop, why):
    if not cond:
        raise Invalid(prop, why)


def only_keys(obj, allowed, where):
    need(isinstance(obj, dict), where, "must be an object")
    for k in obj:
        need(k in allowed, where + "." + k, "unknown property")


def check_destinations(dests, where):
    need(isinstance(dests, list) and dests, where, "must be a non-empty array")
    for i, d in enumerate(dests):
        only_keys(d, {"to", "messageId", "networkId"}, "%s[%d]" % (where, i))
        to = d.get("to")
        need(isinstance(to, str) and re.fullmatch(r"[1-9][0-9]{7,14}", to),
             "%s[%d].to" % (where, i), "must be digits in international format")


def check_sms_v3(body):
    only_keys(body, {"messages", "options"}, "body")
    msgs = body.get("messages")
    need(isinstance(msgs, list) and msgs, "messages", "must be a non-empty array")
    for i, m in enumerate(msgs):
        w = "messages[%d]" % i
        only_keys(m, {"sender", "destinations", "content", "options", "webhooks"}, w)
        need(isinstance(m.get("sender"), str) and m["sender"], w + ".sender", "required")
        check_destinations(m.get("destinations"), w + ".destinations")
        only_keys(m.get("content"), {"text", "transliteration", "language"}, w + ".content")
        t = m["content"].get("text")
        need(isinstance(t, str) and t, w + ".content.text", "required")
    return [(d["to"], m["content"]["text"]) for m in msgs for d in m["destinations"]]


def check_sms_v2(body):
    only_keys(body, {"bulkId", "messages", "tracking", "sendingSpeedLimit"}, "body")
    msgs = body.get("messages")
    need(isinstance(msgs, list) and msgs, "messages", "must be a non-empty array")
    for i, m in enumerate(msgs):
        w = "messages[%d]" % i
        only_keys(m, {"from", "destinations", "text", "flash", "language",
                      "transliteration", "notifyUrl", "callbackData",
                      "validityPeriod"}, w)
        need(isinstance(m.get("from"), str) and m["from"], w + ".from", "required")
        check_destinations(m.get("destinations"), w + ".destinations")
        need(isinstance(m.get("text"), str) and m["text"], w + ".text", "required")
    return [(d["to"], m["text"]) for m in msgs for d in m["destinations"]]


def parse_form(content_type, data):
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + data)
    need(msg.is_multipart(), "body", "must be multipart/form-data")
    form = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        form.setdefault(name, []).append(
            part.get_payload(decode=True).decode("utf-8"))
    return form


def check_email(form):
    for k in form:
        need(k in {"from", "to", "cc", "bcc", "subject", "text", "html"}, k,
             "unknown field")
    for k in ("from", "to", "subject", "text"):
        need(form.get(k), k, "required")
    for k in ("from", "subject"):
        need(len(form[k]) == 1, k, "given more than once")
        need("\r" not in form[k][0] and "\n" not in form[k][0], k,
             "must be one line")
    for a in form["to"]:
        need(re.fullmatch(r"[^@\s<>]+@[^@\s<>]+", a), "to", "invalid address")
    return [(a, form["text"][0]) for a in form["to"]]


def status_for(to, email_api):
    if to in ("41000000000", "bad@example.org"):
        return {"groupId": 5, "groupName": "REJECTED", "id": 18,
                "name": "REJECTED_DESTINATION_NOT_REGISTERED",
                "description": "Destination not registered"}
    if to == "41999999999":
        return {"groupId": 2, "groupName": "UNDELIVERABLE", "id": 9,
                "name": "UNDELIVERABLE_NOT_DELIVERED",
                "description": "Message sent not delivered"}
    return {"groupId": 1, "groupName": "PENDING", "id": 26 if not email_api else 7,
            "name": "PENDING_ACCEPTED" if not email_api else "PENDING_ENROUTE",
            "description": "Message sent to next instance"}


class Handler(common.QuietHandler):
    def error(self, status, legacy, violation=None, headers=None, text=None):
        if legacy:
            se = {"messageId": LEGACY_ID[status], "text": text or TEXT[status]}
            if violation:
                se["validationErrors"] = {violation.prop: [violation.why]}
            body = {"requestError": {"serviceException": se}}
        else:
            body = {"errorCode": "E%d" % status,
                    "description": text or TEXT[status],
                    "action": "Check the request.", "violations": [],
                    "resources": []}
            if violation:
                body["violations"] = [{"property": violation.prop,
                                       "violation": violation.why}]
        self.reply(status, body, headers)
        return status

    def partial_200(self, entry, then):
        """A 200 whose body never arrives in full: recorded first, since
        the client decides (and the test looks) before this returns."""
        self.record_now(200)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.write(b'{"messages":[{"to":"4179')
        self.wfile.flush()
        if then == "stall":
            time.sleep(30)
        self.close_connection = True
        return None

    def handle_post(self, data, entry):
        path = self.path
        legacy = path != SMS_V3
        if path not in (SMS_V3, SMS_V2, EMAIL_V3):
            return self.error(404, legacy)
        ua = self.headers.get("User-Agent", "")
        if not ua.startswith("garbage-texts/"):
            return self.error(400, legacy, Invalid("User-Agent", "not garbage-texts"))
        if self.headers.get("Accept") != "application/json":
            return self.error(400, legacy, Invalid("Accept", "must be application/json"))
        auth = self.headers.get("Authorization", "")
        m = re.fullmatch(r"App (\S+)", auth)
        if not m or not m.group(1).startswith("ib-SECRET-"):
            return self.error(401, legacy)
        key = m.group(1)
        if key.startswith("ib-SECRET-echo"):
            return self.error(401, legacy, text="Invalid login details: "
                              "Authorization: " + auth, headers={
                                  "WWW-Authenticate": 'App realm="api", '
                                  'rejected="%s"' % auth,
                                  "X-Echo": auth})
        if key.startswith("ib-SECRET-forbid"):
            return self.error(403, legacy)
        if key.startswith("ib-SECRET-stall"):
            return self.partial_200(entry, "stall")
        if key.startswith("ib-SECRET-cut"):
            return self.partial_200(entry, "close")
        if key.startswith("ib-SECRET-hole"):
            self.record_now(0)
            time.sleep(30)
            self.close_connection = True
            return None
        if key.startswith("ib-SECRET-slow"):
            time.sleep(5)  # longer than the client's timeout in the test
            return self.error(500, legacy)
        if key.startswith("ib-SECRET-garbage"):
            body = b"<html>upstream says hi</html>"
            self.record_now(200)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return 200
        if key.startswith("ib-SECRET-close"):
            self.close_connection = True  # nothing written: an empty reply
            return 0
        if key.startswith("ib-SECRET-429-date"):
            when = email.utils.formatdate(time.time() + 30, usegmt=True)
            return self.error(429, legacy, headers={"Retry-After": when})
        if key.startswith("ib-SECRET-429"):
            return self.error(429, legacy, headers={"Retry-After": "7"})
        if key.startswith("ib-SECRET-500"):
            return self.error(500, legacy)
        if not key.startswith("ib-SECRET-ok"):
            return self.error(401, legacy)
        ctype = self.headers.get("Content-Type", "")
        try:
            if path == EMAIL_V3:
                need(ctype.startswith("multipart/form-data"), "Content-Type",
                     "must be multipart/form-data")
                form = parse_form(ctype, data)
                entry["form"] = form
                sent = check_email(form)
            else:
                need(ctype == "application/json", "Content-Type",
                     "must be application/json")
                body = json.loads(data.decode("utf-8"))
                entry["json"] = body
                sent = (check_sms_v3 if path == SMS_V3 else check_sms_v2)(body)
        except (ValueError, UnicodeDecodeError):
            return self.error(400, legacy, Invalid("body", "not valid JSON"))
        except Invalid as e:
            return self.error(400, legacy, e)
        msgs = []
        for to, text in sent:
            st = status_for(to, path == EMAIL_V3)
            item = {"messageId": uuid.uuid4().hex, "status": st}
            if path == SMS_V3:
                item["destination"] = to
                item["details"] = {"messageCount": 1}
            else:
                item["to"] = to
            msgs.append(item)
        out = {"messages": msgs}
        if len(msgs) > 1:
            out["bulkId"] = uuid.uuid4().hex
        self.reply(200, out)
        return 200

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
        status = self.error(405, self.path != SMS_V3)
        common.record(self.server.args.record,
                      {"method": "GET", "path": self.path, "status": status})


def main():
    args = common.arg_parser(__doc__.splitlines()[0]).parse_args()
    common.serve(args, Handler)


if __name__ == "__main__":
    sys.exit(main())
