#!/usr/bin/env python3
"""KafkaClient vs librdkafka (confluent-kafka): produce and consume throughput on the same
broker in the same run. 1 KiB records, lz4, acks=all (KafkaClient via `riverbank produce` /
`riverbank consume`, so CLI stdin/stdout handling is included in its numbers).

    python3 bench/client_bench.py [--bin .build-client/release/riverbank] [--records 200000]
        [--bootstrap HOST:PORT]   # default: start a riverbank broker on a free port

Prints a Markdown table (append it to bench/CLIENT_RESULTS.md).
"""
from __future__ import annotations

import argparse
import os
import random
import socket
import string
import subprocess
import sys
import tempfile
import time
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

RECORD = 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_broker(binary: str):
    port = free_port()
    d = tempfile.mkdtemp(prefix="client-bench-")
    p = subprocess.Popen([binary, "broker", "--data-dir", d, "--listen", f"127.0.0.1:{port}", "--metrics-listen", "off",
                          "--log-level", "warning"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    assert "listening" in line, line
    return p, f"127.0.0.1:{port}"


def create(bootstrap: str, topic: str, partitions: int):
    a = AdminClient({"bootstrap.servers": bootstrap})
    a.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])[topic].result(15)


def payload_lines(n: int) -> bytes:
    rng = random.Random(7)
    alphabet = (string.ascii_letters + string.digits).encode()
    # Semi-compressible text (like JSON events): random words from a small vocabulary.
    words = [bytes(rng.choice(alphabet) for _ in range(rng.randint(3, 10))) for _ in range(500)]
    out = []
    for i in range(n):
        v = bytearray(f"{i:08d} ".encode())
        while len(v) < RECORD:
            v += rng.choice(words) + b" "
        out.append(bytes(v[:RECORD]))
    return b"\n".join(out) + b"\n"


def confluent_produce(bootstrap, topic, values):
    p = Producer({"bootstrap.servers": bootstrap, "compression.type": "lz4", "acks": "all", "linger.ms": 5,
                  "batch.size": 1_000_000, "queue.buffering.max.messages": 1_000_000, "enable.idempotence": True})
    t0 = time.perf_counter()
    for v in values:
        while True:
            try:
                p.produce(topic, v)
                break
            except BufferError:
                p.poll(0.001)
    assert p.flush(60) == 0
    return time.perf_counter() - t0


def confluent_consume(bootstrap, topic, partitions, n):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-" + uuid.uuid4().hex, "enable.auto.commit": False,
                  "fetch.wait.max.ms": 100})
    c.assign([TopicPartition(topic, p, -2) for p in range(partitions)])
    got = 0
    t0 = time.perf_counter()
    while got < n:
        for m in c.consume(num_messages=10000, timeout=1.0):
            assert not m.error(), m.error()
            got += 1
    dt = time.perf_counter() - t0
    c.close()
    return dt


def rb_produce(binary, bootstrap, topic, data):
    t0 = time.perf_counter()
    subprocess.run([binary, "produce", "--bootstrap", bootstrap, "--topic", topic, "--compression", "lz4", "--acks", "all"],
                   input=data, check=True, capture_output=True)
    return time.perf_counter() - t0


def rb_consume(binary, bootstrap, topic, n):
    t0 = time.perf_counter()
    r = subprocess.run([binary, "consume", "--bootstrap", bootstrap, "--topic", topic, "--from-beginning", "--count", str(n),
                        "--format", "%v", "--timeout", "300"], check=True, capture_output=True)
    dt = time.perf_counter() - t0
    assert r.stdout.count(b"\n") == n
    return dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.environ.get("RIVERBANK_BIN", ".build-client/release/riverbank"))
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--partitions", type=int, default=3)
    ap.add_argument("--bootstrap")
    a = ap.parse_args()
    broker = None
    if a.bootstrap:
        bootstrap = a.bootstrap
    else:
        broker, bootstrap = start_broker(a.bin)
    try:
        data = payload_lines(a.records)
        values = data.split(b"\n")[:-1]
        mb = a.records * RECORD / 1e6
        rows = []
        for label, produce in (("librdkafka (confluent-kafka)", lambda t: confluent_produce(bootstrap, t, values)),
                               ("KafkaClient (riverbank produce)", lambda t: rb_produce(a.bin, bootstrap, t, data))):
            t = f"bench-{uuid.uuid4().hex[:8]}"
            create(bootstrap, t, a.partitions)
            dt = produce(t)
            rows.append((label, "produce", dt, t))
        # Consume each topic with both clients.
        t_read = rows[0][3]
        for label, consume in (("librdkafka (confluent-kafka)", lambda: confluent_consume(bootstrap, t_read, a.partitions, a.records)),
                               ("KafkaClient (riverbank consume)", lambda: rb_consume(a.bin, bootstrap, t_read, a.records))):
            rows.append((label, "consume", consume(), t_read))
        print(f"records={a.records} size={RECORD}B codec=lz4 acks=all partitions={a.partitions} broker={bootstrap}")
        print("| client | op | seconds | records/s | MB/s |")
        print("|---|---|---|---|---|")
        for label, op, dt, _ in rows:
            print(f"| {label} | {op} | {dt:.2f} | {a.records / dt:,.0f} | {mb / dt:.1f} |")
    finally:
        if broker:
            broker.kill()


if __name__ == "__main__":
    sys.exit(main())
