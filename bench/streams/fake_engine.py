#!/usr/bin/env python3
"""Stand-in for `riverbank streams bench` to test the harness (not a benchmark: it reads the whole
topic into memory and computes each job at the end of the input, in Python).

  RIVERBANK_BIN=bench/streams/fake_engine.py RIVERBANK_BROKER_BIN=/path/to/riverbank \
      bench/streams/run.py --quick --only riverbank

Accepts the same command line as the real subcommand:
  fake_engine.py streams bench A|B|C --bootstrap H:P --topic T --output OUT --parallelism N
                 [--checkpoint-interval-ms MS] [--stats FILE]
and writes the same stats JSON (t0 from PEERS_T0, t_first, t_last_out, n_in, n_out, t_end) to
--stats or $PEERS_STATS.  FAKE_C_ORDER=arrival computes job C in arrival order instead of event
time (to see a failed verification).  Needs confluent-kafka: re-executes itself with
$STREAMS_WORK/peers/venv-baseline/bin/python when the running interpreter lacks it.
"""
import argparse
import json
import os
import sys
import time

try:
    from confluent_kafka import Consumer, Producer, KafkaError
except ImportError:
    work = os.environ.get("STREAMS_WORK") or os.path.join(os.environ.get("TMPDIR") or "/tmp", "riverbank-streams-bench")
    py = os.path.join(work, "peers", "venv-baseline", "bin", "python")
    if os.path.exists(py) and os.path.realpath(sys.executable) != os.path.realpath(py):
        os.execv(py, [py] + sys.argv)
    raise

HOUR, M5 = 3_600_000, 300_000


def main():
    t0 = float(os.environ.get("PEERS_T0", time.time()))
    if len(sys.argv) < 3 or sys.argv[1:3] != ["streams", "bench"]:
        sys.exit("usage: fake_engine.py streams bench A|B|C --bootstrap ... (see --help)")
    ap = argparse.ArgumentParser(prog="fake_engine.py streams bench")
    ap.add_argument("job", choices=["A", "B", "C"])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--parallelism", type=int, default=1)
    ap.add_argument("--checkpoint-interval-ms", type=int)
    ap.add_argument("--stats")
    a = ap.parse_args(sys.argv[3:])
    c = Consumer({"bootstrap.servers": a.bootstrap, "group.id": f"fake-{a.output}", "auto.offset.reset": "earliest",
                  "enable.partition.eof": True, "enable.auto.commit": False})
    c.subscribe([a.topic])
    parts = len(c.list_topics(a.topic, timeout=10).topics[a.topic].partitions)
    eof, rows, t_first = set(), [], None
    while len(eof) < parts:
        for m in c.consume(10000, 1.0):
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    eof.add(m.partition())
                    continue
                raise RuntimeError(m.error())
            t_first = t_first or time.time()
            d = json.loads(m.value())
            if d["customer_id"] >= 0:
                rows.append(d)
    c.close()
    n_in = len(rows) + parts
    p = Producer({"bootstrap.servers": a.bootstrap, "linger.ms": 20, "compression.type": "lz4",
                  "queue.buffering.max.messages": 2000000})
    n_out = 0

    def emit(rec):
        nonlocal n_out
        while True:
            try:
                p.produce(a.output, json.dumps(rec).encode(), str(rec["customer_id"]).encode())
                break
            except BufferError:
                p.poll(0.05)
        n_out += 1

    if a.job == "A":
        w = {}
        for d in rows:
            k = (d["customer_id"], d["ts_ms"] - d["ts_ms"] % HOUR)
            acc = w.setdefault(k, [0, 0.0])
            acc[0] += 1
            acc[1] += d["amount"]
        for (cust, ws), (cnt, sm) in sorted(w.items(), key=lambda kv: kv[0][1]):
            emit({"customer_id": cust, "window_start": ws, "window_end": ws + HOUR, "cnt": cnt, "sum": sm, "avg": sm / cnt})
    elif a.job == "B":
        w = {}
        for d in rows:
            last = d["ts_ms"] // M5
            for i in range(12):
                k = (d["customer_id"], (last - i) * M5)
                w[k] = w.get(k, 0) + 1
        for (cust, ws), cnt in sorted(w.items(), key=lambda kv: kv[0][1]):
            if cnt > 5:
                emit({"customer_id": cust, "window_start": ws, "window_end": ws + HOUR, "cnt": cnt})
    else:
        order = (lambda d: (d["customer_id"], d["tx_id"])) if os.environ.get("FAKE_C_ORDER") == "arrival" \
            else (lambda d: (d["customer_id"], d["ts_ms"], d["tx_id"]))
        st = {}
        for d in sorted(rows, key=order):
            s = st.get(d["customer_id"])
            if s is None:
                st[d["customer_id"]] = [d["amount"], 1]
                continue
            if d["amount"] > 3.0 * s[0] / s[1]:
                emit({"tx_id": d["tx_id"], "customer_id": d["customer_id"], "amount": d["amount"],
                      "prev_avg": s[0] / s[1], "prev_cnt": s[1], "ts_ms": d["ts_ms"]})
            s[0] += d["amount"]
            s[1] += 1
    p.flush(120)
    t_last_out = time.time()
    stats = {"t0": t0, "t_first": t_first, "t_last_out": t_last_out, "n_in": n_in, "n_out": n_out,
             "t_end": time.time(), "engine": "fake_engine.py"}
    path = a.stats or os.environ.get("PEERS_STATS")
    if path:
        with open(path, "w") as fh:
            json.dump(stats, fh)


if __name__ == "__main__":
    main()
