"""confluent-kafka (librdkafka) producer, consumer (manual assignment) and AdminClient."""
from __future__ import annotations

import random
import time

import pytest
from confluent_kafka import (OFFSET_END, TIMESTAMP_CREATE_TIME, TIMESTAMP_LOG_APPEND_TIME,
                             KafkaError, KafkaException, TopicPartition)
from confluent_kafka.admin import (AlterConfigOpType, ConfigEntry, ConfigResource, ConfigSource, NewPartitions,
                                   NewTopic, OffsetSpec)

from clients import (DeliveryLog, admin, consume, consumer, create_topic, error_code, flush_all, produce_values,
                     producer, _produce)
import wire
from conftest import unique_topic

# Kafka error codes
UNKNOWN_TOPIC_OR_PARTITION = 3
MESSAGE_TOO_LARGE = 10
TOPIC_ALREADY_EXISTS = 36
INVALID_PARTITIONS = 37
INVALID_REPLICATION_FACTOR = 38
INVALID_CONFIG = 40
INVALID_TOPIC_EXCEPTION = 17


def values_of(msgs):
    return [m.value() for m in msgs]


# ----------------------------------------------------------------------------- produce / consume


def test_keys_headers_nulls_empties(broker):
    t = unique_topic("ck-kv")
    cases = [
        (b"k1", b"v1", None),
        (None, b"no-key", None),
        (b"null-value", None, None),
        (b"", b"", None),  # empty key, empty value: not null
        (b"k-hdr", b"with headers", [("h1", b"a"), ("h2", b""), ("h1", b"dup"), ("nullh", None), ("ü", b"\x00\xff")]),
        (None, None, None),
    ]
    p = producer(broker.bootstrap)
    log = DeliveryLog()
    for k, v, h in cases:
        p.produce(t, key=k, value=v, headers=h, partition=0, on_delivery=log)
    flush_all(p, log, expected=len(cases))
    assert [m.offset() for m in log.ok] == list(range(len(cases)))
    msgs = consume(broker.bootstrap, t, len(cases))
    assert len(msgs) == len(cases), f"expected {len(cases)} records, got {len(msgs)}"
    for m, (k, v, h) in zip(msgs, cases):
        assert m.key() == k, (m.offset(), m.key(), k)
        assert m.value() == v, (m.offset(), m.value(), v)
        got_h = m.headers()
        if h is None:
            assert not got_h, (m.offset(), got_h)
        else:
            assert got_h == h, (m.offset(), got_h, h)
        assert m.timestamp()[0] == TIMESTAMP_CREATE_TIME


def test_large_values_near_1mb(broker):
    t = unique_topic("ck-large")
    rnd = random.Random(1)
    big = [rnd.randbytes(990_000), b"x" * 999_000, rnd.randbytes(500_000)]
    produce_values(broker.bootstrap, t, big, partition=0, **{"message.max.bytes": 1_000_000})
    msgs = consume(broker.bootstrap, t, len(big))
    assert len(msgs) == 3
    for i, (m, v) in enumerate(zip(msgs, big)):
        assert m.offset() == i
        assert len(m.value()) == len(v) and m.value() == v, f"record {i} differs"


def test_record_above_topic_max_message_bytes_rejected(broker):
    t = unique_topic("ck-toolarge")
    create_topic(broker.bootstrap, t, config={"max.message.bytes": "10000"})
    p = producer(broker.bootstrap, **{"compression.type": "none", "message.max.bytes": 5_000_000})
    log = DeliveryLog()
    p.produce(t, value=b"a" * 50_000, partition=0, on_delivery=log)
    p.produce(t, value=b"small", partition=0, on_delivery=log)
    assert p.flush(30) == 0
    # librdkafka sends the two records as separate batches only if the first is alone; either
    # way the big one must fail with MSG_SIZE_TOO_LARGE and nothing big may be stored.
    assert log.errors, "a 50 KB record was accepted by a topic with max.message.bytes=10000"
    err, msg = log.errors[0]
    assert err.code() == KafkaError.MSG_SIZE_TOO_LARGE, err
    c = consumer(broker.bootstrap)
    lo, hi = c.get_watermark_offsets(TopicPartition(t, 0), timeout=10)
    c.close()
    stored = consume(broker.bootstrap, t, hi, extra_wait=0) if hi else []
    assert all(len(m.value()) < 10000 for m in stored), [len(m.value()) for m in stored]


