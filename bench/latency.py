#!/usr/bin/env python3
"""End-to-end latency with a consumer that hands over each record as it arrives.

The shared yardstick's latency mode reads with consume(num_messages=1000, timeout=0.05),
which holds records for up to 50 ms when fewer than 1000 are waiting, so its percentiles
include that client-side wait. This measures the same path (librdkafka producer with
linger 0 → broker → librdkafka group consumer) with poll(), at a fixed rate, in two
processes. Prints one JSON line."""
import argparse, json, multiprocessing as mp, os, struct, sys, time, uuid

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

HDR = struct.Struct(">QQ")


def consumer(bootstrap, topic, total, ready, out):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "lat-" + uuid.uuid4().hex[:8], "auto.offset.reset": "earliest",
                  "enable.auto.commit": False, "fetch.wait.max.ms": 100, "fetch.min.bytes": 1})
    c.subscribe([topic])
    lat, got = [], 0
    deadline = time.monotonic() + 120
    while got < total and time.monotonic() < deadline:
        m = c.poll(0.1)
        if m is None or m.error():
            continue
        now = time.monotonic_ns()
        seq, ts = HDR.unpack_from(m.value())
        if seq == 2**63:
            ready.set()
            continue
        lat.append(now - ts)
        got += 1
    c.close()
    out.put(lat)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--rate", type=float, default=2000)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--size", type=int, default=100)
    a = ap.parse_args()
    topic = "lat-" + uuid.uuid4().hex[:8]
    admin = AdminClient({"bootstrap.servers": a.bootstrap})  # must outlive the future
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(10)
    total = int(a.rate * a.duration)
    ready, out = mp.Event(), mp.Queue()
    proc = mp.Process(target=consumer, args=(a.bootstrap, topic, total, ready, out))
    proc.start()
    p = Producer({"bootstrap.servers": a.bootstrap, "linger.ms": 0, "acks": 1})
    pad = b"x" * (a.size - HDR.size)
    while not ready.is_set():  # warm-up records until the consumer has its assignment
        p.produce(topic, HDR.pack(2**63, 0) + pad)
        p.poll(0.05)
    interval = 1.0 / a.rate
    start = time.monotonic()
    for i in range(total):
        target = start + i * interval
        d = target - time.monotonic()
        if d > 0:
            time.sleep(d)
        p.produce(topic, HDR.pack(i, time.monotonic_ns()) + pad)
        p.poll(0)
    p.flush(30)
    lat = sorted(x / 1e6 for x in out.get(timeout=180))
    proc.join(10)
    pct = lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))], 3) if lat else None
    print(json.dumps({"rate": a.rate, "count": len(lat), "expected": total, "p50": pct(0.5), "p99": pct(0.99),
                      "p999": pct(0.999), "max": round(lat[-1], 3) if lat else None}))


if __name__ == "__main__":
    main()
