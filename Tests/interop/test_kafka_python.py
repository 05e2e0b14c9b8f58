"""kafka-python (pure Python client): produce/consume, codecs, admin, offsets."""
from __future__ import annotations

import random
import time

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient
from kafka.errors import (InvalidConfigurationError, InvalidPartitionsError, TopicAlreadyExistsError,
                          UnknownTopicOrPartitionError)

from conftest import unique_topic, wait_for

CODECS = [None, "gzip", "snappy", "lz4", "zstd"]


def kp_producer(broker, **kw):
    conf = {"linger_ms": 5, **kw}
    return KafkaProducer(bootstrap_servers=broker.bootstrap, request_timeout_ms=15000, max_block_ms=15000, **conf)


def kp_consumer(broker, **kw):
    return KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None, enable_auto_commit=False,
                         auto_offset_reset="earliest", request_timeout_ms=15000, fetch_max_wait_ms=100, **kw)


def kp_admin(broker):
    return KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=15000)


def send_all(producer, topic, records, partition=0):
    """records: list of (key, value, headers, timestamp_ms). Returns RecordMetadata list."""
    futs = [producer.send(topic, key=k, value=v, headers=h or [], partition=partition, timestamp_ms=ts)
            for k, v, h, ts in records]
    producer.flush(timeout=30)
    return [f.get(timeout=30) for f in futs]


def read(broker, topic, count, partitions=(0,), timeout=20.0, start=None):
    c = kp_consumer(broker)
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        c.assign(tps)
        if start is None:
            c.seek_to_beginning(*tps)
        else:
            for tp in tps:
                c.seek(tp, start)
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < count and time.monotonic() < deadline:
            for _, msgs in c.poll(timeout_ms=200).items():
                out.extend(msgs)
        # catch surplus (duplicates)
        end = time.monotonic() + 0.3
        while time.monotonic() < end:
            for _, msgs in c.poll(timeout_ms=100).items():
                out.extend(msgs)
        assert len(out) >= count, f"read only {len(out)} of {count} from {topic}"
        return out
    finally:
        c.close()


def test_keys_headers_roundtrip(broker):
    t = unique_topic("kp-kv")
    recs = [
        (b"k1", b"v1", [("a", b"1"), ("b", b"")], None),
        (None, b"no key", None, None),
        (b"nullv", None, None, None),
        (b"", b"", [("dup", b"x"), ("dup", b"y")], None),
    ]
    p = kp_producer(broker)
    md = send_all(p, t, recs)
    p.close()
    assert [m.offset for m in md] == [0, 1, 2, 3]
    got = read(broker, t, len(recs))
    assert len(got) == len(recs)
    for r, (k, v, h, _) in zip(got, recs):
        assert (r.key, r.value, list(r.headers)) == (k, v, h or []), r


@pytest.mark.parametrize("codec", CODECS, ids=[c or "none" for c in CODECS])
def test_codecs(broker, codec):
    t = unique_topic(f"kp-{codec or 'none'}")
    rnd = random.Random(str(codec))
    values = [(f"kafka-python {codec} {i} " * (1 + i % 30)).encode() if i % 7 else rnd.randbytes(rnd.randrange(1, 3000))
              for i in range(1500)]
    p = kp_producer(broker, compression_type=codec, batch_size=64 * 1024, linger_ms=20)
    md = send_all(p, t, [(b"k%d" % (i % 10), v, [("i", b"%d" % i)], None) for i, v in enumerate(values)])
    p.close()
    assert [m.offset for m in md] == list(range(len(values)))
    got = read(broker, t, len(values))
    assert len(got) == len(values)
    for i, r in enumerate(got):
        assert (r.offset, r.key, r.value, list(r.headers)) == (i, b"k%d" % (i % 10), values[i], [("i", b"%d" % i)]), \
            f"record {i} differs"


