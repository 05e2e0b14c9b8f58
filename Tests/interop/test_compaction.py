"""Log compaction (cleanup.policy=compact and compact,delete) with real clients: the latest value
per key survives, tombstones go after delete.retention.ms, retention still applies to
compact,delete, idempotent retries are recognised after cleaning, keyless records are refused,
and a kill -9 loop while the cleaner works loses nothing and duplicates nothing."""
from __future__ import annotations

import os
import random
import socket
import struct
import time
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

import wire
from clients import DeliveryLog, _produce, consumer, create_topic, flush_all, producer
from conftest import unique_topic, wait_for

pytestmark = [pytest.mark.riverbank_only, pytest.mark.deadline(180)]

# A cleaner that looks often, so tests do not wait out Kafka's 15 s backoff.
FAST_CLEANER = {"RIVERBANK_LOG_CLEANER_BACKOFF_MS": "100", "RIVERBANK_RETENTION_CHECK_INTERVAL_MS": "300"}

COMPACT = {"cleanup.policy": "compact", "segment.bytes": "262144", "min.cleanable.dirty.ratio": "0.01",
           "segment.ms": "1000"}


def read_all(bootstrap: str, topic: str, partition: int = 0, timeout: float = 30.0):
    """Every record from the log start to the high watermark, with librdkafka. The last record
    is always there (the cleaner never touches the active segment), so reaching it means done."""
    c = consumer(bootstrap, **{"auto.offset.reset": "earliest", "fetch.wait.max.ms": 50})
    try:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        if hi <= lo:
            return []
        c.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
        out = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (not out or out[-1].offset() < hi - 1):
            for m in c.consume(num_messages=10000, timeout=0.1):
                assert m.error() is None, m.error()
                out.append(m)
        assert out and out[-1].offset() >= hi - 1, f"read {len(out)} records, not up to offset {hi - 1}"
        return out
    finally:
        c.close()


def roll(bootstrap: str, topic: str, wait: float = 1.2):
    """segment.ms passed: one more record rolls the active segment, so every earlier record is
    in a closed segment the cleaner may clean."""
    time.sleep(wait)
    p = producer(bootstrap, acks="all")
    log = DeliveryLog()
    _produce(p, topic, partition=0, key=b"__roll", value=b"x", on_delivery=log)
    flush_all(p, log, expected=1)


def latest(msgs):
    out = {}
    for m in msgs:
        out[m.key()] = (m.offset(), m.value())
    return out


def test_latest_value_per_key_survives_real_clients(broker_factory):
    """10,000 keys updated 50 times each (lz4 batches from librdkafka); once cleaned, a fresh
    consumer — librdkafka and kafka-python — reads exactly one, the latest, value per key."""
    b = broker_factory(env=FAST_CLEANER)
    t = unique_topic("compact")
    create_topic(b.bootstrap, t, config={**COMPACT, "segment.bytes": "1048576"})
    keys, rounds = 10_000, 50
    p = producer(b.bootstrap, acks="all", **{"linger.ms": 20, "compression.type": "lz4", "batch.num.messages": 5000,
                                             "queue.buffering.max.messages": 200000})
    log = DeliveryLog()
    for r in range(rounds):
        for k in range(keys):
            _produce(p, t, partition=0, key=b"key-%05d" % k, value=b"v%02d-%05d" % (r, k), on_delivery=log)
        p.poll(0)
    flush_all(p, log, expected=keys * rounds, timeout=120)
    acked = latest(log.ok)
    roll(b.bootstrap, t)

    def cleaned():
        msgs = read_all(b.bootstrap, t)
        return msgs if len([m for m in msgs if m.key() != b"__roll"]) == keys else None

    msgs = wait_for(cleaned, timeout=90, interval=0.5, message="the cleaner to leave one record per key")
    data = [m for m in msgs if m.key() != b"__roll"]
    assert len({m.key() for m in data}) == keys
    assert {m.key(): (m.offset(), m.value()) for m in data} == acked
    assert all(m.value().startswith(b"v49-") for m in data)
    offsets = [m.offset() for m in msgs]
    assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)

    # kafka-python, a second independent client, sees the same.
    from kafka import KafkaConsumer, TopicPartition as KTP
    kc = KafkaConsumer(bootstrap_servers=b.bootstrap, enable_auto_commit=False, auto_offset_reset="earliest",
                       consumer_timeout_ms=3000, fetch_max_wait_ms=100)
    try:
        kc.assign([KTP(t, 0)])
        kc.seek_to_beginning()
        seen = {}
        for m in kc:
            seen[m.key] = (m.offset, m.value)
            if m.key == b"__roll":
                break
        seen.pop(b"__roll", None)
        assert seen == acked
    finally:
        kc.close()
    # The log really shrank: a new consumer reads about keys records, not keys * rounds.
    assert len(msgs) < keys + 100


