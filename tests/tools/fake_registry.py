#!/usr/bin/env python3
"""fake_registry — a stand-in npm registry on 127.0.0.1 for the farm tests.

Serves DIR as it is: a packument is the file DIR/<name> (a scoped name's
%2f is decoded, so @scope%2fname is DIR/@scope/name), tarballs wherever the
packuments' dist.tarball URLs point inside DIR. Packument requests (every
path not ending in .tgz) are answered after DELAY seconds, so a test can see
a package reference while the coordinator is still resolving it. Every
request is appended to LOG as "METHOD PATH STATUS", so a test can count
downloads.

    fake_registry.py DIR PORT LOG [DELAY]

Never binds anything but loopback.
"""
import functools
import http.server
import sys
import threading
import time


class Handler(http.server.SimpleHTTPRequestHandler):
    delay = 0.0
    log_path = None
    log_lock = threading.Lock()

    def do_GET(self):
        if not self.path.endswith(".tgz") and self.delay > 0:
            time.sleep(self.delay)
        super().do_GET()

    def log_request(self, code="-", size="-"):
        code = getattr(code, "value", code)
        with self.log_lock, open(self.log_path, "a") as f:
            f.write(f"{self.command} {self.path} {code}\n")

    def log_message(self, fmt, *args):
        pass


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    directory, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    Handler.delay = float(sys.argv[4]) if len(sys.argv) == 5 else 0.0
    Handler.log_path = log
    handler = functools.partial(Handler, directory=directory)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
