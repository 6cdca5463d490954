"""A webhook receiver that verifies garbage-texts' HMAC signature.

With --secret it requires X-GT-Timestamp (within 300 s of now) and
X-GT-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>"> and
answers 401 when either is wrong; without it, it accepts unsigned posts.
--status forces a reply status (e.g. 503) after recording. --echo makes
it a server that leaks what it was sent: the reply body, a WWW-Authenticate
and an X-Echo header repeat the Authorization header, and the body also the
Basic credentials decoded.
"""
import base64
import binascii
import hashlib
import hmac
import json
import sys
import time

import common


class Handler(common.QuietHandler):
    def do_POST(self):
        args = self.server.args
        data = self.read_body()
        ts = self.headers.get("X-GT-Timestamp")
        sig = self.headers.get("X-GT-Signature")
        entry = {"path": self.path, "headers": dict(self.headers.items())}
        try:
            entry["json"] = json.loads(data.decode("utf-8"))
        except ValueError:
            entry["json"] = None
        verified = None
        if args.secret:
            verified = False
            if ts and sig and ts.isdigit() and abs(time.time() - int(ts)) < 300:
                want = "sha256=" + hmac.new(args.secret.encode(),
                                            ts.encode() + b"." + data,
                                            hashlib.sha256).hexdigest()
                verified = hmac.compare_digest(want, sig)
        entry["verified"] = verified
        ok_type = self.headers.get("Content-Type") == "application/json"
        if args.status:
            status = args.status
        elif verified is False:
            status = 401
        elif not ok_type or entry["json"] is None:
            status = 400
        else:
            status = 200
        entry["status"] = status
        common.record(args.record, entry)
        if not args.echo:
            self.reply(status, {"ok": status == 200})
            return
        auth = self.headers.get("Authorization", "")
        decoded = ""
        if auth.startswith("Basic "):
            try:
                decoded = base64.b64decode(auth[6:]).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                decoded = "(not base64)"
        self.reply(status, {"ok": status == 200,
                            "error": "refused " + auth + " i.e. " + decoded},
                   {"WWW-Authenticate": 'Basic realm="hooks", was="%s"' % auth,
                    "X-Echo": auth})


def main():
    p = common.arg_parser(__doc__.splitlines()[0])
    p.add_argument("--secret")
    p.add_argument("--status", type=int)
    p.add_argument("--echo", action="store_true")
    common.serve(p.parse_args(), Handler)


if __name__ == "__main__":
    sys.exit(main())