def test_tombstones_go_after_delete_retention(broker_factory):
    b = broker_factory(env=FAST_CLEANER)
    t = unique_topic("tomb")
    create_topic(b.bootstrap, t, config={**COMPACT, "delete.retention.ms": "3000"})
    p = producer(b.bootstrap, acks="all")
    log = DeliveryLog()
    for k in range(200):
        _produce(p, t, partition=0, key=b"k%03d" % k, value=b"alive-%03d" % k, on_delivery=log)
    for k in range(0, 200, 2):
        _produce(p, t, partition=0, key=b"k%03d" % k, value=None, on_delivery=log)
    flush_all(p, log, expected=300)
    roll(b.bootstrap, t)

    # First the cleaner drops the values the tombstones replace, and keeps the tombstones.
    def first_pass():
        msgs = [m for m in read_all(b.bootstrap, t) if m.key() != b"__roll"]
        return msgs if len(msgs) == 200 else None

    msgs = wait_for(first_pass, timeout=30, interval=0.3, message="superseded values removed")
    tombstones = [m for m in msgs if m.value() is None]
    assert sorted(m.key() for m in tombstones) == [b"k%03d" % k for k in range(0, 200, 2)]
    first_seen = time.monotonic()

    # After delete.retention.ms they go too (the pass is forced by the horizon, nothing is dirty).
    def second_pass():
        msgs = [m for m in read_all(b.bootstrap, t) if m.key() != b"__roll"]
        return msgs if len(msgs) == 100 else None

    msgs = wait_for(second_pass, timeout=30, interval=0.3, message="tombstones removed")
    assert time.monotonic() - first_seen >= 2.0  # not before their horizon (3 s after the first pass)
    assert all(m.value() is not None for m in msgs)
    assert sorted(m.key() for m in msgs) == [b"k%03d" % k for k in range(1, 200, 2)]


def test_compact_delete_also_drops_old_segments(broker_factory):
    b = broker_factory(env=FAST_CLEANER)
    both, compact_only = unique_topic("cd"), unique_topic("c")
    create_topic(b.bootstrap, both, config={**COMPACT, "cleanup.policy": "compact,delete", "retention.ms": "2000"})
    create_topic(b.bootstrap, compact_only, config={**COMPACT, "retention.ms": "2000"})
    for t in (both, compact_only):
        p = producer(b.bootstrap, acks="all")
        log = DeliveryLog()
        for k in range(100):
            _produce(p, t, partition=0, key=b"old-%03d" % k, value=b"x" * 100, on_delivery=log)
        flush_all(p, log, expected=100)
        roll(b.bootstrap, t, wait=2.5)
    c = consumer(b.bootstrap)
    try:
        # compact,delete: segments older than retention.ms go, log start moves, old keys vanish.
        wait_for(lambda: c.get_watermark_offsets(TopicPartition(both, 0), timeout=5)[0] >= 100, timeout=20,
                 message="retention on compact,delete")
        # compact alone: retention.ms does not apply; every key is still there.
        assert c.get_watermark_offsets(TopicPartition(compact_only, 0), timeout=5)[0] == 0
    finally:
        c.close()
    assert {m.key() for m in read_all(b.bootstrap, both)} == {b"__roll"}
    keys = {m.key() for m in read_all(b.bootstrap, compact_only)}
    assert len([k for k in keys if k.startswith(b"old-")]) == 100


@pytest.mark.parametrize("client", ["confluent-kafka", "kafka-python"])
def test_keyless_records_refused_on_compacted_topic(broker, client):
    t = unique_topic("nokey")
    create_topic(broker.bootstrap, t, config={"cleanup.policy": "compact"})
    if client == "confluent-kafka":
        p = producer(broker.bootstrap, acks="all", retries=0)
        log = DeliveryLog()
        _produce(p, t, partition=0, value=b"no key", on_delivery=log)
        _produce(p, t, partition=0, key=b"k", value=b"keyed", on_delivery=log)
        p.flush(15)
        codes = sorted(e.code() for e, _ in log.errors)
        # librdkafka sends both in one batch: Kafka fails the whole batch with INVALID_RECORD.
        assert codes and set(codes) == {KafkaError.INVALID_RECORD}, log.errors
    else:
        from kafka import KafkaProducer
        from kafka.errors import InvalidRecordError
        kp = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", retries=0)
        try:
            with pytest.raises(InvalidRecordError):
                kp.send(t, partition=0, value=b"no key").get(timeout=15)
            assert kp.send(t, partition=0, key=b"k", value=b"keyed").get(timeout=15).offset == 0
        finally:
            kp.close()
    # A raw Produce v9 names the keyless record.
    batch = wire.record_batch([(b"k", b"v", ()), (None, b"x", ())])
    s = wire.connect(broker.port)
    try:
        _, parts = wire.decode_produce_v9(wire.roundtrip(s, wire.produce_v9_request(7, {t: {0: batch}})))
    finally:
        s.close()
    r = parts[(t, 0)]
    assert r["error_code"] == 87  # INVALID_RECORD
    assert [i for i, _ in r["record_errors"]] == [1]
    assert "without key" in r["error_message"]