def test_many_records_exact(broker):
    t = unique_topic("ck-many")
    n = 20_000
    values = [b"%08d:" % i + b"p" * (i % 97) for i in range(n)]
    log = produce_values(broker.bootstrap, t, values, partition=0,
                         **{"linger.ms": 20, "batch.num.messages": 2000, "queue.buffering.max.messages": 100000})
    assert sorted(m.offset() for m in log.ok) == list(range(n))
    msgs = consume(broker.bootstrap, t, n, timeout=40)
    assert len(msgs) == n, f"expected {n}, got {len(msgs)} (duplicates?)"
    assert [m.offset() for m in msgs] == list(range(n))
    assert values_of(msgs) == values


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_compression_roundtrip(broker, codec):
    t = unique_topic(f"ck-{codec}")
    rnd = random.Random(codec)
    values = []
    for i in range(3000):
        if i % 10 == 0:
            values.append(rnd.randbytes(rnd.randrange(0, 2000)))  # incompressible
        else:
            values.append((f"{codec} record {i} " * (1 + i % 20)).encode())
    keys = [b"key-%d" % (i % 37) if i % 5 else None for i in range(len(values))]
    p = producer(broker.bootstrap, **{"compression.type": codec, "linger.ms": 50, "batch.num.messages": 1000})
    log = DeliveryLog()
    for i, (k, v) in enumerate(zip(keys, values)):
        _produce(p, t, key=k, value=v, partition=0, headers=[("i", b"%d" % i)], on_delivery=log)
    flush_all(p, log, expected=len(values))
    msgs = consume(broker.bootstrap, t, len(values))
    assert len(msgs) == len(values)
    for i, m in enumerate(msgs):
        assert (m.offset(), m.key(), m.value(), m.headers()) == (i, keys[i], values[i], [("i", b"%d" % i)]), \
            f"record {i} differs"


def test_idempotent_producer_no_duplicates(broker):
    t = unique_topic("ck-idem")
    create_topic(broker.bootstrap, t, partitions=3)
    p = producer(broker.bootstrap, **{"enable.idempotence": True, "linger.ms": 2,
                                     "max.in.flight.requests.per.connection": 5})
    log = DeliveryLog()
    n = 6000
    for i in range(n):
        _produce(p, t, key=b"k%d" % (i % 50), value=b"%d" % i, on_delivery=log)
    flush_all(p, log, expected=n)
    msgs = consume(broker.bootstrap, t, n, partitions=(0, 1, 2))
    assert len(msgs) == n, f"expected {n} records, got {len(msgs)}"
    vals = [int(m.value()) for m in msgs]
    assert sorted(vals) == list(range(n)), "missing or duplicate records"
    # per-key order preserved
    per_key = {}
    for m in msgs:
        per_key.setdefault(m.key(), []).append(int(m.value()))
    for k, vs in per_key.items():
        assert vs == sorted(vs), f"key {k} out of order"


def test_init_producer_id_distinct(broker):
    """Two idempotent producers each get a producer id and both succeed on the same partition."""
    t = unique_topic("ck-pid")
    logs = []
    for j in range(2):
        p = producer(broker.bootstrap, **{"enable.idempotence": True})
        log = DeliveryLog()
        for i in range(100):
            p.produce(t, partition=0, value=b"%d-%d" % (j, i), on_delivery=log)
        flush_all(p, log, expected=100)
        logs.append(log)
    msgs = consume(broker.bootstrap, t, 200)
    assert values_of(msgs) == [b"%d-%d" % (j, i) for j in range(2) for i in range(100)]


@pytest.mark.parametrize("acks", ["0", "1", "all"])
def test_acks(broker, acks):
    t = unique_topic(f"ck-acks{acks}")
    create_topic(broker.bootstrap, t)
    values = [b"acks-%s-%d" % (acks.encode(), i) for i in range(500)]
    log = produce_values(broker.bootstrap, t, values, partition=0, acks=acks)
    if acks != "0":
        assert [m.offset() for m in log.ok] == list(range(len(values)))
    msgs = consume(broker.bootstrap, t, len(values))
    assert values_of(msgs) == values


