#!/usr/bin/env python3
"""fake_registry — a stand-in npm registry on 127.0.0.1 for the farm tests.

Serves DIR as it is: a packument is the file DIR/<name> (a scoped name's
%2f is decoded, so @scope%2fname is DIR/@scope/name), tarballs wherever the
packuments' dist.tarball URLs point inside DIR. Packument requests (every
path not ending in .tgz) are answered after DELAY seconds, so a test can see
a package reference while the coordinator is still resolving it. Every
request is appended to LOG as "METHOD PATH STATUS", so a test can count
downloads.

    fake_registry.py DIR PORT LOG [DELAY] [--token T] [--tls CERT KEY]

--token: a private registry; every request without "Authorization: Bearer T"
is answered 401 (as npm registries answer), and each log line gains
" auth=yes" or " auth=no" (without --token, " auth=sent" marks a request
that carried a credential anyway). --tls: served over HTTPS with that certificate.
Never binds anything but loopback.
"""
import argparse
import functools
import http.server
import ssl
import sys
import threading
import time


class Handler(http.server.SimpleHTTPRequestHandler):
    delay = 0.0
    log_path = None
    log_lock = threading.Lock()

    token = None

    def authorized(self):
        return self.headers.get("Authorization") == f"Bearer {self.token}"

    def do_GET(self):
        if self.token is not None and not self.authorized():
            body = b'{"error":"authentication required"}'
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if not self.path.endswith(".tgz") and self.delay > 0:
            time.sleep(self.delay)
        super().do_GET()

    def log_request(self, code="-", size="-"):
        code = getattr(code, "value", code)
        auth = ""
        if self.token is not None:
            auth = " auth=yes" if self.authorized() else " auth=no"
        elif self.headers.get("Authorization"):
            auth = " auth=sent"  # a credential this server never asked for
        with self.log_lock, open(self.log_path, "a") as f:
            f.write(f"{self.command} {self.path} {code}{auth}\n")

    def log_message(self, fmt, *args):
        pass


def main():
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument("dir")
    ap.add_argument("port", type=int)
    ap.add_argument("log")
    ap.add_argument("delay", type=float, nargs="?", default=0.0)
    ap.add_argument("--token")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    a = ap.parse_args()
    Handler.delay = a.delay
    Handler.log_path = a.log
    Handler.token = a.token
    handler = functools.partial(Handler, directory=a.dir)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), handler)
    server.daemon_threads = True
    if a.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls[0], a.tls[1])
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
