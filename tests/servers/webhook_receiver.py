"""A webhook receiver that verifies garbage-texts' HMAC signature.

With --secret it requires X-GT-Timestamp (within 300 s of now) and
X-GT-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>"> and
answers 401 when either is wrong; without it, it accepts unsigned posts.
--status forces a reply status (e.g. 503) after recording.
"""
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
        self.reply(status, {"ok": status == 200})


def main():
    p = common.arg_parser(__doc__.splitlines()[0])
    p.add_argument("--secret")
    p.add_argument("--status", type=int)
    common.serve(p.parse_args(), Handler)


if __name__ == "__main__":
    sys.exit(main())