def _murmur2(data: bytes) -> int:
    """Kafka's (Java client's) murmur2, as librdkafka's `murmur2` partitioner."""
    length = len(data)
    seed, m, r = 0x9747B28C, 0x5BD1E995, 24
    h = (seed ^ length) & 0xFFFFFFFF
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    rem = length % 4
    tail = length - rem
    if rem == 3:
        h ^= data[tail + 2] << 16
    if rem >= 2:
        h ^= data[tail + 1] << 8
    if rem >= 1:
        h ^= data[tail]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


def test_key_partitioning_stable(broker):
    t = unique_topic("ck-keys")
    nparts = 6
    create_topic(broker.bootstrap, t, partitions=nparts)
    keys = [b"customer-%d" % i for i in range(200)]
    placed = {}
    for round_ in range(2):  # two producer instances: same key -> same partition
        p = producer(broker.bootstrap, partitioner="murmur2")
        log = DeliveryLog()
        for k in keys:
            p.produce(t, key=k, value=b"%d" % round_, on_delivery=log)
        flush_all(p, log, expected=len(keys))
        for m in log.ok:
            placed.setdefault(m.key(), set()).add(m.partition())
    for k in keys:
        assert placed[k] == {(_murmur2(k) & 0x7FFFFFFF) % nparts}, (k, placed[k])
    msgs = consume(broker.bootstrap, t, 2 * len(keys), partitions=range(nparts))
    assert len(msgs) == 2 * len(keys)
    for m in msgs:
        assert m.partition() == (_murmur2(m.key()) & 0x7FFFFFFF) % nparts
    used = {m.partition() for m in msgs}
    assert len(used) == nparts, f"200 keys landed in only {sorted(used)}"


def test_many_partitions(broker):
    t = unique_topic("ck-64p")
    nparts, per = 64, 25
    create_topic(broker.bootstrap, t, partitions=nparts)
    md = admin(broker.bootstrap).list_topics(t, timeout=10)
    assert len(md.topics[t].partitions) == nparts
    p = producer(broker.bootstrap)
    log = DeliveryLog()
    for i in range(per):
        for part in range(nparts):
            p.produce(t, partition=part, value=b"%d/%d" % (part, i), on_delivery=log)
    flush_all(p, log, expected=nparts * per)
    msgs = consume(broker.bootstrap, t, nparts * per, partitions=range(nparts))
    assert len(msgs) == nparts * per
    by_part = {}
    for m in msgs:
        by_part.setdefault(m.partition(), []).append((m.offset(), m.value()))
    assert by_part == {part: [(i, b"%d/%d" % (part, i)) for i in range(per)] for part in range(nparts)}


# ----------------------------------------------------------------------------- offsets / time travel


def test_watermarks_earliest_latest(broker):
    t = unique_topic("ck-wm")
    create_topic(broker.bootstrap, t)
    c = consumer(broker.bootstrap)
    try:
        assert c.get_watermark_offsets(TopicPartition(t, 0), timeout=10) == (0, 0)
        produce_values(broker.bootstrap, t, [b"a", b"b", b"c"], partition=0)
        assert c.get_watermark_offsets(TopicPartition(t, 0), timeout=10) == (0, 3)
        produce_values(broker.bootstrap, t, [b"d"] * 7, partition=0, **{"compression.type": "gzip"})
        assert c.get_watermark_offsets(TopicPartition(t, 0), timeout=10) == (0, 10)
    finally:
        c.close()