def test_offsets_beginning_end_and_times(broker):
    t = unique_topic("kp-off")
    base = int(time.time() * 1000) - 3_600_000
    p = kp_producer(broker)
    send_all(p, t, [(None, b"r%d" % i, None, base + i * 100) for i in range(30)])
    p.close()
    c = kp_consumer(broker)
    try:
        tp = TopicPartition(t, 0)
        assert c.beginning_offsets([tp]) == {tp: 0}
        assert c.end_offsets([tp]) == {tp: 30}
        res = c.offsets_for_times({tp: base + 1050})
        assert res[tp] is not None and res[tp].offset == 11 and res[tp].timestamp == base + 1100, res
        res = c.offsets_for_times({tp: base})
        assert res[tp].offset == 0 and res[tp].timestamp == base
        res = c.offsets_for_times({tp: base + 10_000_000})
        assert res[tp] is None, f"a timestamp after every record should give None, got {res[tp]}"
    finally:
        c.close()
    got = read(broker, t, 19, start=11)
    assert [(r.offset, r.timestamp, r.value) for r in got] == [(i, base + i * 100, b"r%d" % i) for i in range(11, 30)]


def test_admin_topic_lifecycle(broker):
    a = kp_admin(broker)
    try:
        t = unique_topic("kp-adm")
        r = a.create_topics({t: {"num_partitions": 3, "replication_factor": 1,
                                 "configs": {"retention.ms": "86400000", "cleanup.policy": "delete"}}})
        assert [x["error_code"] for x in r["topics"]] == [0], r
        with pytest.raises(TopicAlreadyExistsError):
            a.create_topics({t: {"num_partitions": 1, "replication_factor": 1}})
        with pytest.raises(InvalidConfigurationError):
            a.create_topics({unique_topic("kp-bad"): {"num_partitions": 1, "replication_factor": 1,
                                                       "configs": {"what.is.this": "1"}}})
        assert t in a.list_topics()
        (desc,) = a.describe_topics([t])
        assert desc["error_code"] == 0 and [p["partition_index"] for p in desc["partitions"]] == [0, 1, 2]

        res = ConfigResource(ConfigResourceType.TOPIC, t)
        cfg = a.describe_configs([res], config_filter="all")["topic"][t]
        assert cfg["retention.ms"]["value"] == "86400000", cfg["retention.ms"]
        assert cfg["cleanup.policy"]["value"] == "delete"
        assert cfg["segment.bytes"]["value"] == "1073741824"
        modified = a.describe_configs([res])["topic"][t]
        assert set(modified) == {"retention.ms", "cleanup.policy"}, sorted(modified)

        # alter (IncrementalAlterConfigs when advertised)
        a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, t, configs={"retention.ms": "1234567"})])
        cfg = a.describe_configs([res], config_filter="all")["topic"][t]
        assert cfg["retention.ms"]["value"] == "1234567"
        assert cfg["cleanup.policy"]["value"] == "delete", "incremental alter dropped another override"
        # forced legacy AlterConfigs
        a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, t, configs={"segment.ms": "7200000"})],
                        incremental=False)
        cfg = a.describe_configs([res], config_filter="all")["topic"][t]
        assert cfg["segment.ms"]["value"] == "7200000"

        # partitions
        a.create_partitions({t: 6})
        (desc,) = a.describe_topics([t])
        assert len(desc["partitions"]) == 6
        with pytest.raises(InvalidPartitionsError):
            a.create_partitions({t: 2})

        # delete
        a.delete_topics([t])
        wait_for(lambda: t not in a.list_topics(), timeout=10, message=f"{t} to disappear")
        with pytest.raises(UnknownTopicOrPartitionError):
            a.delete_topics([t])
    finally:
        a.close()


def test_describe_cluster(broker):
    a = kp_admin(broker)
    try:
        d = a.describe_cluster()
        assert d["cluster_id"]
        assert [(b["host"], b["port"]) for b in d["brokers"]] == [("127.0.0.1", broker.port)]
        assert d["controller_id"] == d["brokers"][0]["broker_id"]
    finally:
        a.close()
