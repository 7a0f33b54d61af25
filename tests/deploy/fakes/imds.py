#!/usr/bin/env python3
"""imds.py ADDRESS PORT KEY=VALUE... — an IMDSv2 stand-in for
tests/deploy/tls_bootstrap_test.sh: PUT /latest/api/token hands out a token,
GET /latest/meta-data/KEY answers VALUE only with that token (401 without,
as IMDS with http_tokens = required), 404 for any other key."""
import http.server
import secrets
import sys

addr, port = sys.argv[1], int(sys.argv[2])
values = dict(a.split("=", 1) for a in sys.argv[3:])
token = secrets.token_hex(16)


class Handler(http.server.BaseHTTPRequestHandler):
    def reply(self, code, body=b""):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            self.reply(200, token.encode())
        else:
            self.reply(400)

    def do_GET(self):
        if self.headers.get("X-aws-ec2-metadata-token") != token:
            self.reply(401)
            return
        key = self.path.removeprefix("/latest/meta-data/")
        if key in values:
            self.reply(200, values[key].encode())
        else:
            self.reply(404)

    def log_message(self, fmt, *args):
        sys.stderr.write("imds: " + (fmt % args) + "\n")


http.server.HTTPServer((addr, port), Handler).serve_forever()
