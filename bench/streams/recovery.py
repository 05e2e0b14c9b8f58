#!/usr/bin/env python3
"""Recovery benchmark: kill -9 of a job holding ~1 GB of keyed state, then the time from the
restart to its first new output — from the local copy (the same machine) and from the
checkpoint topic alone (a fresh machine).

  bench/streams/recovery.py [--rows 10000000] [--parallelism 2] [--repeat 1] [--reuse-broker]

Uses run.py's broker, data and settings (RIVERBANK_BIN, STREAMS_WORK, PEERS_PORT). Steps:
  1. the input topic rec-<rows> (2 partitions): the benchmark rows (gen_produce.py), made once;
  2. job R (`streams bench R --unbounded`: per customer every transaction with derived
     features) with a checkpoint every --interval-ms and a state directory; once it has read
     every row and a checkpoint taken after that is complete (its manifests, in partition 0
     of the checkpoint topic, name the checkpoint and its size), kill -9;
  3. probe rows (tx_id a multiple of 1000, so each is written) appended to the input; the job
     restarted with the same state directory: seconds from the process start to the first
     new output record, and the restore time the job logs; kill -9;
  4. the same with an empty state directory: the chunks come from the topic.
Each measurement is one JSON line in bench/streams/results/recovery-<UTC date>.jsonl.
"""
import argparse
import datetime
import json
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as R  # noqa: E402  (the broker, the datasets, the paths)


def relaunch_in_venv():
    """confluent_kafka comes from the baseline peer's venv (run.py/setup.sh made it)."""
    try:
        import confluent_kafka  # noqa: F401
    except ImportError:
        if os.path.exists(R.BASE_PY) and os.path.realpath(sys.executable) != os.path.realpath(R.BASE_PY):
            os.execv(R.BASE_PY, [R.BASE_PY] + sys.argv)
        raise SystemExit("recovery.py: confluent_kafka missing (run bench/streams/setup.sh)")


def manifests(consumer, topic):
    """Partition 0 of the checkpoint topic read to its end: {task: (checkpoint id, bytes)}."""
    from confluent_kafka import TopicPartition
    lo, hi = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    out = {}
    if hi <= lo:
        return out
    consumer.assign([TopicPartition(topic, 0, lo)])
    pos = lo
    deadline = time.time() + 20
    while pos < hi and time.time() < deadline:
        for m in consumer.consume(1000, 0.5):
            if m.error():
                continue
            pos = m.offset() + 1
            k = m.key().decode() if m.key() else ""
            if k.count("/") == 1 and m.value():
                ckpt_id, _, length = struct.unpack_from("<qqq", m.value(), 0)
                out[k] = (ckpt_id, length)
    consumer.unassign()
    return out


def end_offsets(consumer, topic, parts=2):
    from confluent_kafka import TopicPartition
    return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(parts)}


def first_record_after(consumer, topic, start, deadline):
    """Waits for the first record past `start` (partition -> offset); its arrival time."""
    from confluent_kafka import TopicPartition
    consumer.assign([TopicPartition(topic, p, o) for p, o in start.items()])
    try:
        while time.time() < deadline:
            for m in consumer.consume(100, 0.05):
                if not m.error():
                    return time.time()
        return None
    finally:
        consumer.unassign()


def job_cmd(a, topic, output, state_dir):
    return [R.RB_BIN, "streams", "bench", "R", "--bootstrap", R.BOOTSTRAP, "--topic", topic, "--output", output,
            "--parallelism", str(a.parallelism), "--checkpoint-interval-ms", str(a.interval_ms),
            "--state-dir", state_dir, "--unbounded", "--quiet"]


def git_rev():
    try:
        rev = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", HERE, "status", "--porcelain", "--untracked-files=no", "Sources"],
                               capture_output=True, text=True).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except OSError:
        return None