# ----------------------------------------------------------------------------- idempotence

def init_producer_id(port: int) -> tuple[int, int]:
    body = b"\x00" + struct.pack(">iqh", 60000, -1, -1) + wire.TAGS_NONE  # v4: null transactional id
    s = wire.connect(port)
    try:
        r = wire.Reader(wire.roundtrip(s, wire.header_v2(22, 4, 3) + body))
    finally:
        s.close()
    r.i32()
    r.skip_tags()
    r.i32()  # throttle
    assert r.i16() == 0
    return r.i64(), r.i16()


def produce_raw(port: int, topic: str, batch: bytes):
    s = wire.connect(port)
    try:
        _, parts = wire.decode_produce_v9(wire.roundtrip(s, wire.produce_v9_request(11, {topic: {0: batch}})))
    finally:
        s.close()
    return parts[(topic, 0)]


def test_idempotent_retry_after_cleaning_is_deduplicated(broker_factory):
    """An idempotent producer's last batch is superseded and cleaned away; after a kill -9 and a
    restart that must rebuild producer state from the (cleaned) log alone, a retry of that batch
    is still answered as a duplicate with its original offset, and the next sequence is accepted."""
    b = broker_factory(env=FAST_CLEANER)
    t = unique_topic("idem")
    create_topic(b.bootstrap, t, config=COMPACT)
    pid, epoch = init_producer_id(b.port)
    last = wire.record_batch([(b"shared", b"from-idempotent-1", ())], producer_id=pid, producer_epoch=epoch, base_sequence=1)
    assert produce_raw(b.port, t, wire.record_batch([(b"shared", b"from-idempotent-0", ())], producer_id=pid,
                                                    producer_epoch=epoch, base_sequence=0))["error_code"] == 0
    first = produce_raw(b.port, t, last)
    assert first["error_code"] == 0
    # A plain producer overwrites the key, so the idempotent producer's records are all superseded.
    p = producer(b.bootstrap, acks="all")
    log = DeliveryLog()
    for i in range(50):
        _produce(p, t, partition=0, key=b"shared", value=b"plain-%d" % i, on_delivery=log)
    flush_all(p, log, expected=50)
    roll(b.bootstrap, t)
    wait_for(lambda: len(read_all(b.bootstrap, t)) <= 3, timeout=30, interval=0.3, message="cleaning")
    assert [m.value() for m in read_all(b.bootstrap, t) if m.key() == b"shared"] == [b"plain-49"]

    b.kill9()
    part = b.data_dir / f"{t}-0"
    for snap in part.glob("*.snapshot"):
        snap.unlink()  # force the rebuild from the log itself
    b.start()
    again = produce_raw(b.port, t, last)
    assert again["error_code"] == 0 and again["base_offset"] == first["base_offset"], again
    nxt = produce_raw(b.port, t, wire.record_batch([(b"shared", b"from-idempotent-2", ())], producer_id=pid,
                                                   producer_epoch=epoch, base_sequence=2))
    assert nxt["error_code"] == 0 and nxt["base_offset"] > first["base_offset"]
    gap = produce_raw(b.port, t, wire.record_batch([(b"shared", b"gap", ())], producer_id=pid, producer_epoch=epoch,
                                                   base_sequence=9))
    assert gap["error_code"] == 45  # OUT_OF_ORDER_SEQUENCE_NUMBER
    values = [m.value() for m in read_all(b.bootstrap, t) if m.key() == b"shared"]
    assert values.count(b"from-idempotent-1") == 0 and values[-1] == b"from-idempotent-2"


# ----------------------------------------------------------------------------- kill -9 loop

