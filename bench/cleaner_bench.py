#!/usr/bin/env python3
"""Log cleaner benchmark: how fast the cleaner compacts a dirty log (MB/s of dirty log read
and rewritten per second of cleaning), and what a cleaning pass does to a producer's latency.

Throughput: a compacted topic is filled with the cleaner off (keys × updates, 100-byte values,
uncompressed and lz4 batches from librdkafka), the broker restarts with the cleaner on, and the
cleaner's own report of its first pass (bytes read, bytes written, seconds) is read from the
broker log.

Latency: a producer (librdkafka, linger 0) sends 5,000 msg/s to its own topic with acks=1 and
with acks=all while the broker's cleaner compacts a large dirty topic — unthrottled, and capped
by log-cleaner-io-max-bytes-per-second — and with the cleaner off (same data, same broker
build), delivery latency measured per record. The cleaner
pass is checked to have covered the whole measurement window.

Writes one JSON object to stdout, progress to stderr.

    python3 bench/cleaner_bench.py --bin .build/release/riverbank
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

CLEANED = re.compile(r"bytes=(\d+) → (\d+).*records=(\d+) → (\d+) seconds=([0-9.]+)")


def log(msg: str):
    print(f"[cleaner] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, binary: str, data: Path, port: int, cleaner: bool, rate: float | None = None):
        self.err = data.parent / f"broker-{time.monotonic_ns()}.log"
        env = {**os.environ, "RIVERBANK_LOG_CLEANER_ENABLE": "true" if cleaner else "false",
               "RIVERBANK_LOG_CLEANER_BACKOFF_MS": "200"}
        # Unthrottled unless a cap is asked for (the broker's default caps the cleaner).
        env["RIVERBANK_LOG_CLEANER_IO_MAX_BYTES_PER_SECOND"] = str(rate) if rate else "inf"
        self.p = subprocess.Popen([binary, "broker", "--data-dir", str(data), "--listen", f"127.0.0.1:{port}"],
                                  stdout=subprocess.PIPE, stderr=open(self.err, "w"), env=env, text=True)
        self.t0 = time.monotonic()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if "listening on" in self.p.stdout.readline():
                return
            if self.p.poll() is not None:
                raise SystemExit(f"broker exited {self.p.returncode}: {self.err.read_text()[-2000:]}")
        raise SystemExit("broker not ready")

    def started(self) -> bool:
        return "log cleaner cleaning partition" in self.err.read_text()

    def passes(self):
        return [tuple(map(float, m.groups())) for m in CLEANED.finditer(self.err.read_text())]

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        self.p.wait(120)


def fill(bootstrap: str, topic: str, keys: int, updates: int, compression: str):
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "acks": 1, "compression.type": compression,
                  "batch.size": 512 * 1024, "queue.buffering.max.kbytes": 512 * 1024})
    t0 = time.monotonic()
    n = 0
    for u in range(updates):
        for k in range(keys):
            value = b"%08d-%06d-" % (k, u) + b"v" * 84
            while True:
                try:
                    p.produce(topic, value, key=b"key-%08d" % k, partition=0)
                    break
                except BufferError:
                    p.poll(0.01)
            n += 1
            if n % 20000 == 0:
                p.poll(0)
        log(f"{topic}: update round {u + 1}/{updates}")
    assert p.flush(300) == 0
    time.sleep(1.2)  # segment.ms passes: the last record rolls the segment
    p.produce(topic, b"x", key=b"__roll", partition=0)
    assert p.flush(30) == 0
    log(f"{topic}: {n} records in {time.monotonic() - t0:.1f} s")


def create(bootstrap: str, name: str, compact: bool):
    cfg = {"cleanup.policy": "compact", "segment.bytes": str(64 << 20), "segment.ms": "1000",
           "min.cleanable.dirty.ratio": "0.01"} if compact else {}
    a = AdminClient({"bootstrap.servers": bootstrap})
    a.create_topics([NewTopic(name, 1, 1, config=cfg)])[name].result(15)


def producer_latency(bootstrap: str, topic: str, acks: str, rate: float, seconds: float, out: mp.Queue):
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "acks": acks})
    lat = []

    def report(sent):
        def cb(err, _m):
            if err is None:
                lat.append(time.monotonic() - sent)
        return cb

    p.produce(topic, b"warm")
    p.flush(10)
    start = time.monotonic()
    for i in range(int(rate * seconds)):
        target = start + i / rate
        now = time.monotonic()
        if target > now:
            time.sleep(target - now)
        p.produce(topic, b"x" * 100, on_delivery=report(time.monotonic()))
        p.poll(0)
    p.flush(30)
    out.put(lat)


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000


def measure(bootstrap: str, topic: str, acks: str, rate: float, seconds: float):
    q = mp.Queue()
    pr = mp.Process(target=producer_latency, args=(bootstrap, topic, acks, rate, seconds, q))
    pr.start()
    lat = q.get(timeout=seconds + 120)
    pr.join()
    return {"p50_ms": pct(lat, 0.5), "p99_ms": pct(lat, 0.99), "p999_ms": pct(lat, 0.999), "max_ms": max(lat) * 1000,
            "deliveries": len(lat)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--updates", type=int, default=20)
    ap.add_argument("--latency-updates", type=int, default=150, help="updates per key of the big topic for the latency run")
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--cap-mb-s", type=float, default=50, help="log-cleaner-io-max-bytes-per-second of the capped run, in MB/s")
    ap.add_argument("--rate", type=float, default=5000)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cleaner-bench-", dir=os.environ.get("BENCH_TMP", "/work")))
    out = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cores": os.cpu_count(), "throughput": [], "latency": []}
    try:
        for compression in ("none", "lz4"):
            data = work / f"tp-{compression}" / "data"
            data.parent.mkdir(parents=True)
            port = free_port()
            bs = f"127.0.0.1:{port}"
            b = Broker(a.bin, data, port, cleaner=False)
            create(bs, "dirty", compact=True)
            fill(bs, "dirty", a.keys, a.updates, compression)
            b.stop()
            dirty_bytes = sum(f.stat().st_size for f in (data / "dirty-0").glob("*.log"))
            b = Broker(a.bin, data, port, cleaner=True)
            deadline = time.monotonic() + 600
            while not b.passes() and time.monotonic() < deadline:
                time.sleep(0.2)
            b.stop()
            read, written, rin, rout, secs = b.passes()[0]
            # The cleaner reads the dirty part twice (offset map, then rewrite): `read` is its I/O,
            # the log's size is the dirty log cleaned.
            row = {"compression": compression, "records": int(rin), "records_kept": int(rout), "dirty_mb": dirty_bytes / 1e6,
                   "read_mb": read / 1e6, "written_mb": written / 1e6, "seconds": secs,
                   "dirty_mb_per_s": dirty_bytes / 1e6 / secs, "records_per_s": rin / secs}
            log(f"throughput {compression}: {row['dirty_mb']:.0f} MB dirty log → {row['written_mb']:.1f} MB in {secs:.2f} s "
                f"= {row['dirty_mb_per_s']:.0f} MB/s ({row['records_per_s'] / 1e6:.2f} M records/s; cleaner read {row['read_mb']:.0f} MB)")
            out["throughput"].append(row)

        # Latency: one big dirty topic, copied so each run starts from the same bytes.
        seed = work / "lat-seed" / "data"
        seed.parent.mkdir(parents=True)
        port = free_port()
        bs = f"127.0.0.1:{port}"
        b = Broker(a.bin, seed, port, cleaner=False)
        create(bs, "dirty", compact=True)
        create(bs, "live", compact=False)
        fill(bs, "dirty", a.keys, a.latency_updates, "none")
        b.stop()
        for rnd in range(a.rounds):
          for acks in ("1", "all"):
            # Alternate the order, so drift in the machine's state hits every setting alike.
            settings = [(False, None), (True, None), (True, a.cap_mb_s * 1e6)]
            for cleaner, cap in (settings if rnd % 2 == 0 else settings[::-1]):
                run = work / f"lat-{acks}-{cleaner}-{cap}" / "data"
                shutil.copytree(seed, run)
                os.sync()  # the copy's writeback must not land in the measurement
                b = Broker(a.bin, run, port, cleaner=cleaner, rate=cap)
                time.sleep(0.5)  # the cleaner's first pass starts within its backoff
                t_start = time.monotonic() - b.t0
                row = measure(bs, "live", acks, a.rate, a.seconds)
                t_end = time.monotonic() - b.t0
                passes = b.passes()
                started = b.started()
                b.stop()
                covered = None
                if cleaner:
                    # The pass starts as the broker comes up, before the window; it covered the
                    # window if it was still running at the end (then it was cut short by the
                    # stop and never reported) or lasted at least as long.
                    covered = started and (not passes or passes[0][4] >= t_end)
                row.update({"round": rnd + 1, "acks": acks, "cleaner": cleaner, "cap_mb_s": cap and cap / 1e6, "window_s": [round(t_start, 2), round(t_end, 2)],
                            "pass_seconds": passes[0][4] if passes else None, "pass_covered_window": covered})
                log(f"latency acks={acks} cleaner={'on' if cleaner else 'off'} cap={cap}: p50 {row['p50_ms']:.2f} "
                    f"p99 {row['p99_ms']:.2f} p99.9 {row['p999_ms']:.2f} max {row['max_ms']:.1f} ms "
                    f"(pass {row['pass_seconds']} s)")
                out["latency"].append(row)
                shutil.rmtree(run.parent)
        print(json.dumps(out))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
