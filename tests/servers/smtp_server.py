"""A real SMTP server (Debian's python3-aiosmtpd) for the email tests.

--mode starttls: plain SMTP that requires STARTTLS before anything else;
--mode smtps: TLS from the first byte; --mode plain: no TLS offered at all
(a client must refuse to send). AUTH (PLAIN/LOGIN) is required, only
after TLS, with --user/--password. Each delivered message is written to
--maildir as N.eml plus N.json (envelope, login, and the From and Subject
headers as a mail reader decodes them, RFC 2047 included). Recipients
reject@example.org get 550, tempfail@example.org 451.
Run it with /usr/bin/python3 so Debian's packages are importable.
"""
import asyncio
import email
import email.header
import json
import os
import sys
import logging

from aiosmtpd.smtp import SMTP, AuthResult

import common


class ImplicitTLS(SMTP):
    """SMTP over TLS from the first byte (smtps). aiosmtpd only knows TLS
    that STARTTLS began, so tell it the connection already is encrypted."""

    def connection_made(self, transport):
        super().connection_made(transport)
        if transport.get_extra_info("ssl_object") is not None:
            self._tls_protocol = True
            self.session.ssl = {"implicit": True}


class Handler:
    def __init__(self, maildir, record):
        self.maildir, self.record, self.n = maildir, record, 0

    async def handle_RCPT(self, server, session, envelope, address, options):
        if address == "reject@example.org":
            return "550 5.1.1 No such user"
        if address == "tempfail@example.org":
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        base = os.path.join(self.maildir, str(self.n))
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        auth = session.auth_data if session.authenticated else None
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                "login": auth.login.decode() if auth is not None else None,
                "tls": session.ssl is not None}
        parsed = email.message_from_bytes(envelope.original_content or b"")
        for h in ("From", "Subject"):
            raw = parsed.get(h)
            meta[h.lower()] = None if raw is None else str(
                email.header.make_header(email.header.decode_header(raw)))
        with open(base + ".json", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".eml.tmp", base + ".eml")
        common.record(self.record, {"delivered": self.n, **meta})
        return "250 2.0.0 Message accepted"


def main():
    logging.getLogger("mail.log").setLevel(logging.ERROR)  # no session chatter
    p = common.arg_parser(__doc__.splitlines()[0])
    p.add_argument("--mode", choices=["starttls", "smtps", "plain"], default="starttls")
    p.add_argument("--maildir", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    args = p.parse_args()
    ctx = common.tls_context(args.cert, args.key) if args.cert else None

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login.decode() == args.user and
              auth_data.password.decode() == args.password)
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    handler = Handler(args.maildir, args.record)

    def factory():
        cls = SMTP if args.mode == "starttls" else ImplicitTLS
        return cls(handler, hostname="gt-test-smtp",
                    tls_context=ctx if args.mode == "starttls" else None,
                    require_starttls=args.mode == "starttls",
                    auth_required=args.mode != "plain",
                    auth_require_tls=args.mode != "plain",
                    authenticator=authenticator, timeout=30)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(
        factory, host="127.0.0.1", port=0,
        ssl=ctx if args.mode == "smtps" else None))
    common.exit_later(args.lifetime)
    common.write_port(args.port_file, server.sockets[0].getsockname()[1])
    try:
        loop.run_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
