"""Kafka behaviours librdkafka's own test suite found missing: an error partition in a Fetch
answer carries an empty record set (never null), so auto.offset.reset works from an
out-of-range position; the compression.type topic config re-compresses on append; deprecated
Kafka 3.x topic configs are accepted and ignored."""
from __future__ import annotations

import time

import pytest
from confluent_kafka import KafkaError, TopicPartition
from confluent_kafka.admin import ConfigResource, NewTopic

import wire
from clients import DeliveryLog, _produce, admin, consumer, create_topic, flush_all, produce_values, producer
from conftest import unique_topic

pytestmark = pytest.mark.riverbank_only


def test_fetch_error_partition_has_an_empty_record_set(broker):
    t = unique_topic("oor")
    create_topic(broker.bootstrap, t)
    produce_values(broker.bootstrap, t, [b"v%d" % i for i in range(20)], partition=0)
    s = wire.connect(broker.port)
    try:
        [(_, _, err, hw, start, length, _)] = wire.decode_fetch_v11(wire.roundtrip(s, wire.fetch_v11_request(5, t, 0, 25)))
        assert (err, hw, start, length) == (1, 20, 0, 0)  # OFFSET_OUT_OF_RANGE, records = empty, not null (-1)
        [(_, _, err, *_, length, _)] = wire.decode_fetch_v11(wire.roundtrip(s, wire.fetch_v11_request(6, t, 7, 0)))
        assert (err, length) == (3, 0)  # UNKNOWN_TOPIC_OR_PARTITION
        [(_, _, err, *_, length, _)] = wire.decode_fetch_v11(wire.roundtrip(s, wire.fetch_v11_request(7, "no-such-" + t, 0, 0)))
        assert (err, length) == (3, 0)
    finally:
        s.close()


@pytest.mark.parametrize("reset", ["earliest", "latest"])
def test_librdkafka_resets_an_out_of_range_position(broker, reset):
    """Assigned at offset 25 of a partition that ends at 20: librdkafka gets OFFSET_OUT_OF_RANGE
    and applies auto.offset.reset instead of re-fetching forever."""
    t = unique_topic(f"reset-{reset}")
    create_topic(broker.bootstrap, t)
    produce_values(broker.bootstrap, t, [b"old-%d" % i for i in range(20)], partition=0)
    c = consumer(broker.bootstrap, **{"auto.offset.reset": reset})
    try:
        c.assign([TopicPartition(t, 0, 25)])
        got = []
        start = time.monotonic()
        produced_new = False
        while time.monotonic() < start + 15 and len(got) < (20 if reset == "earliest" else 3):
            for m in c.consume(num_messages=100, timeout=0.2):
                assert m.error() is None, m.error()
                got.append((m.offset(), m.value()))
            # librdkafka resets within a fetch round trip; new records after that are the ones it reads.
            if reset == "latest" and not produced_new and time.monotonic() > start + 2:
                produce_values(broker.bootstrap, t, [b"new-%d" % i for i in range(3)], partition=0)
                produced_new = True
        if reset == "earliest":
            assert got[:20] == [(i, b"old-%d" % i) for i in range(20)]
        else:
            assert got == [(20 + i, b"new-%d" % i) for i in range(3)]
    finally:
        c.close()


@pytest.mark.parametrize("codec,attr", [("zstd", 4), ("gzip", 1), ("uncompressed", 0), ("lz4", 3)])
def test_compression_type_recompresses_on_append(broker, codec, attr):
    t = unique_topic(f"ct-{codec}")
    create_topic(broker.bootstrap, t, config={"compression.type": codec})
    # The producer compresses with snappy (or none for the uncompressed case): the broker re-compresses.
    producer_codec = "snappy" if codec == "uncompressed" else "none"
    p = producer(broker.bootstrap, acks="all", **{"compression.type": producer_codec, "linger.ms": 20})
    log = DeliveryLog()
    for i in range(500):
        _produce(p, t, partition=0, key=b"k%d" % i, value=b"value-%04d " % i * 4, headers=[("h", b"%d" % i)], on_delivery=log)
    flush_all(p, log, expected=500)
    s = wire.connect(broker.port)
    try:
        [(_, _, err, hw, *_, records)] = wire.decode_fetch_v11(wire.roundtrip(s, wire.fetch_v11_request(9, t, 0, 0, max_bytes=8 << 20)))
    finally:
        s.close()
    assert err == 0 and hw == 500
    assert {a & 0x07 for a in wire.batch_attributes(records)} == {attr}
    # Every client still reads the records exactly.
    c = consumer(broker.bootstrap)
    try:
        c.assign([TopicPartition(t, 0, 0)])
        msgs = []
        deadline = time.monotonic() + 15
        while len(msgs) < 500 and time.monotonic() < deadline:
            msgs += [m for m in c.consume(num_messages=500, timeout=0.2) if m.error() is None]
    finally:
        c.close()
    assert [(m.key(), m.value(), m.headers()) for m in msgs] == \
        [(b"k%d" % i, b"value-%04d " % i * 4, [("h", b"%d" % i)]) for i in range(500)]
    from kafka import KafkaConsumer
    kc = KafkaConsumer(t, bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=5000,
                       enable_auto_commit=False)
    try:
        values = [m.value for m in kc][:500]
    finally:
        kc.close()
    assert values == [b"value-%04d " % i * 4 for i in range(500)]


def test_unknown_compression_type_is_refused(broker):
    a = admin(broker.bootstrap)
    t = unique_topic("ct-bad")
    fs = a.create_topics([NewTopic(t, 1, 1, config={"compression.type": "brotli"})])
    with pytest.raises(Exception) as e:
        fs[t].result(timeout=15)
    assert e.value.args[0].code() == KafkaError.INVALID_CONFIG


def test_deprecated_configs_are_accepted_and_ignored(broker):
    a = admin(broker.bootstrap)
    t = unique_topic("depr")
    fs = a.create_topics([NewTopic(t, 1, 1, config={"message.format.version": "2.8-IV1",
                                                    "message.downconversion.enable": "false"})])
    fs[t].result(timeout=15)
    res = ConfigResource(ConfigResource.Type.TOPIC, t, set_config={"message.format.version": "3.0-IV1"})
    a.alter_configs([res])[res].result(timeout=15)
    assert "accepted deprecated topic config" in broker.stderr_text()
    # They change nothing: produce and consume as usual.
    produce_values(broker.bootstrap, t, [b"a", b"b"], partition=0)
    c = consumer(broker.bootstrap)
    try:
        assert c.get_watermark_offsets(TopicPartition(t, 0), timeout=10) == (0, 2)
    finally:
        c.close()
