"""Durability: acknowledged (acks=all) records survive SIGKILL / SIGTERM restarts, idempotent
producers keep working across restarts, metadata survives, torn segment tails are recovered."""
from __future__ import annotations

import os
import random
import struct
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import TopicPartition
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, NewPartitions

import wire
from clients import DeliveryLog, _produce, admin, consume, consumer, create_topic, flush_all, producer
from conftest import unique_topic, wait_for

pytestmark = [pytest.mark.riverbank_only, pytest.mark.deadline(120)]


def watermarks(bootstrap, topic, partition=0):
    c = consumer(bootstrap)
    try:
        return c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
    finally:
        c.close()


def by_partition(msgs):
    out = {}
    for m in msgs:
        out.setdefault(m.partition(), []).append((m.offset(), m.value()))
    return out


def acked_by_partition(log: DeliveryLog):
    out = {}
    for m in log.ok:
        out.setdefault(m.partition(), []).append((m.offset(), m.value()))
    return {p: sorted(v) for p, v in out.items()}


@pytest.mark.parametrize("how", ["sigkill", "sigterm"])
def test_acked_records_survive_restart(fresh_broker, how):
    b = fresh_broker
    t = unique_topic(f"dur-{how}")
    create_topic(b.bootstrap, t, partitions=2)
    n = 6000
    p = producer(b.bootstrap, acks="all", **{"linger.ms": 2, "compression.type": "lz4"})
    log = DeliveryLog()
    for i in range(n):
        _produce(p, t, partition=i % 2, key=b"k%d" % i, value=b"durable-%06d" % i, on_delivery=log)
    flush_all(p, log, expected=n)
    expected = acked_by_partition(log)
    assert {k: len(v) for k, v in expected.items()} == {0: n // 2, 1: n // 2}

    if how == "sigkill":
        b.kill9()
        assert b.last_returncode == -9
    else:
        rc = b.stop()
        assert rc == 0, f"SIGTERM exit code {rc}"
    b.start()

    msgs = consume(b.bootstrap, t, n, partitions=(0, 1))
    assert len(msgs) == n, f"after {how} restart: {len(msgs)} records, {n} were acknowledged"
    got = by_partition(msgs)
    for part in (0, 1):
        assert got[part] == expected[part], f"partition {part} differs after {how} restart"
        assert [o for o, _ in got[part]] == list(range(n // 2))
        assert watermarks(b.bootstrap, t, part) == (0, n // 2)

    # and the log continues where it stopped
    p2 = producer(b.bootstrap, acks="all")
    log2 = DeliveryLog()
    p2.produce(t, partition=0, value=b"after-restart", on_delivery=log2)
    flush_all(p2, log2, expected=1)
    assert log2.ok[0].offset() == n // 2


def test_sigkill_during_continuous_acks_all_production(fresh_broker):
    """Records acknowledged before a SIGKILL in the middle of a produce stream are all there."""
    b = fresh_broker
    t = unique_topic("dur-live")
    create_topic(b.bootstrap, t)
    p = producer(b.bootstrap, acks="all", retries=0, **{"linger.ms": 1, "message.timeout.ms": 5000})
    log = DeliveryLog()
    stop = threading.Event()
    sent = [0]

    def run():
        i = 0
        while not stop.is_set() and i < 200_000:
            try:
                p.produce(t, partition=0, value=b"live-%07d" % i, on_delivery=log)
                i += 1
            except BufferError:
                pass
            p.poll(0)
            if i % 200 == 0:
                time.sleep(0.002)
        sent[0] = i

    th = threading.Thread(target=run, daemon=True)
    th.start()
    wait_for(lambda: len(log.ok) >= 3000, timeout=30, message="3000 acknowledged records before the kill")
    b.kill9()
    stop.set()
    th.join(timeout=10)
    p.flush(15)  # remaining ones fail (broker down) or were acked just before the kill
    acked = sorted((m.offset(), m.value()) for m in log.ok)
    assert len(acked) >= 3000
    b.start()
    hi = watermarks(b.bootstrap, t)[1]
    assert hi >= len(acked), f"high watermark {hi} after restart, but {len(acked)} records were acknowledged"
    msgs = consume(b.bootstrap, t, hi, timeout=30)
    stored = {m.offset(): m.value() for m in msgs}
    missing = [(o, v) for o, v in acked if stored.get(o) != v]
    assert not missing, f"{len(missing)} acknowledged records lost or changed after SIGKILL, first: {missing[:3]}"
    values = [m.value() for m in msgs]
    assert len(values) == len(set(values)), "duplicate records after restart"


@pytest.mark.parametrize("hard", [False, True], ids=["sigterm", "sigkill"])
def test_idempotent_producer_across_restart(fresh_broker, hard):
    b = fresh_broker
    t = unique_topic("dur-idem")
    create_topic(b.bootstrap, t)
    p = producer(b.bootstrap, **{"enable.idempotence": True, "linger.ms": 2})
    log = DeliveryLog()
    for i in range(1000):
        _produce(p, t, partition=0, value=b"%d" % i, on_delivery=log)
    flush_all(p, log, expected=1000)
    b.restart(hard=hard)
    for i in range(1000, 2000):
        _produce(p, t, partition=0, value=b"%d" % i, on_delivery=log)
    flush_all(p, log, expected=2000)
    msgs = consume(b.bootstrap, t, 2000)
    assert [m.value() for m in msgs] == [b"%d" % i for i in range(2000)], "duplicates or gaps across restart"
    assert [m.offset() for m in msgs] == list(range(2000))


def test_idempotent_producer_sigkill_mid_stream_no_duplicates(fresh_broker):
    """Kill -9 while an idempotent producer has requests in flight, restart, let it retry:
    every record exactly once, in order (needs producer state recovered from the log)."""
    b = fresh_broker
    t = unique_topic("dur-idem-live")
    create_topic(b.bootstrap, t)
    p = producer(b.bootstrap, **{"enable.idempotence": True, "linger.ms": 1, "message.timeout.ms": 60000})
    log = DeliveryLog()
    n = 30_000
    done = threading.Event()

    def run():  # ~3 s of paced production, spanning the kill and the restart
        for i in range(n):
            _produce(p, t, partition=0, value=b"%07d" % i, on_delivery=log)
            if i % 100 == 99:
                p.poll(0)
                time.sleep(0.01)
        done.set()

    th = threading.Thread(target=run, daemon=True)
    th.start()
    wait_for(lambda: len(log.ok) >= 5000, timeout=30, message="5000 acknowledged records")
    assert not done.is_set(), "the stream ended before the kill; nothing was in flight"
    b.kill9()
    b.start()
    th.join(timeout=60)
    assert done.is_set(), "producer thread did not finish"
    flush_all(p, log, expected=n, timeout=60)
    msgs = consume(b.bootstrap, t, n, timeout=40)
    vals = [m.value() for m in msgs]
    dups = len(vals) - len(set(vals))
    assert dups == 0, f"{dups} duplicate records after SIGKILL with an idempotent producer"
    assert vals == [b"%07d" % i for i in range(n)], "records missing or out of order"


@pytest.mark.parametrize("hard", [False, True], ids=["sigterm", "sigkill"])
def test_topic_metadata_survives_restart(fresh_broker, hard):
    b = fresh_broker
    a = admin(b.bootstrap)
    t, gone = unique_topic("dur-md"), unique_topic("dur-gone")
    create_topic(b.bootstrap, t, partitions=3, config={"retention.ms": "3600000", "cleanup.policy": "delete"})
    create_topic(b.bootstrap, gone, partitions=2)
    res = ConfigResource("topic", t, incremental_configs=[
        ConfigEntry("max.message.bytes", "2000000", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("cleanup.policy", None, incremental_operation=AlterConfigOpType.DELETE)])
    a.incremental_alter_configs([res], request_timeout=10)[res].result(timeout=10)
    a.create_partitions([NewPartitions(t, 5)], request_timeout=10)[t].result(timeout=10)
    a.delete_topics([gone], operation_timeout=10, request_timeout=15)[gone].result(timeout=15)
    for part in range(5):
        p = producer(b.bootstrap)
        p.produce(t, partition=part, value=b"p%d" % part)
        flush_all(p)

    b.restart(hard=hard)

    a = admin(b.bootstrap)
    assert gone not in wire.all_topics(b.port), "a deleted topic came back after restart"
    assert len(a.list_topics(t, timeout=10).topics[t].partitions) == 5
    r = ConfigResource("topic", t)
    cfg = a.describe_configs([r], request_timeout=10)[r].result(timeout=10)
    assert cfg["retention.ms"].value == "3600000"
    assert cfg["max.message.bytes"].value == "2000000"
    assert cfg["cleanup.policy"].is_default, cfg["cleanup.policy"]
    msgs = consume(b.bootstrap, t, 5, partitions=range(5))
    assert sorted((m.partition(), m.value()) for m in msgs) == [(i, b"p%d" % i) for i in range(5)]
    # cluster id is stable
    cid = a.describe_cluster(request_timeout=10).result(timeout=10).cluster_id
    b.restart(hard=True)
    assert admin(b.bootstrap).describe_cluster(request_timeout=10).result(timeout=10).cluster_id == cid


def _segment_files(data_dir: Path, topic: str, partition: int = 0):
    dirs = [d for d in data_dir.rglob(f"{topic}-{partition}") if d.is_dir()]
    assert len(dirs) == 1, f"expected one partition dir {topic}-{partition} under {data_dir}, found {dirs}"
    logs = sorted(dirs[0].glob("*.log"))
    assert logs, f"no *.log segment in {dirs[0]} ({sorted(os.listdir(dirs[0]))})"
    return logs


def _torn_batch() -> bytes:
    batch = bytearray(wire.record_batch([(b"k", b"v" * 500, [])]))
    batch[0:8] = struct.pack(">q", 100)
    return bytes(batch[: len(batch) // 2])


@pytest.mark.parametrize("tail", ["random", "zeros", "torn-batch", "huge-length"])
@pytest.mark.parametrize("how", ["sigkill", "sigterm"])
def test_garbage_tail_recovery(fresh_broker, tail, how):
    b = fresh_broker
    t = unique_topic("dur-tail")
    create_topic(b.bootstrap, t)
    values = [b"rec-%03d-" % i + b"z" * (i * 7) for i in range(100)]
    p = producer(b.bootstrap, acks="all", **{"linger.ms": 0})
    log = DeliveryLog()
    for i, v in enumerate(values):
        p.produce(t, partition=0, value=v, key=b"%d" % i, on_delivery=log)
        if i % 10 == 9:
            p.flush(10)  # ten batches
    flush_all(p, log, expected=100)
    if how == "sigkill":
        b.kill9()
    else:
        assert b.stop() == 0

    seg = _segment_files(b.data_dir, t)[-1]
    garbage = {
        "random": random.Random(5).randbytes(777),
        "zeros": b"\x00" * 4096,
        "torn-batch": _torn_batch(),
        "huge-length": struct.pack(">qi", 100, 0x7FFFFFF0) + b"\x01" * 40,
    }[tail]
    with open(seg, "ab") as f:
        f.write(garbage)

    b.start()
    assert watermarks(b.bootstrap, t) == (0, 100), f"high watermark wrong after recovering a {tail} tail"
    msgs = consume(b.bootstrap, t, 100)
    assert len(msgs) == 100, f"{len(msgs)} records after recovery, expected 100"
    assert [(m.offset(), m.key(), m.value()) for m in msgs] == [(i, b"%d" % i, v) for i, v in enumerate(values)]
    # new records are appended after the last complete batch, and are readable
    log2 = DeliveryLog()
    p2 = producer(b.bootstrap, acks="all")
    for i in range(5):
        p2.produce(t, partition=0, value=b"new-%d" % i, on_delivery=log2)
    flush_all(p2, log2, expected=5)
    assert sorted(m.offset() for m in log2.ok) == [100, 101, 102, 103, 104]
    msgs = consume(b.bootstrap, t, 105)
    assert len(msgs) == 105
    assert [m.value() for m in msgs[100:]] == [b"new-%d" % i for i in range(5)]
    # and a second (crash) restart over the recovered log is clean
    b.restart(hard=True)
    assert watermarks(b.bootstrap, t) == (0, 105)
    assert [m.value() for m in consume(b.bootstrap, t, 105)] == values + [b"new-%d" % i for i in range(5)]
