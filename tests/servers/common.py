"""Shared plumbing for the loopback test servers: TLS, port file, records.

Every server binds 127.0.0.1 on a free port, writes the port to --port-file
once it listens (the test waits for that file), appends one JSON line per
request to --record, and exits by itself after --lifetime seconds so a
crashed test never leaves it running.
"""
import argparse
import http.server
import json
import os
import ssl
import threading


def arg_parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--port-file", required=True)
    p.add_argument("--record", required=True)
    p.add_argument("--cert", help="server certificate (PEM); plain HTTP without it")
    p.add_argument("--key")
    p.add_argument("--lifetime", type=float, default=120.0)
    # 0: any free port. A fixed one lets a test bring a "down" server back.
    p.add_argument("--port", type=int, default=0)
    return p


def tls_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx


def write_port(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(port))
    os.rename(tmp, path)  # atomic: the test never reads half a number


_record_lock = threading.Lock()


def record(path, entry):
    with _record_lock, open(path, "a") as f:
        f.write(json.dumps(entry, sort_keys=True) + "\n")


def exit_later(seconds):
    t = threading.Timer(seconds, lambda: os._exit(3))
    t.daemon = True
    t.start()


class QuietHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # http.server writes headers and body as separate TLS records; with
    # Nagle and the client's delayed ACK every reply would wait ~40 ms.
    disable_nagle_algorithm = True
    # Headers are recorded, not logged: the log must never hold a key.
    def log_message(self, fmt, *args):
        pass

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    # The request being handled: recorded before its reply goes out, so a
    # client that has its answer (and the test behind it) finds the record.
    pending_record = None

    def record_now(self, status):
        entry, self.pending_record = self.pending_record, None
        if entry is not None:
            entry["status"] = status
            record(self.server.args.record, entry)

    def reply(self, status, obj=None, headers=None):
        data = b"" if obj is None else json.dumps(obj).encode()
        self.record_now(status)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)


def serve(args, handler_cls):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", args.port),
                                            handler_cls)
    httpd.daemon_threads = True
    if args.cert:
        ctx = tls_context(args.cert, args.key)
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    httpd.args = args
    exit_later(args.lifetime)
    write_port(args.port_file, httpd.server_address[1])
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
