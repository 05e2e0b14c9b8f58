#!/usr/bin/env python3
"""What a repartition costs: the same job file (hourly spend per customer, a tumbling hour)
run bounded over the same rows twice — once with `partitioned-by: customer_id` (one stage,
keyed where the rows are) and once without (every row crosses
`<job>.<operator>.repartition` to a second stage) — on a fresh `riverbank broker`, alternating,
under GNU time. Every output is checked against a brute-force GROUP BY.

  python3 bench/streams/repartition.py [--rows 1000000] [--repeat 3] [--parallelism 2] [--json FILE]

RIVERBANK_BIN: the release binary (default .build/release/riverbank).
"""
import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("RIVERBANK_BIN", REPO / ".build" / "release" / "riverbank"))
WORK = Path("/tmp/riverbank-repartition-bench")
BOOT = "127.0.0.1:39192"
HOUR = 3_600_000
BASE_MS = 1_767_225_600_000

JOB = """
name: {name}
version: 1
sources:
  tx:
    topic: rp-input
    schema:
      tx_id: BIGINT NOT NULL
      customer_id: BIGINT NOT NULL
      amount: DOUBLE NOT NULL
      ts_ms: BIGINT NOT NULL
    event-time: ts_ms
    out-of-orderness: 5s
{partitioned}operators:
  - name: hourly
    window: tx
    key: customer_id
    tumbling: 1h
    select:
      customer_id: customer_id
      cnt: COUNT(*)
      total: SUM(amount)
sinks:
  - {{ name: out, from: hourly, topic: {sink}, key: customer_id }}
parallelism: {parallelism}
"""


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def rows(n, customers=20_000, seed=7):
    rnd = random.Random(seed)
    for i in range(n):
        yield {"tx_id": i, "customer_id": rnd.randrange(customers), "amount": round(rnd.expovariate(1 / 50.0), 2),
               "ts_ms": BASE_MS + i * 20 - rnd.randint(0, 4000)}


def oracle(n):
    want = {}
    for r in rows(n):
        k = (r["customer_id"], r["ts_ms"] // HOUR * HOUR)
        c, s = want.get(k, (0, 0.0))
        want[k] = (c + 1, s + r["amount"])
    return want


def produce(n):
    admin = AdminClient({"bootstrap.servers": BOOT})
    admin.create_topics([NewTopic("rp-input", 2, 1)])["rp-input"].result()
    p = Producer({"bootstrap.servers": BOOT, "linger.ms": 20, "compression.type": "lz4", "enable.idempotence": True})
    t0 = time.time()
    for i, r in enumerate(rows(n)):
        while True:
            try:
                p.produce("rp-input", value=json.dumps(r).encode(), key=str(r["customer_id"]).encode(), timestamp=r["ts_ms"])
                break
            except BufferError:
                p.poll(0.05)
        if i % 200_000 == 0:
            log(f"produced {i:,} rows")
        p.poll(0)
    assert p.flush(120) == 0
    log(f"produced {n:,} rows in {time.time() - t0:.1f} s")


def read_all(topic):
    c = Consumer({"bootstrap.servers": BOOT, "group.id": f"v-{topic}", "enable.auto.commit": False, "enable.partition.eof": True})
    md = c.list_topics(topic, timeout=10)
    tps = []
    for part in md.topics[topic].partitions:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, part), timeout=10)
        if hi > lo:
            tps.append(TopicPartition(topic, part, lo))
    c.assign(tps)
    left, out = {tp.partition for tp in tps}, []
    while left:
        for m in c.consume(5000, 1.0):
            if m.error():
                if m.error().code() == -191:
                    left.discard(m.partition())
                    continue
                raise RuntimeError(m.error())
            out.append(m.value())
    c.close()
    return out


def run(kind, rep, a, want):
    name = f"rp-{kind}-{rep}"
    sink = f"out-{kind}-{rep}"
    f = WORK / f"{name}.yaml"
    f.write_text(JOB.format(name=name, sink=sink, parallelism=a.parallelism,
                            partitioned="    partitioned-by: customer_id\n" if kind == "one-stage" else ""))
    cmd = ["/usr/bin/time", "-v", str(BIN), "job", "run", str(f), "--bootstrap", BOOT, "--bounded", "--quiet"]
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    wall = time.time() - t0
    if r.returncode != 0:
        raise SystemExit(f"{kind}: {r.stderr[-2000:]}")
    tv = dict(re.findall(r"^\s*([^:\n]+):\s*(.+)$", r.stderr, re.M))
    cpu = float(tv["User time (seconds)"]) + float(tv["System time (seconds)"])
    rss = int(tv["Maximum resident set size (kbytes)"]) // 1024
    got = {}
    for v in map(json.loads, read_all(sink)):
        got[v["customer_id"], v["window_start"]] = (v["cnt"], v["total"])
    ok = set(got) == set(want) and all(got[k][0] == c and abs(got[k][1] - t) <= 1e-9 * max(1.0, abs(t))
                                       for k, (c, t) in want.items())
    rec = {"kind": kind, "rep": rep, "rows": a.rows, "parallelism": a.parallelism, "wall_s": round(wall, 2),
           "rows_per_s": round(a.rows / wall), "cpu_s": round(cpu, 2), "max_rss_mib": rss, "windows": len(got), "verified": ok,
           "date": time.strftime("%Y-%m-%d"), "commit": subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                                                                      capture_output=True, text=True).stdout.strip()}
    log(json.dumps(rec))
    return rec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--parallelism", type=int, default=2)
    ap.add_argument("--json", help="append each run as a JSON line to this file")
    a = ap.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    blog = open(WORK / "broker.log", "w")
    broker = subprocess.Popen([str(BIN), "broker", "--data-dir", str(WORK / "data"), "--listen", BOOT, "--metrics-listen", "off"],
                              stdout=blog, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        while True:
            try:
                AdminClient({"bootstrap.servers": BOOT}).list_topics(timeout=2)
                break
            except Exception:
                if time.time() > deadline or broker.poll() is not None:
                    raise SystemExit("the broker did not start")
                time.sleep(0.2)
        produce(a.rows)
        # Job files write window_start as ISO text: compare on that.
        want = {(c, time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ws / 1000))): v for (c, ws), v in oracle(a.rows).items()}
        recs = []
        for rep in range(a.repeat):
            for kind in (["one-stage", "repartitioned"] if rep % 2 == 0 else ["repartitioned", "one-stage"]):
                recs.append(run(kind, rep, a, want))
        if a.json:
            with open(a.json, "a") as out:
                for r in recs:
                    out.write(json.dumps(r) + "\n")
        for kind in ("one-stage", "repartitioned"):
            rs = sorted(r["rows_per_s"] for r in recs if r["kind"] == kind)
            cpu = sorted(r["cpu_s"] for r in recs if r["kind"] == kind)
            print(f"{kind:14} rows/s median {rs[len(rs) // 2]:,} (all {rs}), CPU s median {cpu[len(cpu) // 2]}, "
                  f"verified {all(r['verified'] for r in recs if r['kind'] == kind)}")
    finally:
        broker.terminate()
        broker.wait(30)


if __name__ == "__main__":
    main()
