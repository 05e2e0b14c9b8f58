"""The stream engine against a broker process, with real clients on both sides.

`riverbank streams bench A|B|C` runs the benchmark jobs (tumbling, hopping, OVER) written
against the Swift API. Input is produced with confluent-kafka (librdkafka); output is read
back with it and checked against a brute-force computation in plain Python over the same
rows. Then: malformed records go to the dead-letter topic and the job keeps going; and a
job killed with SIGKILL at random moments, restarted each time, ends with every window
present exactly as the uninterrupted computation has it (state neither lost nor counted
twice; the sink is at-least-once, so a window may appear more than once, always with the
same value).
"""
import json
import os
import random
import signal
import subprocess
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import riverbank_binary, unique_topic
from clients import create_topic

BASE_MS = 1767225600000
HOUR = 3_600_000


def make_rows(n, customers, seed, step=10, jitter=5000):
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        rows.append({"tx_id": i, "customer_id": rnd.randrange(customers),
                     "amount": round(rnd.expovariate(1 / 50.0), 2),
                     "lat": round(rnd.uniform(25, 49), 6), "lon": round(rnd.uniform(-124, -67), 6),
                     "ts_ms": BASE_MS + i * step - rnd.randint(0, jitter)})
    return rows


def produce_rows(bootstrap, topic, rows, partitions=2, extra=(), create=True):
    if create:
        create_topic(bootstrap, topic, partitions=partitions)
    p = Producer({"bootstrap.servers": bootstrap, "compression.type": "lz4", "linger.ms": 10,
                  "enable.idempotence": True})
    for r in rows:
        while True:
            try:
                p.produce(topic, value=json.dumps(r).encode(), key=str(r["customer_id"]).encode(), timestamp=r["ts_ms"])
                break
            except BufferError:  # librdkafka's queue is full: let it send
                p.poll(0.05)
        p.poll(0)
    for key, value in extra:
        p.produce(topic, value=value, key=key)
    assert p.flush(30) == 0


def crc32c(data):
    """CRC-32C (Castagnoli), bitwise: an independent check of the checkpoint checksums."""
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def read_topic(bootstrap, topic, timeout=30.0):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique_topic("g"), "enable.auto.commit": False,
                  "enable.partition.eof": True})
    md = c.list_topics(topic, timeout=10)
    tps = []
    for part in md.topics[topic].partitions:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, part), timeout=10)
        if hi > lo:
            tps.append(TopicPartition(topic, part, lo))
    out = []
    if tps:
        c.assign(tps)
        left = {tp.partition for tp in tps}
        deadline = time.time() + timeout
        while left and time.time() < deadline:
            for m in c.consume(1000, 0.5):
                if m.error():
                    if m.error().code() == -191:  # _PARTITION_EOF
                        left.discard(m.partition())
                        continue
                    raise RuntimeError(m.error())
                out.append(m)
        assert not left, f"could not read {topic} to its end"
    c.close()
    return out


def run_job(bootstrap, job, topic, output, *extra, timeout=600):
    cmd = [str(riverbank_binary().absolute()), "streams", "bench", job, "--bootstrap", bootstrap,
           "--topic", topic, "--output", output, "--quiet", *extra]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


# --- the independent computations -----------------------------------------------------------

