#!/usr/bin/env python3
"""load_clients — CLIENTS concurrent submitters for SECONDS, one submission
after another, each of its own bytes, against the coordinator at HOST:PORT. A submission refused
with 503 (the database away, a drain) is retried after a pause, as a CI job
would; its latency is that of the attempt that was accepted. Prints one JSON
object: accepted ids, latencies (p50/p99/max, seconds), retries, failures.

    load_clients.py HOST PORT CLIENTS SECONDS OUT_IDS
"""
import http.client
import json
import os
import sys
import threading
import time


def submit(host, port, body):
    c = http.client.HTTPConnection(host, port, timeout=30)
    c.request("POST", "/v1/scans", body, {"Content-Type": "application/octet-stream"})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def client(host, port, deadline, out, lock):
    lat, ids, retries, failures = [], [], 0, 0
    while time.monotonic() < deadline:
        body = os.urandom(512)
        for attempt in range(60):
            t0 = time.monotonic()
            try:
                status, data = submit(host, port, body)
            except OSError:
                status, data = 0, b""
            dt = time.monotonic() - t0
            if status in (200, 201, 202):
                lat.append(dt)
                ids.append(json.loads(data)["id"])
                break
            retries += 1
            time.sleep(0.25)
        else:
            failures += 1
    with lock:
        out["lat"] += lat
        out["ids"] += ids
        out["retries"] += retries
        out["failures"] += failures


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))] if v else 0.0


def main():
    host, port, clients, seconds, ids_file = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
    out, lock = {"lat": [], "ids": [], "retries": 0, "failures": 0}, threading.Lock()
    t0 = time.monotonic()
    ts = [threading.Thread(target=client, args=(host, port, t0 + seconds, out, lock)) for _ in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    wall = time.monotonic() - t0
    with open(ids_file, "w") as f:
        f.write("\n".join(out["ids"]) + "\n")
    print(json.dumps({"accepted": len(out["ids"]), "retries": out["retries"], "failures": out["failures"],
                      "wall_s": round(wall, 2), "p50_s": round(pct(out["lat"], 0.5), 4),
                      "p99_s": round(pct(out["lat"], 0.99), 4), "max_s": round(max(out["lat"] or [0]), 4)}))


if __name__ == "__main__":
    main()