@pytest.mark.deadline(300)
def test_kill9_loop_while_cleaning_loses_and_duplicates_nothing(broker_factory):
    """Each round writes new updates of 2,000 keys (incompressible values), rolls the segment so
    they become cleanable, and kills the broker with -9 at a random moment of the pass that
    follows; the cleaner is held to 1 MB/s so a pass takes seconds and the kills land in map
    building, rewriting and swapping. After every restart each acknowledged key's latest value is
    still there, offsets strictly increase, and no swap manifest is left behind; at the end the
    log holds exactly one record per key."""
    env = {**FAST_CLEANER, "RIVERBANK_LOG_CLEANER_IO_MAX_BYTES_PER_SECOND": "300000"}
    b = broker_factory(env=env)
    t = unique_topic("kill")
    # Small segments: a pass swaps many groups, so kills also land between and inside swaps.
    create_topic(b.bootstrap, t, config={**COMPACT, "segment.bytes": "65536"})
    rng = random.Random(1234)
    acked: dict[bytes, tuple[int, bytes]] = {}

    def write(tag: str):
        p = producer(b.bootstrap, acks="all", **{"linger.ms": 10, "compression.type": "zstd", "batch.size": 32768})
        log = DeliveryLog()
        for k in range(2000):
            _produce(p, t, partition=0, key=b"key-%04d" % k, value=b"%s-%d-" % (tag.encode(), k) + rng.randbytes(180),
                     on_delivery=log)
        flush_all(p, log, expected=2000, timeout=60)
        for m in log.ok:
            if m.key() not in acked or acked[m.key()][0] < m.offset():
                acked[m.key()] = (m.offset(), m.value())

    def check():
        msgs = read_all(b.bootstrap, t)
        offsets = [m.offset() for m in msgs]
        assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets), "offsets repeat or go back"
        got = latest(msgs)
        got.pop(b"__roll", None)
        assert got == acked, "an acknowledged latest value is missing or wrong"
        return msgs

    for i in range(8):
        write(f"r{i}")
        roll(b.bootstrap, t)
        time.sleep(rng.uniform(0.1, 5.0))
        b.kill9()
        b.start()
        check()

    # Let it finish: one record per key (an older __roll may stay: its latest is in the active segment).
    def done():
        data = [m for m in check() if m.key() != b"__roll"]
        return data if len(data) == 2000 else None

    data = wait_for(done, timeout=120, interval=1.0, message="cleaning to finish after the kill loop")
    assert len({m.key() for m in data}) == 2000
    assert all(m.value().startswith(b"r7-") for m in data)
    assert b.stop() == 0
    leftovers = [p.name for p in (b.data_dir / f"{t}-0").iterdir() if p.name.endswith((".swap", ".cleaned"))]
    assert not leftovers, leftovers


@pytest.mark.parametrize("point", ["cleaner-before-commit", "cleaner-after-commit", "cleaner-mid-rename",
                                   "cleaner-before-delete"])
def test_crash_at_each_step_of_a_swap(broker_factory, point):
    """The broker kills itself (SIGKILL) exactly at one step of its first segment swap; the next
    start finishes or discards that swap, and consumers see every key's latest value, once."""
    b = broker_factory(start=False, env={**FAST_CLEANER, "RIVERBANK_FAULT_INJECT": point})
    b.start()
    t = unique_topic("swap")
    create_topic(b.bootstrap, t, config={**COMPACT, "segment.bytes": "65536"})
    p = producer(b.bootstrap, acks="all", **{"batch.size": 32768})
    log = DeliveryLog()
    for r in range(5):
        for k in range(500):
            _produce(p, t, partition=0, key=b"key-%03d" % k, value=b"r%d-%03d-" % (r, k) + b"v" * 100, on_delivery=log)
    p.flush(30)
    acked = latest(log.ok)
    # On a slow run the cleaner's first swap — and the crash — can come while these are still
    # being produced: then what was acknowledged must survive, and a key may also show a later
    # record that was written but not acknowledged before the kill (as Kafka allows).
    died_early = bool(log.errors)
    assert died_early or len(log.ok) == 2500, f"expected 2500 delivery reports, got {len(log.ok)}"
    if b.alive():
        time.sleep(1.2)
        p2 = producer(b.bootstrap, acks="all", **{"message.timeout.ms": 3000})
        _produce(p2, t, partition=0, key=b"__roll", value=b"x")
        p2.flush(5)  # the broker may die before answering: that is the point
    assert b.wait_exit(30) == -9, "the broker did not reach the crash point"
    b.env.pop("RIVERBANK_FAULT_INJECT")
    b.start()
    # Past the commit point the swap is finished at open; before it, the old segments stand.
    assert ("finishing an interrupted cleaner swap" in b.stderr_text()) == (point != "cleaner-before-commit")
    roll(b.bootstrap, t)  # the crash may have come before the first roll

    def cleaned():
        msgs = read_all(b.bootstrap, t)
        got = latest(msgs)
        got.pop(b"__roll", None)
        if died_early:
            for k, (off, _) in acked.items():
                assert k in got and got[k][0] >= off, f"acknowledged {k!r}@{off} lost: {got.get(k)}"
        else:
            assert got == acked
        data = [m for m in msgs if m.key() != b"__roll"]
        return data if len(data) == len(got) else None

    wait_for(cleaned, timeout=60, interval=0.5, message="cleaning after the crash")
    assert b.stop() == 0
    part = b.data_dir / f"{t}-0"
    assert not [n.name for n in part.iterdir() if n.name.endswith((".swap", ".cleaned"))]
