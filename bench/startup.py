#!/usr/bin/env python3
"""Start-up time to listening: an empty data directory, and one holding many GB of segments
(written once, then reused). Prints JSON."""
import json, os, socket, subprocess, sys, tempfile, time, shutil

BIN = sys.argv[1]
BIG = os.environ.get("STARTUP_BIG_DIR", "/tmp/riverbank-startup-big")
BIG_GB = float(os.environ.get("STARTUP_BIG_GB", "10"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def time_to_listen(data_dir, clean=True):
    port = free_port()
    t0 = time.monotonic()
    p = subprocess.Popen([BIN, "broker", "--data-dir", data_dir, "--listen", f"127.0.0.1:{port}", "--log-level", "warning"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    ms = (time.monotonic() - t0) * 1000
    p.terminate() if clean else p.kill()
    p.wait(30)
    assert "listening" in line, line
    return round(ms, 1)


def fill(data_dir, gb):
    """Writes gb of 1 MiB-ish batches with kcat-free raw produce through confluent-kafka."""
    from confluent_kafka import Producer
    port = free_port()
    p = subprocess.Popen([BIN, "broker", "--data-dir", data_dir, "--listen", f"127.0.0.1:{port}", "--log-level", "warning"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    p.stdout.readline()
    prod = Producer({"bootstrap.servers": f"127.0.0.1:{port}", "linger.ms": 20, "batch.size": 1000000,
                     "queue.buffering.max.kbytes": 1048576})
    value = os.urandom(16384)
    total = int(gb * (1 << 30))
    sent = 0
    while sent < total:
        try:
            prod.produce("startup-big", value=value)
            sent += len(value)
        except BufferError:
            prod.poll(0.05)
        if sent % (256 << 20) < len(value):
            print(f"[startup] filled {sent >> 20} MiB", file=sys.stderr, flush=True)
    prod.flush(120)
    p.terminate()
    p.wait(60)


if __name__ == "__main__":
    empty = tempfile.mkdtemp(prefix="rb-startup-")
    out = {"empty_ms": [time_to_listen(empty) for _ in range(3)]}
    shutil.rmtree(empty, ignore_errors=True)
    marker = os.path.join(BIG, ".filled-%g" % BIG_GB)
    if not os.path.exists(marker):
        shutil.rmtree(BIG, ignore_errors=True)
        os.makedirs(BIG)
        fill(BIG, BIG_GB)
        open(marker, "w").close()
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(BIG) for f in fs)
    out["big_gb"] = round(size / (1 << 30), 2)
    out["big_clean_ms"] = [time_to_listen(BIG) for _ in range(3)]
    out["big_after_kill9_ms"] = time_to_listen(BIG, clean=False)
    out["big_recovery_ms"] = time_to_listen(BIG)
    print(json.dumps(out))
