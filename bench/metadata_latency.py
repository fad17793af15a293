#!/usr/bin/env python3
"""How long after a price PATCH's 200 its discount metadata is readable with GET /ticket.

A price PATCH removes DiscountPercentage in the same write, and the event handler adds it back:
its reappearance is the moment the handler's write became visible. The probe uses its own
tickets (L-0001..L-0050), so a load running on the seeded seats cannot overtake it.
Usage: metadata_latency.py BASE_URL [N]   ->  one JSON line with n, p50_ms, p99_ms, max_ms, timeouts
With TB_API_KEY set, each request carries it as X-Api-Key.
"""
import http.client
import json
import os
import sys
import time
import urllib.parse

base = urllib.parse.urlparse(sys.argv[1])
n = int(sys.argv[2]) if len(sys.argv) > 2 else 500
conn = http.client.HTTPConnection(base.hostname, base.port, timeout=10)
headers = {"Content-Type": "application/json"}
if os.environ.get("TB_API_KEY"):
    headers["X-Api-Key"] = os.environ["TB_API_KEY"]


def call(method, path, body=None):
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    return r.status, r.read()


seats = ["L-%04d" % i for i in range(1, 51)]
for s in seats:  # 201, or 409 from an earlier probe: both fine
    call("POST", "/ticket", json.dumps({"Theatre-Seat": s, "Movie": "Latency probe", "Price": 30}))

latencies, timeouts = [], 0
for i in range(n):
    seat = seats[i % len(seats)]
    price = "%d.%02d" % (5 + i % 10, i % 100)  # never the seat's previous price
    status, _ = call("PATCH", "/ticket", '{"Theatre-Seat":"%s","updateKey":"Price","updateValue":%s}' % (seat, price))
    t0 = time.perf_counter()
    if status != 200:
        sys.exit("PATCH answered %d" % status)
    while True:
        _, item = call("GET", "/ticket?Theatre-Seat=" + seat)
        if b'"DiscountPercentage"' in item:
            latencies.append((time.perf_counter() - t0) * 1000)
            break
        if time.perf_counter() - t0 > 2:
            timeouts += 1
            break

latencies.sort()
pick = lambda q: round(latencies[min(len(latencies) - 1, int(q * len(latencies)))], 3) if latencies else None
print(json.dumps({"n": len(latencies), "p50_ms": pick(0.50), "p99_ms": pick(0.99),
                  "max_ms": round(latencies[-1], 3) if latencies else None, "timeouts": timeouts}))