def test_offsets_for_times(broker):
    t = unique_topic("ck-ts")
    base = int(time.time() * 1000) - 2 * 3_600_000
    p = producer(broker.bootstrap, **{"linger.ms": 0})
    log = DeliveryLog()
    for i in range(50):
        p.produce(t, partition=0, value=b"v%d" % i, timestamp=base + i * 1000, on_delivery=log)
        if i % 10 == 9:
            p.flush(10)  # several batches, so the lookup crosses batch boundaries
    flush_all(p, log, expected=50)
    c = consumer(broker.bootstrap)
    try:
        def lookup(ts):
            (tp,) = c.offsets_for_times([TopicPartition(t, 0, ts)], timeout=10)
            assert tp.error is None, tp.error
            return tp.offset

        assert lookup(base - 1) == 0
        assert lookup(base) == 0
        assert lookup(base + 1) == 1
        assert lookup(base + 17_000) == 17
        assert lookup(base + 17_001) == 18
        assert lookup(base + 49_000) == 49
        assert lookup(base + 49_001) in (-1, OFFSET_END), "no record at/after ts: expected -1 (end)"
        # consume from a looked-up offset: time travel
        off = lookup(base + 30_500)
        msgs = consume(broker.bootstrap, t, 50 - off, start=off)
        assert [(m.offset(), m.timestamp(), m.value()) for m in msgs] == \
            [(i, (TIMESTAMP_CREATE_TIME, base + i * 1000), b"v%d" % i) for i in range(31, 50)]
    finally:
        c.close()


def test_list_offsets_admin_specs(broker):
    t = unique_topic("ck-lo")
    base = int(time.time() * 1000) - 3_600_000
    ts = [base + 5000, base + 1000, base + 9000, base + 3000, base + 7000]  # max at offset 2
    p = producer(broker.bootstrap, **{"linger.ms": 0})
    log = DeliveryLog()
    for i, x in enumerate(ts):
        p.produce(t, partition=0, value=b"%d" % i, timestamp=x, on_delivery=log)
        p.flush(10)
    flush_all(p, log, expected=len(ts))
    a = admin(broker.bootstrap)
    tp = TopicPartition(t, 0)

    def offset(spec):
        res = a.list_offsets({tp: spec}, request_timeout=10)
        return res[tp].result(timeout=10)

    assert offset(OffsetSpec.earliest()).offset == 0
    assert offset(OffsetSpec.latest()).offset == 5
    mx = offset(OffsetSpec.max_timestamp())
    assert (mx.offset, mx.timestamp) == (2, base + 9000)
    by_ts = offset(OffsetSpec.for_timestamp(base + 6000))
    # first offset whose timestamp >= base+6000 is offset 2 (9000)
    assert by_ts.offset == 2, by_ts


def test_log_append_time_topic(broker):
    t = unique_topic("ck-lat")
    create_topic(broker.bootstrap, t, config={"message.timestamp.type": "LogAppendTime"})
    before = int(time.time() * 1000)
    p = producer(broker.bootstrap)
    log = DeliveryLog()
    for i in range(5):
        p.produce(t, partition=0, value=b"%d" % i, timestamp=1_000_000_000_000 + i, on_delivery=log)
    flush_all(p, log, expected=5)
    after = int(time.time() * 1000)
    for m in log.ok:
        tstype, tsv = m.timestamp()
        assert tstype == TIMESTAMP_LOG_APPEND_TIME, f"delivery report timestamp type {tstype}"
        assert before - 5 <= tsv <= after + 5, (before, tsv, after)
    msgs = consume(broker.bootstrap, t, 5)
    for m in msgs:
        tstype, tsv = m.timestamp()
        assert tstype == TIMESTAMP_LOG_APPEND_TIME, f"consumed record timestamp type {tstype} ({tsv})"
        assert before - 5 <= tsv <= after + 5, f"broker time {tsv} not within [{before}, {after}]"
    # CreateTime topics keep the producer's timestamp
    t2 = unique_topic("ck-ct")
    create_topic(broker.bootstrap, t2, config={"message.timestamp.type": "CreateTime"})
    p.produce(t2, partition=0, value=b"x", timestamp=1_600_000_000_000)
    flush_all(p)
    (m,) = consume(broker.bootstrap, t2, 1)
    assert m.timestamp() == (TIMESTAMP_CREATE_TIME, 1_600_000_000_000)


def test_long_poll_wakes_on_produce(broker):
    t = unique_topic("ck-lp")
    create_topic(broker.bootstrap, t)
    p = producer(broker.bootstrap, **{"linger.ms": 0})
    p.list_topics(t, timeout=10)  # warm metadata and connection
    c = consumer(broker.bootstrap, **{"fetch.wait.max.ms": 10000, "fetch.min.bytes": 1})
    try:
        c.assign([TopicPartition(t, 0, 0)])
        assert c.poll(1.0) is None  # the consumer is now parked in a long poll on an empty partition
        sent_at = time.monotonic()
        p.produce(t, partition=0, value=b"wake")
        p.poll(0)
        got, received_at = None, None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            m = c.poll(0.1)
            if m is not None:
                assert not m.error(), m.error()
                got, received_at = m, time.monotonic()
                break
        flush_all(p)
        assert got is not None, "record never arrived"
        assert got.value() == b"wake"
        latency = received_at - sent_at
        assert latency < 3.0, f"long poll not woken by produce: record arrived after {latency:.2f}s (max wait 10s)"
    finally:
        c.close()


