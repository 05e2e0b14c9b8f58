#!/usr/bin/env python3
"""Producer latency while consumers replay history: quiet, hot replay (history in the page
cache), cold replay (history evicted from it), with the broker's fetch reads on its event
loops (`io-threads 0`, how the broker read before) and on its I/O threads (default).

A producer (librdkafka, acks=1, linger 0) sends at a fixed rate to its own topic and records
each delivery latency (produce() to delivery report). Four librdkafka consumers in C
(`bench/replay_consumer.c`: fetch.max.bytes 50 MB, 10 MB per partition, no Python per record)
read a 4-partition history topic from the beginning, over and over. For the cold phase, every history segment is fsynced and evicted
with posix_fadvise(DONTNEED) before the phase and again every 0.2 s during it, so the
replay keeps reading from disk. Writes one JSON object to stdout (and progress to stderr).

    python3 bench/replay_bench.py --bin .build/release/riverbank [--history-gb 2] [--seconds 20]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


NICE = 19
REPLAY_MB_S = 0.0


def log(msg: str):
    print(f"[replay] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_broker(binary: str, data: Path, port: int, io_threads: int) -> subprocess.Popen:
    env = {**os.environ, "RIVERBANK_IO_THREADS": str(io_threads)}
    p = subprocess.Popen([binary, "broker", "--data-dir", str(data), "--listen", f"127.0.0.1:{port}", "--log-level", "warning"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if "listening on" in line:
            return p
        if p.poll() is not None:
            raise SystemExit(f"broker exited: {p.returncode}")
    raise SystemExit("broker not ready")


def stop_broker(p: subprocess.Popen):
    p.send_signal(signal.SIGTERM)
    p.wait(60)


def load_history(bootstrap: str, gb: float):
    n = int(gb * (1 << 30) / 1024)
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "acks": 1, "batch.size": 1 << 20,
                  "queue.buffering.max.kbytes": 512 * 1024})
    rnd = random.Random(7)
    payloads = [rnd.randbytes(1024) for _ in range(256)]
    t0 = time.monotonic()
    for i in range(n):
        while True:
            try:
                p.produce("history", payloads[i & 255], partition=i & 3)
                break
            except BufferError:
                p.poll(0.01)
        if i % 10000 == 0:
            p.poll(0)
        if i % 200000 == 0 and i:
            log(f"history: {i * 1024 / (1 << 30):.2f} GB ({i / (time.monotonic() - t0):.0f} msg/s)")
    assert p.flush(120) == 0
    log(f"history: {n} × 1 KiB in {time.monotonic() - t0:.1f} s")


def build_replayer(out_dir: Path) -> str:
    exe = out_dir / "replay_consumer"
    src = Path(__file__).resolve().parent / "replay_consumer.c"
    subprocess.run(["cc", "-O2", "-o", str(exe), str(src), "-lrdkafka"], check=True)
    return str(exe)


def producer_latency(bootstrap: str, rate: float, seconds: float, out: mp.Queue):
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "acks": 1})
    lat = []
    payload = b"x" * 100

    def report(sent):
        def cb(err, _msg):
            if err is None:
                lat.append(time.monotonic() - sent)
        return cb

    # Warm the connection and metadata.
    p.produce("live", payload)
    p.flush(10)
    interval = 1.0 / rate
    start = time.monotonic()
    n = int(rate * seconds)
    for i in range(n):
        target = start + i * interval
        now = time.monotonic()
        if target > now:
            time.sleep(target - now)
        p.produce("live", payload, on_delivery=report(time.monotonic()))
        p.poll(0)
    p.flush(30)
    out.put(lat)


def evict(data: Path):
    for f in data.glob("history-*/*.log"):
        fd = os.open(f, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000 if xs else None


def phase(bootstrap: str, data: Path, replayer: str, name: str, rate: float, seconds: float):
    readers = []
    evictor_stop = threading.Event()
    if name != "quiet":
        if name == "cold":
            evict(data)
        # At nice 19: on 2 cores, four full-speed readers would otherwise starve the producer
        # process itself, and the figure would be the OS scheduler's, not the broker's.
        pace = [str(REPLAY_MB_S / 4)] if REPLAY_MB_S else []
        readers = [subprocess.Popen(["nice", "-n", str(NICE), replayer, bootstrap, "history", "4", *pace], stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True) for _ in range(4)]
        time.sleep(2)  # let the replay get going
        if name == "cold":
            def keep_cold():
                while not evictor_stop.wait(0.2):
                    evict(data)
            threading.Thread(target=keep_cold, daemon=True).start()
    q = mp.Queue()
    t0 = time.monotonic()
    prod = mp.Process(target=producer_latency, args=(bootstrap, rate, seconds, q))
    prod.start()
    lat = q.get(timeout=seconds + 120)
    prod.join()
    elapsed = time.monotonic() - t0
    evictor_stop.set()
    replayed = 0
    for r in readers:
        r.send_signal(signal.SIGTERM)
        out, _ = r.communicate(timeout=30)
        replayed += int(out.strip() or 0)
    # Bytes over the whole time the readers ran (2 s warm-up included).
    row = {"phase": name, "deliveries": len(lat), "p50_ms": pct(lat, 0.5), "p99_ms": pct(lat, 0.99),
           "p999_ms": pct(lat, 0.999), "max_ms": max(lat) * 1000 if lat else None,
           "replay_mb_s": replayed / (elapsed + (2 if readers else 0)) / 1e6}
    log(f"{name}: p50 {row['p50_ms']:.2f} ms, p99 {row['p99_ms']:.2f} ms, max {row['max_ms']:.1f} ms, "
        f"replay {row['replay_mb_s']:.0f} MB/s")
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--history-gb", type=float, default=2.0)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--rate", type=float, default=5000)
    ap.add_argument("--rounds", type=int, default=2, help="alternate the two modes this many times")
    ap.add_argument("--nice", type=int, default=19, help="niceness of the replaying consumers")
    ap.add_argument("--replay-mb-s", type=float, default=0, help="total replay rate of the four readers (0: as fast as they can)")
    a = ap.parse_args()
    global NICE, REPLAY_MB_S
    NICE = a.nice
    REPLAY_MB_S = a.replay_mb_s
    work = Path(tempfile.mkdtemp(prefix="replay-bench-", dir=os.environ.get("BENCH_TMP", "/work")))
    data = work / "data"
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    replayer = build_replayer(work)
    try:
        b = start_broker(a.bin, data, port, 4)
        admin = AdminClient({"bootstrap.servers": bootstrap})
        fs = admin.create_topics([NewTopic("history", 4, 1, config={"segment.bytes": str(128 << 20)}), NewTopic("live", 1, 1)])
        for f in fs.values():
            f.result(15)
        load_history(bootstrap, a.history_gb)
        stop_broker(b)
        rows = []
        for rnd in range(a.rounds):
            for io in (0, 4):
                b = start_broker(a.bin, data, port, io)
                log(f"round {rnd + 1}, io-threads {io}")
                try:
                    for name in ("quiet", "hot", "cold"):
                        row = phase(bootstrap, data, replayer, name, a.rate, a.seconds)
                        row.update({"io_threads": io, "round": rnd + 1})
                        rows.append(row)
                finally:
                    stop_broker(b)
        print(json.dumps({"history_gb": a.history_gb, "rate": a.rate, "seconds": a.seconds, "cores": os.cpu_count(), "nice": NICE, "replay_limit_mb_s": REPLAY_MB_S,
                          "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "rows": rows}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
