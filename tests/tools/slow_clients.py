#!/usr/bin/env python3
"""slow_clients — attacks an HTTP server with slow clients on loopback and
measures whether others are still served. Prints one JSON object.

    slow_clients.py HOST PORT OPS_PORT HEADER_TIMEOUT PER_IP_LIMIT

Four phases, each from its own loopback source addresses (127.0.0.2 …), so
that a per-address limit applies to the attacker and not to the prober on
127.0.0.1:
  drip     300 connections that send a request line and then one header
           byte a second, never finishing the headers;
  stall    300 connections that send whole POST headers and 3 body bytes,
           then nothing (the case a thread per connection could not hold);
  per_ip   PER_IP_LIMIT + 20 idle connections from one address;
  slowbody one connection whose headers are complete, its body dripped one
           byte a second for HEADER_TIMEOUT + 3 seconds.
While drip and stall hold their connections, the prober times GET /healthz
on PORT and OPS_PORT and a GET of a missing scan (a routed, database-backed
answer).
"""
import json
import socket
import sys
import time


def connect(src, host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(5)
    s.connect((host, port))
    return s


def closed_by_server(s):
    """True when the server has closed (EOF or reset), without waiting."""
    s.setblocking(False)
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def probe(host, port, path):
    """Seconds one GET took and its status (0 when it failed)."""
    t0 = time.monotonic()
    try:
        s = connect("127.0.0.1", host, port)
        s.settimeout(5)
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    except OSError:
        status = 0
    return time.monotonic() - t0, status


def probes(host, port, ops_port):
    out = []
    for _ in range(5):
        for p, path in ((port, "/healthz"), (ops_port, "/healthz"), (ops_port, "/readyz"),
                        (port, "/v1/scans/00000000-0000-4000-8000-000000000000")):
            out.append(probe(host, p, path))
        time.sleep(0.2)
    return out


def open_many(host, port, n, per_src, first_src, payload):
    socks = []
    for i in range(n):
        src = f"127.0.0.{first_src + i // per_src}"
        s = connect(src, host, port)
        s.sendall(payload)
        socks.append(s)
    return socks


def main():
    host, port, ops_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    header_timeout, per_ip = int(sys.argv[4]), int(sys.argv[5])
    res = {}

    # drip: headers that never end
    drip = open_many(host, port, 300, 30, 2, b"POST /monitor/project/npm HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    # stall: whole headers, 3 body bytes, then nothing
    stall = open_many(host, port, 300, 30, 20,
                      b"POST /monitor/project/npm HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\nabc")
    res["held"] = len(drip) + len(stall)
    t_open = time.monotonic()
    pr = []
    # keep dripping while probing, until past the header deadline
    while time.monotonic() - t_open < header_timeout + 2:
        for s in drip:
            try:
                s.sendall(b"a")
            except OSError:
                pass
        pr += probes(host, port, ops_port)
    res["probes"] = len(pr)
    res["probe_max_s"] = max(t for t, _ in pr)
    res["probe_failed"] = sum(1 for _, st in pr if st not in (200, 404))
    # the drippers are cut at the header deadline; the stalled uploads are not
    time.sleep(1.5)
    res["drip_closed"] = sum(1 for s in drip if closed_by_server(s))
    res["stall_closed"] = sum(1 for s in stall if closed_by_server(s))
    for s in drip + stall:
        s.close()

    # per_ip: one address may hold per_ip connections, no more
    many = open_many(host, port, per_ip + 20, per_ip + 20, 40, b"")
    time.sleep(1.0)
    res["per_ip_refused"] = sum(1 for s in many if closed_by_server(s))
    t, st = probe(host, port, "/healthz")
    res["per_ip_probe"] = [round(t, 3), st]
    for s in many:
        s.close()

    # slowbody: past the header deadline while the body trickles in
    s = connect("127.0.0.50", host, port)
    s.sendall(b"POST /monitor/project/npm HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/octet-stream\r\nContent-Length: 100\r\n\r\n")
    for _ in range(header_timeout + 3):
        time.sleep(1)
        try:
            s.sendall(b"b")
        except OSError:
            break
    res["slowbody_open"] = not closed_by_server(s)
    s.close()
    print(json.dumps(res))


if __name__ == "__main__":
    main()