def oracle_a(rows):
    out = {}
    for r in rows:
        k = (r["customer_id"], r["ts_ms"] // HOUR * HOUR)
        c, s = out.get(k, (0, 0.0))
        out[k] = (c + 1, s + r["amount"])
    return out


def oracle_b(rows):
    out = {}
    for r in rows:
        last = r["ts_ms"] // 300_000 * 300_000
        for i in range(12):
            k = (r["customer_id"], last - i * 300_000)
            out[k] = out.get(k, 0) + 1
    return {k: v for k, v in out.items() if v > 5}


def oracle_c(rows):
    """Per customer in event-time order (ties: arrival), amount > 3 × average of the previous."""
    flagged = set()
    state = {}
    for r in sorted(rows, key=lambda r: (r["customer_id"], r["ts_ms"], r["tx_id"])):
        s = state.get(r["customer_id"])
        if s is None:
            state[r["customer_id"]] = [r["amount"], 1]
            continue
        if r["amount"] > 3.0 * s[0] / s[1]:
            flagged.add(r["tx_id"])
        s[0] += r["amount"]
        s[1] += 1
    return flagged


def check_a(msgs, rows):
    want = oracle_a(rows)
    got = {}
    for m in msgs:
        v = json.loads(m.value())
        k = (v["customer_id"], v["window_start"])
        assert v["window_end"] == v["window_start"] + HOUR
        assert m.key() == str(v["customer_id"]).encode()
        if k in got:  # at-least-once: a repeat must carry the same result
            assert got[k] == (v["cnt"], round(v["sum"], 6)), f"window {k} emitted with two values"
        got[k] = (v["cnt"], round(v["sum"], 6))
    assert set(got) == set(want), f"missing {len(set(want) - set(got))}, extra {len(set(got) - set(want))}"
    bad = [k for k in want if got[k][0] != want[k][0] or abs(got[k][1] - want[k][1]) > 1e-6]
    assert not bad, f"{len(bad)} windows differ, e.g. {bad[:3]}"


@pytest.fixture(scope="module")
def data(broker):
    rows = make_rows(30_000, 2_000, seed=11)
    topic = unique_topic("tx")
    produce_rows(broker.bootstrap, topic, rows)
    return topic, rows


@pytest.mark.parametrize("parallelism", [1, 2])
def test_tumbling_job_matches_brute_force(broker, data, parallelism):
    topic, rows = data
    out = unique_topic("a")
    stdout = run_job(broker.bootstrap, "A", topic, out, "--parallelism", str(parallelism))
    assert "30000 records in" in stdout
    msgs = read_topic(broker.bootstrap, out)
    assert len(msgs) == len(oracle_a(rows))  # no checkpoint, no restart: each window once
    check_a(msgs, rows)


def test_hopping_job_matches_brute_force(broker, data):
    topic, rows = data
    out = unique_topic("b")
    run_job(broker.bootstrap, "B", topic, out, "--parallelism", "2")
    got = {}
    for m in read_topic(broker.bootstrap, out):
        v = json.loads(m.value())
        assert v["window_end"] - v["window_start"] == HOUR
        got[(v["customer_id"], v["window_start"])] = v["cnt"]
    assert got == oracle_b(rows)


def test_over_job_matches_brute_force_in_event_time_order(broker, data):
    topic, rows = data
    out = unique_topic("c")
    run_job(broker.bootstrap, "C", topic, out)
    msgs = read_topic(broker.bootstrap, out)
    got = [json.loads(m.value())["tx_id"] for m in msgs]
    assert len(got) == len(set(got))
    want = oracle_c(rows)
    assert set(got) == want, f"missing {len(want - set(got))}, extra {len(set(got) - want)}"
    # Lineage: each alert names the record it came from.
    by_id = {r["tx_id"]: r for r in rows}
    for m in msgs[:50]:
        src = dict(m.headers())["riverbank.source"].decode()
        t, part, off = src.rsplit("/", 2)
        assert t == topic and int(part) in (0, 1) and int(off) >= 0
        assert json.loads(m.value())["customer_id"] == by_id[json.loads(m.value())["tx_id"]]["customer_id"]


def test_malformed_records_go_to_the_dead_letter_topic_and_the_job_goes_on(broker):
    rows = make_rows(2_000, 100, seed=5)
    topic = unique_topic("tx")
    bad = [(b"x", b"{not json"), (b"y", b'{"tx_id":1,"customer_id":"abc","amount":1,"lat":0,"lon":0,"ts_ms":0}'),
           (b"z", b'{"tx_id":1,"customer_id":1,"amount":1,"lat":0,"lon":0}')]
    produce_rows(broker.bootstrap, topic, rows, extra=bad)
    out = unique_topic("a")
    run_job(broker.bootstrap, "A", topic, out)
    check_a(read_topic(broker.bootstrap, out), rows)
    dead = read_topic(broker.bootstrap, f"bench-a-{out}.dead-letter")
    assert sorted(m.value() for m in dead) == sorted(v for _, v in bad)
    reasons = sorted(dict(m.headers())["riverbank.dead-letter.reason"].decode() for m in dead)
    assert any("expected ',' or '}'" in r or "expected" in r for r in reasons), reasons
    assert any("field customer_id: expected an integer, found string" in r for r in reasons), reasons
    assert any("field ts_ms: expected an integer, found missing" in r for r in reasons), reasons
    for m in dead:
        h = dict(m.headers())
        assert h["riverbank.source"].decode().startswith(topic + "/")


def test_kill9_at_random_moments_loses_and_double_counts_nothing(broker):
    rows = make_rows(300_000, 3_000, seed=23)
    topic = unique_topic("tx")
    produce_rows(broker.bootstrap, topic, rows)
    out = unique_topic("a")
    stats = broker.workdir / f"{out}.stats.json"
    cmd = [str(riverbank_binary().absolute()), "streams", "bench", "A", "--bootstrap", broker.bootstrap,
           "--topic", topic, "--output", out, "--quiet", "--checkpoint-interval-ms", "100", "--stats", str(stats)]
    rnd = random.Random(7)
    kills = 0
    ck_topic = f"bench-a-{out}.checkpoints"
    probe = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": unique_topic("probe")})

    def checkpoint_records():
        # Partition 0: intents and manifests; partition 1: chunks.
        try:
            return sum(probe.get_watermark_offsets(TopicPartition(ck_topic, p), timeout=5)[1] for p in (0, 1))
        except Exception:  # noqa: BLE001 — the topic does not exist before the first run
            return 0

    for attempt in range(20):
        before = checkpoint_records()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        if kills >= 4:
            proc.wait(timeout=300)
            break
        # Kill at a random moment after this run has written two checkpoints (6 records each:
        # an intent, a chunk and a manifest per task), so that every restart has progress to resume.
        deadline = time.time() + 60
        while checkpoint_records() < before + 12 and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(rnd.uniform(0, 0.4))
        if proc.poll() is not None:
            break  # finished before the kill
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        kills += 1
    else:
        pytest.fail("the job never finished")
    probe.close()
    assert proc.returncode == 0, proc.stderr.read()[-2000:]
    assert kills >= 2, "too few kills to mean anything (the job is faster than the kill delays)"
    # The last run started from a checkpoint (it did not just redo everything) and read less.
    st = json.loads(stats.read_text())
    assert st["restored_tasks"] == 2, st
    assert st["n_in"] < len(rows), st
    check_a(read_topic(broker.bootstrap, out), rows)
    # The checkpoint topic holds what a fresh machine would restore from.
    ck = read_topic(broker.bootstrap, f"bench-a-{out}.checkpoints")
    latest = {}
    for m in ck:
        latest[m.key().decode()] = m.value()
    import struct
    ids = {}
    for task in ("task/0", "task/1"):
        assert latest.get(task), f"no manifest for {task}"
        ids[task] = struct.unpack_from("<q", latest[task], 0)[0]
    # Chunks are in partition 1, the rest in partition 0.
    assert all(("/chunk/" in m.key().decode()) == (m.partition() == 1) for m in ck)
    # Each manifest names its chunks' offsets in partition 1, and their CRC-32C.
    by_offset = {m.offset(): m for m in ck if m.partition() == 1}
    for task in ("task/0", "task/1"):
        ckpt_id, chunks, length, checksum, kind, n = struct.unpack_from("<qqqQqq", latest[task], 0)
        assert kind == 2 and n == chunks, (kind, n, chunks)
        offsets = struct.unpack_from(f"<{n}q", latest[task], 48)
        body = b""
        for i, off in enumerate(offsets):
            rec = by_offset[off]
            assert rec.key().decode() == f"{task}/chunk/{ckpt_id}/{i}"
            body += rec.value()
        assert len(body) == length and crc32c(body) == checksum
    # Chunks of replaced (or crashed, never completed) checkpoints were tombstoned.
    live = [k for k, v in latest.items() if "/chunk/" in k and v is not None]
    assert live, "no chunks"
    for k in live:
        task, ckpt = k.split("/chunk/")
        assert int(ckpt.split("/")[0]) == ids[task], f"stale chunk {k} still live (manifest {ids[task]})"
