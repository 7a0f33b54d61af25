#!/usr/bin/python3
"""fake_falco — a test tool: a gRPC server on a unix socket that speaks the
wire format of Falco's outputs service (falco.outputs.service/sub), sending
what a test scripts instead of real alerts, including bytes no Falco would
send. Messages are encoded by hand (protobuf's wire format is simple), so
they can be exactly as broken as a test needs.

    fake_falco.py SOCKET STATUS_FILE SCRIPT...

SCRIPT items, sent in order on the first subscription (each later
subscription gets the items after the last `reconnect`):
    alert            a well-formed alert of a host process (no job's)
    garbage          bytes that are not a protobuf message
    norule           a well-formed protobuf response without a rule (not an alert)
    badprio          an alert with a priority Falco does not have
    big:BYTES        an alert whose output is BYTES long
    burst:N          N well-formed alerts, as fast as the client takes them
    reconnect        end this subscription (the client must subscribe again)
STATUS_FILE gets one line per event: "subscribed N", "sent N" (after each
item), "done" once the script is through.

SOCKET "tcp:PORT:DIR" listens on 127.0.0.1:PORT with mutual TLS instead:
DIR/server.crt and server.key its certificate, DIR/ca.crt the CA a client
certificate must be signed by (as Falco's grpc.bind_address with
private_key, cert_chain and root_certs).
"""
import sys
import threading
import time
from concurrent import futures

import grpc


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, wire, payload):
    key = varint((num << 3) | wire)
    if wire == 0:
        return key + varint(payload)
    return key + varint(len(payload)) + payload


def string(num, s):
    return field(num, 2, s.encode() if isinstance(s, str) else s)


def response(rule="fake rule", priority=4, output="fake alert", fields=None):
    msg = field(1, 2, field(1, 0, int(time.time())) + field(2, 0, 5))
    msg += field(2, 0, priority)
    if rule is not None:
        msg += string(4, rule)
    msg += string(5, output)
    for k, v in (fields or {"thread.cgroups": "cpuset=/ memory=/user.slice", "proc.pid": "1"}).items():
        msg += field(6, 2, string(1, k) + string(2, v))
    msg += string(7, "fake-falco") + string(8, "fake") + string(9, "syscall")
    return msg


class Sub:
    def __init__(self, script, status):
        self.script = script
        self.status = status
        self.pos = 0
        self.subs = 0
        self.lock = threading.Lock()

    def log(self, line):
        with open(self.status, "a") as f:
            f.write(line + "\n")

    def __call__(self, request_iterator, context):
        with self.lock:
            self.subs += 1
            self.log("subscribed %d" % self.subs)
        # Falco answers each request; one is enough to start
        next(request_iterator, None)
        sent = 0
        while self.pos < len(self.script):
            item = self.script[self.pos]
            self.pos += 1
            if item == "reconnect":
                self.log("sent %d" % sent)
                return
            for msg in expand(item):
                yield msg
                sent += 1
            self.log("sent %d" % sent)
        self.log("done")
        # keep the stream open like Falco, reading the client's requests
        for _ in request_iterator:
            pass


def expand(item):
    if item == "alert":
        return [response()]
    if item == "garbage":
        return [b"\xff\xff\xff\xff\x0f\x0a\x99"]
    if item == "norule":
        return [response(rule=None)]
    if item == "badprio":
        return [response(priority=42)]
    if item.startswith("big:"):
        return [response(output="x" * int(item[4:]))]
    if item.startswith("burst:"):
        return (response(output="burst %d" % i) for i in range(int(item[6:])))
    raise SystemExit("unknown script item " + item)


def main():
    sock, status, script = sys.argv[1], sys.argv[2], sys.argv[3:]
    handler = grpc.method_handlers_generic_handler(
        "falco.outputs.service",
        {"sub": grpc.stream_stream_rpc_method_handler(Sub(script, status))})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4),
                         options=[("grpc.max_send_message_length", 64 << 20)])
    server.add_generic_rpc_handlers((handler,))
    if sock.startswith("tcp:"):
        _, port, d = sock.split(":", 2)
        read = lambda n: open(d + "/" + n, "rb").read()
        creds = grpc.ssl_server_credentials([(read("server.key"), read("server.crt"))],
                                            root_certificates=read("ca.crt"),
                                            require_client_auth=True)
        server.add_secure_port("127.0.0.1:" + port, creds)
    else:
        server.add_insecure_port("unix:" + sock)
    server.start()
    server.wait_for_termination()


if __name__ == "__main__":
    main()
