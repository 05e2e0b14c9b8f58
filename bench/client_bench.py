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
import json
import os
import random
import shutil
import socket
import statistics
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


def start_broker(binary: str, data_root: str | None):
    port = free_port()
    d = tempfile.mkdtemp(prefix="client-bench-", dir=data_root)
    p = subprocess.Popen([binary, "broker", "--data-dir", d, "--listen", f"127.0.0.1:{port}", "--metrics-listen", "off",
                          "--log-level", "warning"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    assert "listening" in line, line
    p.data_dir = d  # removed when the bench ends (tmpfs is memory)
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


def rb_perf_produce(binary, bootstrap, topic, payload_file, n):
    """Library API, like confluent's produce() loop: the tool reports its own timed section."""
    r = subprocess.run([binary, "perf", "produce", "--bootstrap", bootstrap, "--topic", topic, "--records", str(n),
                        "--payload-file", payload_file, "--compression", "lz4", "--acks", "all"],
                       check=True, capture_output=True, text=True)
    return json.loads(r.stdout.strip().splitlines()[-1])["seconds"]


def rb_perf_consume(binary, bootstrap, topic, n):
    r = subprocess.run([binary, "perf", "consume", "--bootstrap", bootstrap, "--topic", topic, "--records", str(n)],
                       check=True, capture_output=True, text=True)
    return json.loads(r.stdout.strip().splitlines()[-1])["seconds"]


def build_rdkafka_perf(out_dir: str) -> str | None:
    """Compiles bench/rdkafka_perf.c (librdkafka in C, no Python in the loop); None without a compiler/headers."""
    exe = os.path.join(out_dir, "rdkafka_perf")
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rdkafka_perf.c")
    r = subprocess.run(["cc", "-O2", "-o", exe, src, "-lrdkafka"], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"rdkafka_perf not built (apt-get install librdkafka-dev): {r.stderr.strip()[:300]}", file=sys.stderr)
        return None
    return exe


def c_produce(exe, bootstrap, topic, payload_file, n):
    r = subprocess.run([exe, "produce", bootstrap, topic, str(n), payload_file], check=True, capture_output=True, text=True)
    return json.loads(r.stdout.strip().splitlines()[-1])["seconds"]


def c_consume(exe, bootstrap, topic, n, partitions):
    r = subprocess.run([exe, "consume", bootstrap, topic, str(n), str(partitions)], check=True, capture_output=True, text=True)
    return json.loads(r.stdout.strip().splitlines()[-1])["seconds"]


def kcat_produce(bootstrap, topic, data):
    t0 = time.perf_counter()
    subprocess.run(["kcat", "-P", "-b", bootstrap, "-t", topic, "-z", "lz4", "-X", "acks=all", "-X", "enable.idempotence=true",
                    "-X", "linger.ms=5", "-X", "batch.size=1000000"], input=data, check=True, capture_output=True)
    return time.perf_counter() - t0


def kcat_consume(bootstrap, topic, n):
    t0 = time.perf_counter()
    r = subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-c", str(n), "-f", "%s\\n", "-q"],
                       check=True, capture_output=True)
    dt = time.perf_counter() - t0
    assert r.stdout.count(b"\n") == n, r.stdout.count(b"\n")
    return dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.environ.get("RIVERBANK_BIN", ".build-client/release/riverbank"))
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--partitions", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds; the table shows the median")
    ap.add_argument("--bootstrap")
    ap.add_argument("--data-root", default="/dev/shm" if os.path.isdir("/dev/shm") else None,
                    help="where the broker keeps its data (default tmpfs: this compares clients, not disks; "
                         "pass a disk path to include fsync)")
    a = ap.parse_args()
    broker = None
    if a.bootstrap:
        bootstrap = a.bootstrap
    else:
        broker, bootstrap = start_broker(a.bin, a.data_root)
    try:
        data = payload_lines(a.records)
        values = data.split(b"\n")[:-1]
        payload = tempfile.NamedTemporaryFile(prefix="client-bench-", suffix=".txt", delete=False)
        payload.write(data)
        payload.close()
        mb = a.records * RECORD / 1e6
        times: dict[tuple[str, str], list[float]] = {}
        exe = build_rdkafka_perf(tempfile.mkdtemp(prefix="rdkafka-perf-"))
        producers = [("librdkafka (confluent-kafka, Python)", lambda t: confluent_produce(bootstrap, t, values))]
        consumers = [("librdkafka (confluent-kafka, Python)", lambda t: confluent_consume(bootstrap, t, a.partitions, a.records))]
        if exe:
            producers.append(("librdkafka (C, rdkafka_perf.c)", lambda t: c_produce(exe, bootstrap, t, payload.name, a.records)))
            consumers.append(("librdkafka (C, rdkafka_perf.c)", lambda t: c_consume(exe, bootstrap, t, a.records, a.partitions)))
        producers.append(("KafkaClient (library, riverbank perf)", lambda t: rb_perf_produce(a.bin, bootstrap, t, payload.name, a.records)))
        consumers.append(("KafkaClient (library, riverbank perf)", lambda t: rb_perf_consume(a.bin, bootstrap, t, a.records)))
        if shutil.which("kcat"):
            producers.append(("kcat (CLI, librdkafka)", lambda t: kcat_produce(bootstrap, t, data)))
            consumers.append(("kcat (CLI, librdkafka)", lambda t: kcat_consume(bootstrap, t, a.records)))
        producers.append(("KafkaClient (CLI, riverbank produce)", lambda t: rb_produce(a.bin, bootstrap, t, data)))
        consumers.append(("KafkaClient (CLI, riverbank consume)", lambda t: rb_consume(a.bin, bootstrap, t, a.records)))
        for rnd in range(a.rounds):
            # Each round starts with a different client (no client always runs right after the
            # same one), and dirty pages from earlier runs are written back before each run so
            # one client's acks=all fsyncs do not pay for another's writes.
            written = []
            for label, produce in producers[rnd % len(producers):] + producers[:rnd % len(producers)]:
                t = f"bench-{uuid.uuid4().hex[:8]}"
                create(bootstrap, t, a.partitions)
                os.sync()
                times.setdefault((label, "produce"), []).append(produce(t))
                written.append(t)
            t_read = written[rnd % len(written)]
            for label, consume in consumers[rnd % len(consumers):] + consumers[:rnd % len(consumers)]:
                times.setdefault((label, "consume"), []).append(consume(t_read))
            print(f"round {rnd + 1}/{a.rounds} done", file=sys.stderr)
        os.unlink(payload.name)
        print(f"records={a.records} size={RECORD}B codec=lz4 acks=all idempotent partitions={a.partitions} "
              f"rounds={a.rounds} broker={bootstrap} data={a.data_root or 'tmp'}")
        print("| client | op | median s | records/s | MB/s | all rounds (records/s) |")
        print("|---|---|---|---|---|---|")
        order = [(l, "produce") for l, _ in producers] + [(l, "consume") for l, _ in consumers]
        for label, op in order:
            ts = times[(label, op)]
            dt = statistics.median(ts)
            each = ", ".join(f"{a.records / x:,.0f}" for x in ts)
            print(f"| {label} | {op} | {dt:.2f} | {a.records / dt:,.0f} | {mb / dt:.1f} | {each} |")
    finally:
        if broker:
            broker.kill()
            broker.wait()
            shutil.rmtree(broker.data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