# ----------------------------------------------------------------------------- AdminClient


def _create(a, *topics, validate_only=False):
    fs = a.create_topics(list(topics), operation_timeout=10, request_timeout=15, validate_only=validate_only)
    out = {}
    for name, f in fs.items():
        try:
            f.result(timeout=15)
            out[name] = None
        except KafkaException as e:
            out[name] = error_code(e)
    return out


def _topic_names(broker):
    # All-topics listing via a raw Metadata v1 request (no auto-creation); the librdkafka
    # all-topics path is covered by test_describe_cluster_and_list_topics.
    return set(wire.all_topics(broker.port))


def test_create_topics_and_errors(broker):
    a = admin(broker.bootstrap)
    t1, t2, t3 = unique_topic("ad-c"), unique_topic("ad-c"), unique_topic("ad-v")
    res = _create(a, NewTopic(t1, 3, 1), NewTopic(t2, 1, 1, config={"retention.ms": "60000"}))
    assert res == {t1: None, t2: None}
    topics = wire.all_topics(broker.port)
    assert (topics.get(t1), topics.get(t2)) == (3, 1)
    # already exists
    assert _create(a, NewTopic(t1, 3, 1)) == {t1: TOPIC_ALREADY_EXISTS}
    # validate_only: success, but nothing is created
    assert _create(a, NewTopic(t3, 2, 1), validate_only=True) == {t3: None}
    assert t3 not in _topic_names(broker), "validate_only created the topic"
    # validate_only still validates
    assert _create(a, NewTopic(t3, 2, 1, config={"no.such.config": "1"}), validate_only=True) == {t3: INVALID_CONFIG}
    # bad configs
    bad = unique_topic("ad-bad")
    assert _create(a, NewTopic(bad, 1, 1, config={"no.such.config": "1"})) == {bad: INVALID_CONFIG}
    assert _create(a, NewTopic(bad, 1, 1, config={"retention.ms": "soon"})) == {bad: INVALID_CONFIG}
    assert _create(a, NewTopic(bad, 1, 1, config={"cleanup.policy": "shred"})) == {bad: INVALID_CONFIG}
    assert _create(a, NewTopic(bad, 1, 1, config={"message.timestamp.type": "WallClock"})) == {bad: INVALID_CONFIG}
    assert bad not in _topic_names(broker)
    # bad partition count / replication factor
    assert _create(a, NewTopic(bad, 0, 1)) == {bad: INVALID_PARTITIONS}
    assert _create(a, NewTopic(bad, 1, 3)) == {bad: INVALID_REPLICATION_FACTOR}
    # invalid names
    assert _create(a, NewTopic("bad/name", 1, 1)) == {"bad/name": INVALID_TOPIC_EXCEPTION}
    assert _create(a, NewTopic("x" * 250, 1, 1)) == {"x" * 250: INVALID_TOPIC_EXCEPTION}
    assert bad not in _topic_names(broker)


def _describe(a, name):
    res = ConfigResource("topic", name)
    return a.describe_configs([res], request_timeout=10)[res].result(timeout=10)