def kill9(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def produce_probes(topic, first_id, n=200):
    """Rows after the benchmark's (ids multiples of 1000: job R writes each one)."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": R.BOOTSTRAP, "linger.ms": 5})
    for i in range(n):
        tx = first_id + i * 1000
        # Now: brokers refuse timestamps far in the future (log.message.timestamp.after.max.ms).
        v = {"tx_id": tx, "customer_id": i % 100, "amount": 10.0, "lat": 40.0, "lon": -74.0, "ts_ms": int(time.time() * 1000) + i}
        p.produce(topic, key=str(v["customer_id"]), value=json.dumps(v), partition=i % 2)
    p.flush(30)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--parallelism", type=int, default=2)
    ap.add_argument("--interval-ms", type=int, default=20_000, help="checkpoint interval of the first run")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--reuse-broker", action="store_true", help="keep the broker's data (and the input topic)")
    ap.add_argument("--keep-broker", action="store_true")
    a = ap.parse_args()
    relaunch_in_venv()
    from confluent_kafka import Consumer
    topic = f"rec-{a.rows // 1_000_000}m" if a.rows % 1_000_000 == 0 else f"rec-{a.rows}"
    R.start_broker(argparse.Namespace(reuse_broker=a.reuse_broker), {})
    probe = Consumer({"bootstrap.servers": R.BOOTSTRAP, "group.id": f"recovery-probe-{os.getpid()}"})
    held = sum(end_offsets(probe, topic).values()) if topic in probe.list_topics(timeout=10).topics else 0
    probe.close()
    # The rows once (later runs append probe rows: more than rows + 2 end markers is fine).
    if held < a.rows + 2:
        R.log(f"producing {a.rows:,} rows to {topic}")
        R.sh([R.BASE_PY, os.path.join(R.PEERS_SRC, "gen_produce.py"), "produce", "check"], env=R.peers_env(a.rows, topic))
    os.makedirs(R.RESULTS_DIR, exist_ok=True)
    results = os.path.join(R.RESULTS_DIR, f"recovery-{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d}.jsonl")
    env = dict(os.environ, RIVERBANK_LOG_LEVEL="info")
    c = Consumer({"bootstrap.servers": R.BOOTSTRAP, "group.id": f"recovery-{os.getpid()}", "enable.auto.commit": False})
    try:
        for rep in range(1, a.repeat + 1):
            stamp = datetime.datetime.now().strftime("%H%M%S")
            output = f"out-rec-{stamp}"
            ck_topic = f"bench-r-{output}.checkpoints"
            with tempfile.TemporaryDirectory(prefix="rec-state-", dir=R.WORK) as state:
                # 1. Build the state, checkpoint it, kill -9.
                R.log(f"recovery rep {rep}: job R over {topic} ({a.rows:,} rows), checkpoints every {a.interval_ms} ms")
                t0 = time.time()
                log1 = open(os.path.join(R.RB_RUNS, f"rec-{stamp}-build.log"), "w")
                proc = subprocess.Popen(job_cmd(a, topic, output, state), stdout=log1, stderr=subprocess.STDOUT,
                                        env=env, start_new_session=True)
                ckpt = None
                while proc.poll() is None and time.time() - t0 < 1800:
                    time.sleep(1)
                    ms = manifests(c, ck_topic)
                    if len(ms) == a.parallelism:
                        ids = {i for i, _ in ms.values()}
                        size = sum(n for _, n in ms.values())
                        # A checkpoint whose state holds (nearly) every row: ~88 bytes a row.
                        if size >= 80 * a.rows and len(ids) == 1:
                            ckpt = (ids.pop(), size)
                            # The local copy is written once the topic has the checkpoint.
                            files = [os.path.join(state, f"bench-r-{output}", f"task-{p}.ckpt") for p in range(a.parallelism)]
                            while time.time() - t0 < 1800 and not all(
                                    os.path.exists(f) and os.path.getsize(f) >= ms[f"task/{p}"][1] for p, f in enumerate(files)):
                                time.sleep(0.2)
                            break
                if ckpt is None:
                    kill9(proc)
                    raise SystemExit(f"recovery.py: no complete checkpoint of the whole state (see {log1.name})")
                kill9(proc)
                R.log(f"   checkpoint {ckpt[0]}: {ckpt[1] / 2**20:,.0f} MiB of state after {time.time() - t0:.1f} s; killed -9")

                # 2. and 3. Restart from the local copy, then from the topic alone.
                for mode in ("local", "topic"):
                    probe_id = 10_000_000_000 + rep * 1_000_000 + (0 if mode == "local" else 500_000)
                    start = end_offsets(c, output)
                    produce_probes(topic, probe_id)
                    sd = state if mode == "local" else tempfile.mkdtemp(prefix="rec-empty-", dir=R.WORK)
                    logn = open(os.path.join(R.RB_RUNS, f"rec-{stamp}-{mode}.log"), "w")
                    t_start = time.time()
                    proc = subprocess.Popen(job_cmd(a, topic, output, sd), stdout=logn, stderr=subprocess.STDOUT,
                                            env=env, start_new_session=True)
                    t_first = first_record_after(c, output, start, time.time() + 300)
                    kill9(proc)
                    with open(logn.name) as f:
                        text = f.read()
                    # What the job logs (info): reading the checkpoint, then rebuilding each worker's operators.
                    read_ms = [int(x) for x in re.findall(r"read-ms=(\d+)", text)]
                    restore_ms = [int(x) for x in re.findall(r"restore-ms=(\d+)", text)]
                    row = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                           "rows": a.rows, "parallelism": a.parallelism, "from": mode, "checkpoint_id": ckpt[0],
                           "state_bytes": ckpt[1], "first_output_s": None if t_first is None else round(t_first - t_start, 3),
                           "checkpoint_read_ms": max(read_ms, default=None), "operator_restore_ms": max(restore_ms, default=None),
                           "rev": git_rev()}
                    R.log(f"   restart from the {mode} copy: first new output after {row['first_output_s']} s "
                          f"(checkpoint read {row['checkpoint_read_ms']} ms, operators restored {row['operator_restore_ms']} ms)")
                    with open(results, "a") as f:
                        f.write(json.dumps(row) + "\n")
    finally:
        c.close()
        if not a.keep_broker:
            R.broker_sh("stop", check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