def test_describe_configs(broker):
    a = admin(broker.bootstrap)
    t = unique_topic("ad-dc")
    assert _create(a, NewTopic(t, 1, 1, config={"retention.ms": "123456", "cleanup.policy": "compact"})) == {t: None}
    cfg = _describe(a, t)
    for key in ["cleanup.policy", "retention.ms", "retention.bytes", "segment.bytes", "segment.ms",
                "max.message.bytes", "message.timestamp.type", "index.interval.bytes"]:
        assert key in cfg, f"{key} missing from DescribeConfigs ({sorted(cfg)})"
    assert cfg["retention.ms"].value == "123456"
    src = cfg["retention.ms"].source
    assert getattr(src, "value", src) == ConfigSource.DYNAMIC_TOPIC_CONFIG.value, src
    assert not cfg["retention.ms"].is_default
    assert cfg["cleanup.policy"].value == "compact"
    assert cfg["retention.bytes"].value == "-1"
    assert cfg["retention.bytes"].is_default
    assert cfg["message.timestamp.type"].value == "CreateTime"
    # unknown topic
    res = ConfigResource("topic", unique_topic("ad-none"))
    with pytest.raises(KafkaException) as ei:
        a.describe_configs([res], request_timeout=10)[res].result(timeout=10)
    assert error_code(ei.value) == UNKNOWN_TOPIC_OR_PARTITION


def test_alter_configs_replaces_whole_set(broker):
    a = admin(broker.bootstrap)
    t = unique_topic("ad-ac")
    assert _create(a, NewTopic(t, 1, 1, config={"retention.ms": "1000000", "segment.ms": "3600000"})) == {t: None}
    res = ConfigResource("topic", t, set_config={"retention.bytes": "1048576"})
    a.alter_configs([res], request_timeout=10)[res].result(timeout=10)
    cfg = _describe(a, t)
    assert cfg["retention.bytes"].value == "1048576"
    # legacy AlterConfigs replaces the topic's whole override set
    assert cfg["retention.ms"].is_default and cfg["retention.ms"].value == "604800000", cfg["retention.ms"]
    assert cfg["segment.ms"].is_default, cfg["segment.ms"]
    bad = ConfigResource("topic", t, set_config={"bogus.key": "1"})
    with pytest.raises(KafkaException) as ei:
        a.alter_configs([bad], request_timeout=10)[bad].result(timeout=10)
    assert error_code(ei.value) == INVALID_CONFIG
    assert _describe(a, t)["retention.bytes"].value == "1048576", "a failed AlterConfigs changed the topic"


def test_incremental_alter_configs(broker):
    a = admin(broker.bootstrap)
    t = unique_topic("ad-iac")
    assert _create(a, NewTopic(t, 1, 1, config={"retention.ms": "1000000", "segment.ms": "3600000"})) == {t: None}
    res = ConfigResource("topic", t, incremental_configs=[
        ConfigEntry("retention.ms", "5000", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("segment.ms", None, incremental_operation=AlterConfigOpType.DELETE),
        ConfigEntry("message.timestamp.type", "LogAppendTime", incremental_operation=AlterConfigOpType.SET),
    ])
    a.incremental_alter_configs([res], request_timeout=10)[res].result(timeout=10)
    cfg = _describe(a, t)
    assert cfg["retention.ms"].value == "5000"
    assert cfg["segment.ms"].is_default and cfg["segment.ms"].value == "604800000", cfg["segment.ms"]
    assert cfg["message.timestamp.type"].value == "LogAppendTime"
    for entry in [ConfigEntry("retention.ms", "abc", incremental_operation=AlterConfigOpType.SET),
                  ConfigEntry("not.a.config", "1", incremental_operation=AlterConfigOpType.SET)]:
        bad = ConfigResource("topic", t, incremental_configs=[entry])
        with pytest.raises(KafkaException) as ei:
            a.incremental_alter_configs([bad], request_timeout=10)[bad].result(timeout=10)
        assert error_code(ei.value) == INVALID_CONFIG, (entry, ei.value)
    assert _describe(a, t)["retention.ms"].value == "5000"
    # the new timestamp type takes effect
    p = producer(broker.bootstrap)
    p.produce(t, partition=0, value=b"x", timestamp=1_000_000_000_000)
    flush_all(p)
    (m,) = consume(broker.bootstrap, t, 1)
    assert m.timestamp()[0] == TIMESTAMP_LOG_APPEND_TIME


def test_create_partitions(broker):
    a = admin(broker.bootstrap)
    t = unique_topic("ad-cp")
    assert _create(a, NewTopic(t, 2, 1)) == {t: None}
    produce_values(broker.bootstrap, t, [b"before"], partition=1)
    fs = a.create_partitions([NewPartitions(t, 5)], request_timeout=10, validate_only=True)
    fs[t].result(timeout=10)
    assert len(a.list_topics(t, timeout=10).topics[t].partitions) == 2, "validate_only added partitions"
    fs = a.create_partitions([NewPartitions(t, 5)], request_timeout=10)
    fs[t].result(timeout=10)
    assert len(a.list_topics(t, timeout=10).topics[t].partitions) == 5
    for bad_count in (5, 3):  # not an increase
        fs = a.create_partitions([NewPartitions(t, bad_count)], request_timeout=10)
        with pytest.raises(KafkaException) as ei:
            fs[t].result(timeout=10)
        assert error_code(ei.value) == INVALID_PARTITIONS
    unknown = unique_topic("ad-cpx")
    fs = a.create_partitions([NewPartitions(unknown, 3)], request_timeout=10)
    with pytest.raises(KafkaException) as ei:
        fs[unknown].result(timeout=10)
    assert error_code(ei.value) == UNKNOWN_TOPIC_OR_PARTITION
    # new partitions work, the old data is still there
    produce_values(broker.bootstrap, t, [b"new"], partition=4)
    assert values_of(consume(broker.bootstrap, t, 1, partitions=(4,))) == [b"new"]
    assert values_of(consume(broker.bootstrap, t, 1, partitions=(1,))) == [b"before"]


def test_delete_topics(broker):
    a = admin(broker.bootstrap)
    t = unique_topic("ad-del")
    assert _create(a, NewTopic(t, 2, 1)) == {t: None}
    produce_values(broker.bootstrap, t, [b"doomed"] * 3, partition=0)
    fs = a.delete_topics([t], operation_timeout=10, request_timeout=15)
    fs[t].result(timeout=15)
    assert t not in _topic_names(broker)
    # deleting again / an unknown topic
    fs = a.delete_topics([t], operation_timeout=10, request_timeout=15)
    with pytest.raises(KafkaException) as ei:
        fs[t].result(timeout=15)
    assert error_code(ei.value) == UNKNOWN_TOPIC_OR_PARTITION
    # re-created topic starts empty
    assert _create(a, NewTopic(t, 1, 1)) == {t: None}
    c = consumer(broker.bootstrap)
    try:
        assert c.get_watermark_offsets(TopicPartition(t, 0), timeout=10) == (0, 0)
    finally:
        c.close()


def test_describe_cluster_and_list_topics(broker):
    a = admin(broker.bootstrap)
    desc = a.describe_cluster(request_timeout=10).result(timeout=10)
    assert desc.cluster_id, "empty cluster id"
    assert len(desc.nodes) == 1
    node = desc.nodes[0]
    assert (node.host, node.port) == ("127.0.0.1", broker.port)
    assert desc.controller is not None and desc.controller.id == node.id
    t = unique_topic("ad-lt")
    assert _create(a, NewTopic(t, 4, 1)) == {t: None}
    md = a.list_topics(timeout=10)
    assert md.cluster_id == desc.cluster_id
    assert [b.id for b in md.brokers.values()] == [node.id]
    tm = md.topics[t]
    assert tm.error is None
    assert sorted(tm.partitions) == [0, 1, 2, 3]
    for p in tm.partitions.values():
        assert p.leader == node.id and p.replicas == [node.id] and p.isrs == [node.id]


def test_describe_topics(broker):
    from confluent_kafka import TopicCollection

    a = admin(broker.bootstrap)
    t = unique_topic("ad-dt")
    assert _create(a, NewTopic(t, 3, 1)) == {t: None}
    fs = a.describe_topics(TopicCollection([t]), request_timeout=10)
    d = fs[t].result(timeout=10)
    assert d.name == t
    assert [p.id for p in d.partitions] == [0, 1, 2]
    assert all(p.leader is not None for p in d.partitions)


@pytest.mark.riverbank_only
def test_auto_create_on_metadata_default_one_partition(broker):
    t = unique_topic("auto")
    p = producer(broker.bootstrap)
    log = DeliveryLog()
    p.produce(t, value=b"auto-created", on_delivery=log)
    flush_all(p, log, expected=1)
    md = admin(broker.bootstrap).list_topics(t, timeout=10)
    assert len(md.topics[t].partitions) == 1
    assert values_of(consume(broker.bootstrap, t, 1)) == [b"auto-created"]
