"""Kafka transactions with real clients: confluent-kafka (librdkafka), kafka-python and aiokafka
as transactional producers and read_committed consumers, and the raw wire.

What is proven:
- commit makes a transaction's records visible to read_committed consumers of every client,
  abort hides them (also when aborted and committed batches interleave in one partition);
  read_uncommitted sees every data record and never a marker; each marker takes one offset;
- an open transaction holds read_committed consumers at its first offset (the last stable
  offset, also what ListOffsets read_committed answers) until it ends;
- send_offsets_to_transaction: the offsets become the group's only when the transaction
  commits; while it is open OffsetFetch with require_stable answers UNSTABLE_OFFSET_COMMIT
  and a read_committed consumer's committed() waits for the outcome;
- a second producer with the same transactional.id fences the first and aborts its transaction;
- transaction.timeout.ms: the coordinator aborts a transaction left open and fences its producer;
- a broker killed at each point of ending a transaction finishes it on restart (commit stays
  commit in every partition and for the group offsets, abort stays abort), and one killed with a
  transaction open still knows it after restart;
- a consume-transform-produce process killed 50 times writes every result exactly once;
- DescribeTransactions, ListTransactions v0-2, DescribeProducers, OffsetFetch require_stable and
  Fetch's aborted-transaction list over the raw wire, and hostile transactional requests answered
  with Kafka's error codes (nothing written, the broker serving on).
"""
from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from confluent_kafka import OFFSET_BEGINNING, IsolationLevel, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import OffsetSpec

import wire
from clients import DeliveryLog, admin, consume, consumer, create_topic, flush_all, produce_values, producer
from conftest import unique_topic, wait_for

pytestmark = [pytest.mark.riverbank_only]

# Kafka error codes
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_PRODUCER_EPOCH = 47
INVALID_TXN_STATE = 48
INVALID_PRODUCER_ID_MAPPING = 49
INVALID_TRANSACTION_TIMEOUT = 50
INVALID_RECORD = 87
UNSTABLE_OFFSET_COMMIT = 88
PRODUCER_FENCED = 90
TRANSACTIONAL_ID_NOT_FOUND = 105
INVALID_REGULAR_EXPRESSION = 128

CONTROL_ABORT, CONTROL_COMMIT = 0, 1


# ----------------------------------------------------------------------------- client helpers

def txn_producer(bootstrap: str, transactional_id: str, **conf) -> Producer:
    base = {"bootstrap.servers": bootstrap, "transactional.id": transactional_id, "linger.ms": 5,
            "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 500}
    base.update(conf)
    return Producer(base)


def produce_txn(p: Producer, topic: str, by_partition: dict):
    """Produces {partition: [value, ...]} inside the open transaction and waits until all is acknowledged."""
    errors = []
    for part, values in by_partition.items():
        for v in values:
            p.produce(topic, partition=part, value=v, on_delivery=lambda e, m: e and errors.append(e))
    assert p.flush(20) == 0, "transactional records not acknowledged within 20 s"
    assert not errors, f"delivery errors in the transaction: {errors[:3]}"


def rows(msgs):
    """{partition: [(offset, value), ...]} of confluent-kafka messages."""
    out = {}
    for m in msgs:
        out.setdefault(m.partition(), []).append((m.offset(), m.value()))
    return out


def ck_read(bootstrap, topic, count, partitions=(0,), isolation="read_committed", timeout=20.0, extra_wait=0.5):
    """confluent-kafka: `count` records from the beginning (and any surplus within `extra_wait`)."""
    return consume(bootstrap, topic, count, partitions=partitions, timeout=timeout, extra_wait=extra_wait,
                   **{"isolation.level": isolation})


def kp_read(bootstrap, topic, count, partitions=(0,), isolation="read_committed", timeout=20.0):
    """kafka-python: {partition: [(offset, value)]} of `count` records (plus surplus within 0.5 s)."""
    from kafka import KafkaConsumer
    from kafka import TopicPartition as KTP

    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                      auto_offset_reset="earliest", isolation_level=isolation, fetch_max_wait_ms=100,
                      request_timeout_ms=15000)
    try:
        tps = [KTP(topic, p) for p in partitions]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < count and time.monotonic() < deadline:
            for _, msgs in c.poll(timeout_ms=200).items():
                out.extend(msgs)
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            for _, msgs in c.poll(timeout_ms=100).items():
                out.extend(msgs)
        assert len(out) >= count, f"kafka-python read only {len(out)} of {count} ({isolation})"
        got = {}
        for m in sorted(out, key=lambda m: (m.partition, m.offset)):
            got.setdefault(m.partition, []).append((m.offset, m.value))
        return got
    finally:
        c.close()


def aio_read(bootstrap, topic, count, partitions=(0,), isolation="read_committed", timeout=20.0):
    """aiokafka: {partition: [(offset, value)]} of `count` records (plus surplus within 0.5 s)."""
    from aiokafka import AIOKafkaConsumer
    from aiokafka import TopicPartition as ATP

    async def run():
        c = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             auto_offset_reset="earliest", isolation_level=isolation, fetch_max_wait_ms=100,
                             request_timeout_ms=15000)
        await c.start()
        try:
            tps = [ATP(topic, p) for p in partitions]
            c.assign(tps)
            await c.seek_to_beginning(*tps)
            out = []
            deadline = time.monotonic() + timeout
            while len(out) < count and time.monotonic() < deadline:
                for _, msgs in (await c.getmany(timeout_ms=200)).items():
                    out.extend(msgs)
            for _, msgs in (await c.getmany(timeout_ms=500)).items():
                out.extend(msgs)
            return out
        finally:
            await c.stop()

    out = asyncio.run(asyncio.wait_for(run(), timeout=timeout + 15))
    assert len(out) >= count, f"aiokafka read only {len(out)} of {count} ({isolation})"
    got = {}
    for m in sorted(out, key=lambda m: (m.partition, m.offset)):
        got.setdefault(m.partition, []).append((m.offset, m.value))
    return got


def latest_offsets(bootstrap, topic, partitions, isolation=IsolationLevel.READ_COMMITTED) -> dict:
    """ListOffsets latest: the last stable offset with read_committed, the high watermark otherwise."""
    a = admin(bootstrap)  # kept alive until the futures are resolved
    fs = a.list_offsets({TopicPartition(topic, p): OffsetSpec.latest() for p in partitions},
                        isolation_level=isolation, request_timeout=10)
    return {tp.partition: f.result(timeout=10).offset for tp, f in fs.items()}


def group_metadata(bootstrap, group):
    """A consumer's group metadata for send_offsets_to_transaction (assign-only: generation -1)."""
    c = consumer(bootstrap, **{"group.id": group})
    try:
        return c.consumer_group_metadata()
    finally:
        c.close()


def commit_plain(bootstrap, group, topic, offsets: dict):
    """A non-transactional OffsetCommit of {partition: offset}."""
    c = consumer(bootstrap, **{"group.id": group})
    try:
        c.commit(offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()], asynchronous=False)
    finally:
        c.close()


def fenced_code(exc: BaseException) -> int:
    assert isinstance(exc, KafkaException), f"expected a KafkaException, got {exc!r}"
    return exc.args[0].code()


# ----------------------------------------------------------------------------- raw wire helpers

_corr = itertools.count(71000)


def call(port, request_fn, decode, *args, **kw):
    with wire.connect(port, timeout=10) as s:
        return decode(wire.roundtrip(s, request_fn(next(_corr), *args, **kw)))


def init_pid(port, tid, timeout_ms=60000):
    r = call(port, wire.init_producer_id_request, wire.decode_init_producer_id, tid, timeout_ms)
    assert r["error_code"] == 0, f"InitProducerId({tid!r}) answered {r}"
    return r["producer_id"], r["producer_epoch"]


def describe_txn(port, *ids) -> dict:
    return call(port, wire.describe_transactions_request, wire.decode_describe_transactions, list(ids))


def add_partitions(port, tid, pid, epoch, topics) -> dict:
    return call(port, wire.add_partitions_to_txn_v3_request, wire.decode_add_partitions_to_txn_v3, tid, pid, epoch,
                topics)


def end_txn(port, tid, pid, epoch, commit) -> int:
    return call(port, wire.end_txn_v3_request, wire.decode_end_txn_v3, tid, pid, epoch, commit)


def raw_produce(port, topic, partition, batch, transactional_id=None) -> dict:
    _, res = call(port, wire.produce_v9_request, wire.decode_produce_v9, {topic: {partition: batch}},
                  transactional_id=transactional_id)
    return res[(topic, partition)]


def txn_batch(values, pid, epoch, seq, transactional=True):
    return wire.record_batch([(None, v, []) for v in values], producer_id=pid, producer_epoch=epoch,
                             base_sequence=seq, attributes=wire.ATTR_TRANSACTIONAL if transactional else 0)


def offset_fetch(port, group, topics, require_stable) -> dict:
    """{(topic, partition): (committed offset, error code)} of one group (asserts no group error)."""
    r = call(port, wire.offset_fetch_v8_request, wire.decode_offset_fetch_v8, group, topics, require_stable)
    assert r[group]["error_code"] == 0, r
    return r[group]["partitions"]


def raw_fetch(port, topic, partition, offset=0, committed=False) -> dict:
    return call(port, wire.fetch_v11_isolated_request, wire.decode_fetch_v11_partition, topic, partition, offset,
                1 if committed else 0)


def assert_serving(b):
    """The broker still answers ApiVersions and a produce/consume round trip."""
    with wire.connect(b.port) as s:
        _, err, keys = wire.decode_api_versions_v0(wire.roundtrip(s, wire.api_versions_request(0, 1)))
        assert err == 0 and wire.API_PRODUCE in keys
    t = unique_topic("txn-alive")
    create_topic(b.bootstrap, t)
    produce_values(b.bootstrap, t, [b"still-serving"], partition=0)
    assert [m.value() for m in consume(b.bootstrap, t, 1)] == [b"still-serving"]


# ----------------------------------------------------------------------------- 1. commit / abort / commit

def test_commit_abort_commit_across_partitions_every_client_reads_committed(broker):
    t = unique_topic("txn-cac")
    create_topic(broker.bootstrap, t, partitions=2)
    p = txn_producer(broker.bootstrap, unique_topic("tid-cac"))
    p.init_transactions(15)
    plan = [("commit", "c1"), ("abort", "ab"), ("commit", "c2")]
    for outcome, tag in plan:
        p.begin_transaction()
        produce_txn(p, t, {q: [b"%s-%d-%d" % (tag.encode(), q, i) for i in range(5)] for q in (0, 1)})
        (p.commit_transaction if outcome == "commit" else p.abort_transaction)(15)

    # Each transaction takes 5 offsets plus one for its marker in each partition.
    def vals(tag, q):
        return [b"%s-%d-%d" % (tag, q, i) for i in range(5)]
    committed = {q: list(zip(list(range(0, 5)) + list(range(12, 17)), vals(b"c1", q) + vals(b"c2", q))) for q in (0, 1)}
    everything = {q: list(zip(list(range(0, 5)) + list(range(6, 11)) + list(range(12, 17)),
                              vals(b"c1", q) + vals(b"ab", q) + vals(b"c2", q))) for q in (0, 1)}

    got = rows(ck_read(broker.bootstrap, t, 20, partitions=(0, 1)))
    assert got == committed, "confluent-kafka read_committed saw other than the two committed transactions"
    assert kp_read(broker.bootstrap, t, 20, partitions=(0, 1)) == committed, "kafka-python read_committed"
    assert aio_read(broker.bootstrap, t, 20, partitions=(0, 1)) == committed, "aiokafka read_committed"

    # read_uncommitted: every data record, the aborted ones included, never a marker
    assert rows(ck_read(broker.bootstrap, t, 30, partitions=(0, 1), isolation="read_uncommitted")) == everything
    assert kp_read(broker.bootstrap, t, 30, partitions=(0, 1), isolation="read_uncommitted") == everything

    # all ended: the last stable offset is the high watermark (after the third marker)
    assert latest_offsets(broker.bootstrap, t, (0, 1)) == {0: 18, 1: 18}
    assert latest_offsets(broker.bootstrap, t, (0, 1), IsolationLevel.READ_UNCOMMITTED) == {0: 18, 1: 18}


def test_interleaved_committed_and_aborted_transactions_in_one_partition(broker):
    """Two producers' transactions interleave batch by batch in one partition; one commits, one
    aborts: read_committed consumers drop exactly the aborted producer's batches (by producer id,
    from the fetch's aborted-transaction list)."""
    t = unique_topic("txn-inter")
    create_topic(broker.bootstrap, t)
    a = txn_producer(broker.bootstrap, unique_topic("tid-a"), **{"linger.ms": 0})
    z = txn_producer(broker.bootstrap, unique_topic("tid-z"), **{"linger.ms": 0})
    a.init_transactions(15)
    z.init_transactions(15)
    a.begin_transaction()
    z.begin_transaction()
    for i in range(4):  # one batch each, alternating: A0 Z0 A1 Z1 ...
        produce_txn(a, t, {0: [b"A%d" % i]})
        produce_txn(z, t, {0: [b"Z%d" % i]})
    z.abort_transaction(15)
    # while A is still open nothing past its first offset is stable
    assert latest_offsets(broker.bootstrap, t, (0,)) == {0: 0}
    a.commit_transaction(15)
    produce_values(broker.bootstrap, t, [b"after"], partition=0)

    # offsets: A0 0, Z0 1, A1 2, Z1 3, A2 4, Z2 5, A3 6, Z3 7, Z's abort 8, A's commit 9, after 10
    want = {0: [(0, b"A0"), (2, b"A1"), (4, b"A2"), (6, b"A3"), (10, b"after")]}
    assert rows(ck_read(broker.bootstrap, t, 5)) == want
    assert kp_read(broker.bootstrap, t, 5) == want
    assert aio_read(broker.bootstrap, t, 5) == want
    assert [v for _, v in kp_read(broker.bootstrap, t, 9, isolation="read_uncommitted")[0]] == \
        [b"A0", b"Z0", b"A1", b"Z1", b"A2", b"Z2", b"A3", b"Z3", b"after"]


# ----------------------------------------------------------------------------- 2. last stable offset

@pytest.mark.parametrize("outcome", ["commit", "abort"])
def test_open_transaction_holds_read_committed_at_last_stable_offset(broker, outcome):
    from kafka import KafkaConsumer
    from kafka import TopicPartition as KTP

    t = unique_topic(f"txn-lso-{outcome}")
    create_topic(broker.bootstrap, t)
    produce_values(broker.bootstrap, t, [b"pre0", b"pre1"], partition=0)  # offsets 0, 1
    p = txn_producer(broker.bootstrap, unique_topic("tid-lso"))
    p.init_transactions(15)
    p.begin_transaction()
    produce_txn(p, t, {0: [b"open0", b"open1", b"open2"]})  # 2, 3, 4
    produce_values(broker.bootstrap, t, [b"post0", b"post1"], partition=0)  # 5, 6: after the open transaction

    c = consumer(broker.bootstrap, **{"isolation.level": "read_committed"})
    try:
        c.assign([TopicPartition(t, 0, OFFSET_BEGINNING)])
        seen = []
        end = time.monotonic() + 2.0
        while time.monotonic() < end:
            seen += [(m.offset(), m.value()) for m in c.consume(100, 0.1) if not m.error()]
        assert seen == [(0, b"pre0"), (1, b"pre1")], "read_committed went past the open transaction's first offset"
        assert c.position([TopicPartition(t, 0)])[0].offset == 2
        # ListOffsets: read_committed answers the last stable offset, read_uncommitted the high watermark
        assert latest_offsets(broker.bootstrap, t, (0,)) == {0: 2}
        assert latest_offsets(broker.bootstrap, t, (0,), IsolationLevel.READ_UNCOMMITTED) == {0: 7}
        assert c.get_watermark_offsets(TopicPartition(t, 0), timeout=10) == (0, 2)  # the consumer's isolation
        kc = KafkaConsumer(bootstrap_servers=broker.bootstrap, isolation_level="read_committed",
                           request_timeout_ms=15000)
        try:
            assert kc.end_offsets([KTP(t, 0)]) == {KTP(t, 0): 2}, "kafka-python end_offsets (read_committed)"
        finally:
            kc.close()
        # read_uncommitted is not held
        assert [m.offset() for m in ck_read(broker.bootstrap, t, 7, isolation="read_uncommitted")] == list(range(7))

        (p.commit_transaction if outcome == "commit" else p.abort_transaction)(15)
        want = ([(2, b"open0"), (3, b"open1"), (4, b"open2")] if outcome == "commit" else []) + \
            [(5, b"post0"), (6, b"post1")]

        def released():
            seen.extend((m.offset(), m.value()) for m in c.consume(100, 0.1) if not m.error())
            return len(seen) >= 2 + len(want)
        wait_for(released, timeout=10, message="read_committed released after the transaction ended")
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            seen += [(m.offset(), m.value()) for m in c.consume(100, 0.1) if not m.error()]
        assert seen == [(0, b"pre0"), (1, b"pre1")] + want
    finally:
        c.close()
    assert latest_offsets(broker.bootstrap, t, (0,)) == {0: 8}  # the marker at 7


# ----------------------------------------------------------------------------- 3. offsets in transactions

def test_send_offsets_to_transaction_commit_moves_group_offsets_abort_does_not(broker):
    src, out, group = unique_topic("txn-src"), unique_topic("txn-out"), unique_topic("txn-grp")
    create_topic(broker.bootstrap, src)
    create_topic(broker.bootstrap, out)
    produce_values(broker.bootstrap, src, [b"in-%d" % i for i in range(10)], partition=0)
    commit_plain(broker.bootstrap, group, src, {0: 2})  # the group's offset before any transaction
    port, tp = broker.port, {src: [0]}
    assert offset_fetch(port, group, tp, require_stable=True) == {(src, 0): (2, 0)}

    c = consumer(broker.bootstrap, **{"group.id": group, "isolation.level": "read_committed"})
    p = txn_producer(broker.bootstrap, unique_topic("tid-ctp"))
    try:
        p.init_transactions(15)
        # transaction 1: in[2..5] -> out, offset 6, committed
        p.begin_transaction()
        produce_txn(p, out, {0: [b"out-%d" % i for i in range(2, 6)]})
        p.send_offsets_to_transaction([TopicPartition(src, 0, 6)], c.consumer_group_metadata(), 15)
        # open: require_stable answers UNSTABLE_OFFSET_COMMIT (v8 and the old offset without it)
        assert offset_fetch(port, group, tp, require_stable=True) == {(src, 0): (-1, UNSTABLE_OFFSET_COMMIT)}
        assert offset_fetch(port, group, tp, require_stable=False) == {(src, 0): (2, 0)}
        # a read_committed librdkafka consumer asks with require_stable and waits for the outcome
        res = {}

        def ask():
            t0 = time.monotonic()
            try:
                res["offsets"] = c.committed([TopicPartition(src, 0)], timeout=15)
            except Exception as e:  # noqa: BLE001 - reported below
                res["offsets"] = e
            res["waited"] = time.monotonic() - t0
        th = threading.Thread(target=ask)
        th.start()
        time.sleep(1.5)
        assert th.is_alive(), f"committed() answered while the transaction was open: {res}"
        p.commit_transaction(15)
        th.join(15)
        assert not isinstance(res["offsets"], Exception), res
        assert [x.offset for x in res["offsets"]] == [6], f"committed() after the commit: {res}"
        assert offset_fetch(port, group, tp, require_stable=True) == {(src, 0): (6, 0)}

        # transaction 2: in[6..9] -> out, offset 10, aborted: the group keeps 6
        p.begin_transaction()
        produce_txn(p, out, {0: [b"out-%d" % i for i in range(6, 10)]})
        p.send_offsets_to_transaction([TopicPartition(src, 0, 10)], c.consumer_group_metadata(), 15)
        assert offset_fetch(port, group, tp, require_stable=True) == {(src, 0): (-1, UNSTABLE_OFFSET_COMMIT)}
        p.abort_transaction(15)
        assert offset_fetch(port, group, tp, require_stable=True) == {(src, 0): (6, 0)}
        assert [x.offset for x in c.committed([TopicPartition(src, 0)], timeout=10)] == [6]
    finally:
        c.close()
    # the AdminClient sees the same committed offset
    from confluent_kafka import ConsumerGroupTopicPartitions
    a = admin(broker.bootstrap)
    f = a.list_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(group, [TopicPartition(src, 0)])], request_timeout=10)
    assert [x.offset for x in f[group].result(timeout=10).topic_partitions] == [6]
    produce_values(broker.bootstrap, out, [b"end"], partition=0)
    assert [m.value() for m in ck_read(broker.bootstrap, out, 5)] == [b"out-2", b"out-3", b"out-4", b"out-5", b"end"]


# ----------------------------------------------------------------------------- 4. fencing

def test_second_producer_with_same_transactional_id_fences_the_first(broker):
    t = unique_topic("txn-fence")
    create_topic(broker.bootstrap, t, partitions=2)
    tid = unique_topic("tid-fence")
    p1 = txn_producer(broker.bootstrap, tid)
    p1.init_transactions(15)
    e1 = describe_txn(broker.port, tid)[tid]["producer_epoch"]
    p1.begin_transaction()
    produce_txn(p1, t, {0: [b"zombie-0"], 1: [b"zombie-1"]})
    assert describe_txn(broker.port, tid)[tid]["state"] == "Ongoing"

    p2 = txn_producer(broker.bootstrap, tid)
    p2.init_transactions(15)  # aborts p1's open transaction, bumps the epoch
    d = describe_txn(broker.port, tid)[tid]
    assert d["producer_epoch"] > e1, d
    assert d["state"] not in ("Ongoing", "PrepareAbort", "PrepareCommit"), d
    p2.begin_transaction()
    produce_txn(p2, t, {0: [b"new-0"], 1: [b"new-1"]})
    p2.commit_transaction(15)

    with pytest.raises(KafkaException) as ei:
        p1.commit_transaction(15)
    err = ei.value.args[0]
    assert err.code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED), f"zombie's commit failed with {err}"
    assert err.fatal(), f"fencing must be fatal for the zombie: {err}"
    with pytest.raises(KafkaException):
        p1.produce(t, partition=0, value=b"zombie-late")

    # zombie's records: aborted (offset 0), its abort marker 1; p2's at 2, marker 3
    assert rows(ck_read(broker.bootstrap, t, 2, partitions=(0, 1))) == {0: [(2, b"new-0")], 1: [(2, b"new-1")]}
    assert kp_read(broker.bootstrap, t, 2, partitions=(0, 1)) == {0: [(2, b"new-0")], 1: [(2, b"new-1")]}
    assert describe_txn(broker.port, tid)[tid]["state"] == "CompleteCommit"


def test_kafka_python_producer_fenced_by_confluent_producer(broker):
    from kafka import KafkaProducer
    from kafka.errors import InvalidProducerEpochError, KafkaError as KPError, ProducerFencedError

    t = unique_topic("txn-kpfence")
    create_topic(broker.bootstrap, t)
    tid = unique_topic("tid-kpfence")
    kp = KafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id=tid, request_timeout_ms=15000,
                       max_block_ms=15000)
    try:
        kp.init_transactions()
        kp.begin_transaction()
        kp.send(t, value=b"kp-zombie", partition=0).get(timeout=15)
        ck = txn_producer(broker.bootstrap, tid)
        ck.init_transactions(15)
        ck.begin_transaction()
        produce_txn(ck, t, {0: [b"ck-new"]})
        ck.commit_transaction(15)
        with pytest.raises(KPError) as ei:
            kp.commit_transaction()
        assert isinstance(ei.value, (ProducerFencedError, InvalidProducerEpochError)), repr(ei.value)
    finally:
        kp.close(timeout=5)
    assert rows(ck_read(broker.bootstrap, t, 1)) == {0: [(2, b"ck-new")]}


# ----------------------------------------------------------------------------- 5. transaction timeout

def test_transaction_timeout_aborts_and_fences(broker):
    t = unique_topic("txn-timeout")
    create_topic(broker.bootstrap, t)
    tid = unique_topic("tid-timeout")
    p = txn_producer(broker.bootstrap, tid, **{"transaction.timeout.ms": 2000, "message.timeout.ms": 2000})
    p.init_transactions(15)
    epoch = describe_txn(broker.port, tid)[tid]["producer_epoch"]
    p.begin_transaction()
    t_begin = time.monotonic()
    produce_txn(p, t, {0: [b"forgotten-0", b"forgotten-1", b"forgotten-2"]})  # offsets 0-2
    produce_values(broker.bootstrap, t, [b"later-0", b"later-1"], partition=0)  # 3, 4
    assert describe_txn(broker.port, tid)[tid]["state"] == "Ongoing"

    # the read_committed consumer is held until the coordinator aborts the transaction
    msgs = ck_read(broker.bootstrap, t, 2, timeout=15)
    released = time.monotonic() - t_begin
    assert [(m.offset(), m.value()) for m in msgs] == [(3, b"later-0"), (4, b"later-1")]
    assert released >= 1.9, f"released {released:.2f}s after begin: before the 2 s transaction timeout"
    assert released < 8, f"the timed-out transaction was aborted only after {released:.1f}s"
    d = describe_txn(broker.port, tid)[tid]
    assert d["state"] == "CompleteAbort" and d["producer_epoch"] == epoch + 1, d
    assert latest_offsets(broker.bootstrap, t, (0,)) == {0: 6}  # the abort marker at 5

    with pytest.raises(KafkaException) as ei:
        p.commit_transaction(10)
    assert fenced_code(ei.value) in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED,
                                     KafkaError.INVALID_PRODUCER_EPOCH), ei.value
    # the id lives on with a new producer
    p2 = txn_producer(broker.bootstrap, tid)
    p2.init_transactions(15)
    p2.begin_transaction()
    produce_txn(p2, t, {0: [b"next"]})
    p2.commit_transaction(15)
    assert [(m.offset(), m.value()) for m in ck_read(broker.bootstrap, t, 3)] == \
        [(3, b"later-0"), (4, b"later-1"), (6, b"next")]


# ----------------------------------------------------------------------------- 6. aiokafka / kafka-python producers

def test_aiokafka_transactional_producer(broker):
    from aiokafka import AIOKafkaProducer
    from aiokafka import TopicPartition as ATP

    t, src, group = unique_topic("txn-aio"), unique_topic("txn-aio-src"), unique_topic("txn-aio-grp")
    create_topic(broker.bootstrap, t, partitions=2)
    create_topic(broker.bootstrap, src)
    produce_values(broker.bootstrap, src, [b"s%d" % i for i in range(8)], partition=0)

    async def run():
        p = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id=unique_topic("tid-aio"),
                             enable_idempotence=True, request_timeout_ms=15000)
        await p.start()
        try:
            async with p.transaction():
                for i in range(4):
                    await p.send_and_wait(t, value=b"aio-c1-%d" % i, partition=i % 2)
                await p.send_offsets_to_transaction({ATP(src, 0): 4}, group)
            await p.begin_transaction()
            for i in range(4):
                await p.send_and_wait(t, value=b"aio-ab-%d" % i, partition=i % 2)
            await p.send_offsets_to_transaction({ATP(src, 0): 8}, group)
            await p.abort_transaction()
            async with p.transaction():
                for i in range(4):
                    await p.send_and_wait(t, value=b"aio-c2-%d" % i, partition=i % 2)
        finally:
            await p.stop()
    asyncio.run(asyncio.wait_for(run(), timeout=40))

    # per partition: c1 (2 records, marker), ab (2, marker), c2 (2, marker)
    want = {q: [(0, b"aio-c1-%d" % q), (1, b"aio-c1-%d" % (q + 2)), (6, b"aio-c2-%d" % q), (7, b"aio-c2-%d" % (q + 2))]
            for q in (0, 1)}
    assert aio_read(broker.bootstrap, t, 8, partitions=(0, 1)) == want
    assert rows(ck_read(broker.bootstrap, t, 8, partitions=(0, 1))) == want
    assert len(ck_read(broker.bootstrap, t, 12, partitions=(0, 1), isolation="read_uncommitted")) == 12
    # the committed transaction's offsets are the group's, the aborted one's are not
    assert offset_fetch(broker.port, group, {src: [0]}, require_stable=True) == {(src, 0): (4, 0)}


def test_aiokafka_producer_fenced(broker):
    from aiokafka import AIOKafkaProducer
    from aiokafka.errors import InvalidProducerEpoch, ProducerFenced

    t = unique_topic("txn-aiofence")
    create_topic(broker.bootstrap, t)
    tid = unique_topic("tid-aiofence")

    async def run():
        old = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id=tid, request_timeout_ms=15000)
        new = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id=tid, request_timeout_ms=15000)
        await old.start()
        try:
            await old.begin_transaction()
            await old.send_and_wait(t, value=b"old", partition=0)
            await new.start()  # InitProducerId: fences `old`, aborts its transaction
            async with new.transaction():
                await new.send_and_wait(t, value=b"new", partition=0)
            with pytest.raises((ProducerFenced, InvalidProducerEpoch)):
                await old.commit_transaction()
        finally:
            await new.stop()
            await old.stop()
    asyncio.run(asyncio.wait_for(run(), timeout=40))
    assert aio_read(broker.bootstrap, t, 1) == {0: [(2, b"new")]}


def test_kafka_python_transactional_producer(broker):
    from kafka import KafkaConsumer, KafkaProducer
    from kafka import TopicPartition as KTP
    from kafka.structs import OffsetAndMetadata

    t, src, group = unique_topic("txn-kp"), unique_topic("txn-kp-src"), unique_topic("txn-kp-grp")
    create_topic(broker.bootstrap, t, partitions=2)
    create_topic(broker.bootstrap, src)
    produce_values(broker.bootstrap, src, [b"s%d" % i for i in range(8)], partition=0)
    kc = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=group, enable_auto_commit=False,
                       isolation_level="read_committed", request_timeout_ms=15000)
    p = KafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id=unique_topic("tid-kp"),
                      request_timeout_ms=15000, max_block_ms=15000)
    try:
        p.init_transactions()
        for tag, outcome, off in ((b"c1", "commit", 3), (b"ab", "abort", 7), (b"c2", "commit", 5)):
            p.begin_transaction()
            futs = [p.send(t, value=b"kp-%s-%d" % (tag, i), partition=i % 2) for i in range(4)]
            p.flush(timeout=15)
            assert all(f.get(timeout=5) for f in futs)
            p.send_offsets_to_transaction({KTP(src, 0): OffsetAndMetadata(off, "", -1)}, kc.group_metadata())
            (p.commit_transaction if outcome == "commit" else p.abort_transaction)()
    finally:
        p.close(timeout=5)
        kc.close()
    want = {q: [(0, b"kp-c1-%d" % q), (1, b"kp-c1-%d" % (q + 2)), (6, b"kp-c2-%d" % q), (7, b"kp-c2-%d" % (q + 2))]
            for q in (0, 1)}
    assert kp_read(broker.bootstrap, t, 8, partitions=(0, 1)) == want
    assert rows(ck_read(broker.bootstrap, t, 8, partitions=(0, 1))) == want
    # the last committed transaction's offset (5) stands, not the aborted one's (7)
    assert offset_fetch(broker.port, group, {src: [0]}, require_stable=True) == {(src, 0): (5, 0)}


# ----------------------------------------------------------------------------- restarts, recompression, compaction

@pytest.mark.parametrize("hard", [False, True], ids=["sigterm", "sigkill"])
def test_aborted_transactions_stay_hidden_after_restart_and_recompression(fresh_broker, hard):
    """Ten alternating committed/aborted transactions (lz4 from the producer, stored as gzip by
    the topic's compression.type on partition data): after a restart the aborted ones are still
    listed in read_committed fetches and hidden from every client."""
    b = fresh_broker
    t = unique_topic("txn-restart")
    create_topic(b.bootstrap, t, partitions=2, config={"compression.type": "gzip"})
    tid = unique_topic("tid-restart")
    p = txn_producer(b.bootstrap, tid, **{"compression.type": "lz4", "linger.ms": 20})
    p.init_transactions(15)
    want = {0: [], 1: []}
    for i in range(10):
        p.begin_transaction()
        vals = {q: [b"t%02d-%d-%d" % (i, q, j) for j in range(3)] for q in (0, 1)}
        produce_txn(p, t, vals)
        if i % 2 == 0:
            p.commit_transaction(15)
            for q in (0, 1):  # transaction i: offsets 4i..4i+2, its marker 4i+3
                want[q] += [(4 * i + j, v) for j, v in enumerate(vals[q])]
        else:
            p.abort_transaction(15)
    pid = describe_txn(b.port, tid)[tid]["producer_id"]
    b.restart(hard=hard)

    assert rows(ck_read(b.bootstrap, t, 30, partitions=(0, 1))) == want
    assert kp_read(b.bootstrap, t, 30, partitions=(0, 1)) == want
    assert aio_read(b.bootstrap, t, 30, partitions=(0, 1)) == want
    for q in (0, 1):
        f = raw_fetch(b.port, t, q, committed=True)
        assert f["aborted"] == [(pid, 4 * i) for i in range(1, 10, 2)], (q, f["aborted"])
        assert (f["high_watermark"], f["last_stable_offset"]) == (40, 40), f
        batches = wire.parse_batches(f["records"])
        assert {x["attributes"] & 0x07 for x in batches if not x["control"]} == {1}, "not stored as gzip"
        assert all(x["transactional"] and x["producer_id"] == pid for x in batches), "recompression lost the transaction"
    # the id and the partitions carry on after the restart
    p2 = txn_producer(b.bootstrap, tid)
    p2.init_transactions(15)
    p2.begin_transaction()
    produce_txn(p2, t, {0: [b"after-restart"]})
    p2.abort_transaction(15)
    p2.begin_transaction()
    produce_txn(p2, t, {0: [b"after-restart-committed"]})
    p2.commit_transaction(15)
    assert rows(ck_read(b.bootstrap, t, 16))[0][-1] == (42, b"after-restart-committed")


FAST_CLEANER = {"RIVERBANK_LOG_CLEANER_BACKOFF_MS": "100", "RIVERBANK_RETENTION_CHECK_INTERVAL_MS": "300"}
COMPACT = {"cleanup.policy": "compact", "segment.bytes": "262144", "min.cleanable.dirty.ratio": "0.01",
           "segment.ms": "1000"}


@pytest.mark.slow
@pytest.mark.deadline(90)
def test_compaction_keeps_committed_values_over_aborted_and_open_ones(broker_factory):
    """A compacted topic: a key's value is its latest committed one. An aborted later value does
    not supersede it (and is dropped); a segment holding an open transaction is not cleaned
    until the transaction ends."""
    b = broker_factory(env=FAST_CLEANER)
    t = unique_topic("txn-compact")
    create_topic(b.bootstrap, t, config=COMPACT)
    p = txn_producer(b.bootstrap, unique_topic("tid-compact"), **{"linger.ms": 0})
    q = txn_producer(b.bootstrap, unique_topic("tid-compact-open"), **{"linger.ms": 0})
    p.init_transactions(15)
    q.init_transactions(15)
    plain = producer(b.bootstrap, acks="all")

    def txn(prod, kvs, outcome=None):
        prod.begin_transaction()
        for k, v in kvs:
            prod.produce(t, partition=0, key=k, value=v)
        assert prod.flush(15) == 0
        if outcome:
            (prod.commit_transaction if outcome == "commit" else prod.abort_transaction)(15)

    def write(kvs):
        for k, v in kvs:
            plain.produce(t, partition=0, key=k, value=v)
        assert plain.flush(15) == 0

    def values(isolation):
        out = {}
        for m in read_to_end(b.bootstrap, t, isolation):
            out.setdefault(m.key(), []).append(m.value())
        return out

    # segment 1: committed, aborted, committed, and 50 values of f
    txn(p, [(b"k1", b"c1"), (b"k2", b"c1")], "commit")
    txn(p, [(b"k1", b"a1"), (b"k3", b"a1")], "abort")
    txn(p, [(b"k2", b"c2")], "commit")
    write([(b"f", b"f%02d" % i) for i in range(50)])
    time.sleep(1.2)  # segment.ms: the next write rolls the segment
    # segment 2: a transaction left open, and 50 values of g
    txn(q, [(b"k1", b"o1"), (b"k2", b"o1")])
    write([(b"g", b"g%02d" % i) for i in range(50)])
    time.sleep(1.2)
    write([(b"h", b"h0")])  # segment 3 (active)

    wait_for(lambda: values("read_uncommitted").get(b"f") == [b"f49"], timeout=30, interval=0.3,
             message="the cleaner compacted segment 1")
    v = values("read_uncommitted")
    assert v.get(b"k1") == [b"c1", b"o1"] and v.get(b"k2") == [b"c2", b"o1"], f"segment 1 cleaned wrong: {v}"
    assert b"k3" not in v, "the aborted transaction's value of k3 survived cleaning"
    assert len(v[b"g"]) == 50, "the segment of an open transaction was cleaned"

    q.abort_transaction(15)
    time.sleep(1.2)
    write([(b"h", b"h1")])
    wait_for(lambda: values("read_uncommitted").get(b"g") == [b"g49"], timeout=30, interval=0.3,
             message="the cleaner compacted segment 2 once the transaction ended")
    want = {b"k1": [b"c1"], b"k2": [b"c2"], b"f": [b"f49"], b"g": [b"g49"], b"h": [b"h0", b"h1"]}
    assert values("read_uncommitted") == want, "aborted values kept, or committed ones lost, by the cleaner"
    assert values("read_committed") == want
    kp = kp_read(b.bootstrap, t, 6)[0]
    assert sorted(v for _, v in kp) == sorted(x for vs in want.values() for x in vs), kp


def read_to_end(bootstrap, topic, isolation):
    """Every record of partition 0 the consumer gets within 0.7 s of the last (from the beginning)."""
    c = consumer(bootstrap, **{"isolation.level": isolation})
    try:
        c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        out, last = [], time.monotonic()
        deadline = last + 20
        while time.monotonic() < deadline and time.monotonic() - last < 0.7:
            for m in c.consume(1000, 0.1):
                assert m.error() is None, m.error()
                out.append(m)
                last = time.monotonic()
        return out
    finally:
        c.close()


# ----------------------------------------------------------------------------- 7. crash points

CRASH_POINTS = ["txn-after-prepare", "txn-mid-markers", "txn-after-markers", "txn-after-complete"]


@pytest.mark.slow
@pytest.mark.deadline(90)
@pytest.mark.parametrize("point,outcome", [(p, "commit") for p in CRASH_POINTS]
                         + [("txn-after-prepare", "abort"), ("txn-mid-markers", "abort")])
def test_crash_while_ending_transaction_is_finished_on_restart(broker_factory, point, outcome):
    b = broker_factory(env={"RIVERBANK_FAULT_INJECT": point})
    src, out, group, tid = (unique_topic(x) for x in ("crash-src", "crash-out", "crash-grp", "tid-crash"))
    create_topic(b.bootstrap, src)
    create_topic(b.bootstrap, out, partitions=3)
    produce_values(b.bootstrap, src, [b"s%d" % i for i in range(10)], partition=0)
    commit_plain(b.bootstrap, group, src, {0: 3})
    values = {q: [b"%s-%d-%d" % (outcome.encode(), q, i) for i in range(4)] for q in range(3)}

    p = txn_producer(b.bootstrap, tid, **{"message.timeout.ms": 10000})
    p.init_transactions(15)
    p.begin_transaction()
    produce_txn(p, out, values)
    p.send_offsets_to_transaction([TopicPartition(src, 0, 10)], group_metadata(b.bootstrap, group), 15)
    d = describe_txn(b.port, tid)[tid]
    assert (d["state"], d["topics"]) == ("Ongoing", {out: [0, 1, 2]}), d
    try:  # the broker dies on the way: an error or a timeout here is expected
        (p.commit_transaction if outcome == "commit" else p.abort_transaction)(2)
    except KafkaException:
        pass
    rc = b.wait_exit(10)
    assert rc == -signal.SIGKILL, f"broker exited with {rc}, not killed at {point}"
    del p  # no client retries the EndTxn: the broker must finish on its own

    b.env = {}
    b.start()
    final = "CompleteCommit" if outcome == "commit" else "CompleteAbort"
    wait_for(lambda: describe_txn(b.port, tid)[tid]["state"] == final, timeout=10,
             message=f"{final} after the restart")
    d = describe_txn(b.port, tid)[tid]
    assert d["topics"] == {} and d["error_code"] == 0, d

    # every partition: each record of a commit exactly once, none of an abort; the LSO is free
    produce_values(b.bootstrap, out, [b"sentinel"], partition=0)
    produce_values(b.bootstrap, out, [b"sentinel"], partition=1)
    produce_values(b.bootstrap, out, [b"sentinel"], partition=2)
    n = 12 if outcome == "commit" else 0
    got = {q: [v for _, v in r] for q, r in rows(ck_read(b.bootstrap, out, n + 3, partitions=(0, 1, 2))).items()}
    assert got == {q: (values[q] if outcome == "commit" else []) + [b"sentinel"] for q in range(3)}
    kp = kp_read(b.bootstrap, out, n + 3, partitions=(0, 1, 2))
    for q in range(3):  # offsets 0-3 for the data (a restart may write a second, harmless marker)
        data = list(enumerate(values[q])) if outcome == "commit" else []
        assert kp[q][:-1] == data and kp[q][-1][1] == b"sentinel", (q, kp[q])
    for q in range(3):
        f = raw_fetch(b.port, out, q, committed=True)
        assert f["last_stable_offset"] == f["high_watermark"], (q, f)
        markers = [x for x in wire.parse_batches(f["records"]) if x["control"]]
        want_type = CONTROL_COMMIT if outcome == "commit" else CONTROL_ABORT
        assert markers and all(x["control_type"] == want_type for x in markers), (q, markers)
        assert f["aborted"] == ([] if outcome == "commit" else [(d["producer_id"], 0)]), (q, f["aborted"])
    # the group's offsets: the transaction's on commit, the old ones on abort
    assert offset_fetch(b.port, group, {src: [0]}, require_stable=True) == \
        {(src, 0): (10 if outcome == "commit" else 3, 0)}

    # the transactional id is usable again
    p2 = txn_producer(b.bootstrap, tid)
    p2.init_transactions(15)
    p2.begin_transaction()
    produce_txn(p2, out, {0: [b"again"]})
    p2.commit_transaction(15)
    assert [m.value() for m in ck_read(b.bootstrap, out, (5 if outcome == "commit" else 1) + 1)][-1] == b"again"


# ----------------------------------------------------------------------------- 8. kill -9 with a transaction open

@pytest.mark.slow
@pytest.mark.deadline(90)
@pytest.mark.parametrize("then", ["continue", "timeout"])
def test_broker_kill9_with_open_transaction(fresh_broker, then):
    """After kill -9 the coordinator still has the transaction Ongoing and the partitions still hold
    read_committed at its first offset; the producer carries on and commits, or the timeout aborts it."""
    b = fresh_broker
    t, tid = unique_topic(f"txn-kill-{then}"), unique_topic("tid-kill")
    create_topic(b.bootstrap, t, partitions=2)
    timeout_ms = 60000 if then == "continue" else 4000
    p = txn_producer(b.bootstrap, tid, **{"transaction.timeout.ms": timeout_ms, "message.timeout.ms": 4000})
    p.init_transactions(15)
    p.begin_transaction()
    first = {q: [b"first-%d-%d" % (q, i) for i in range(5)] for q in (0, 1)}
    produce_txn(p, t, first)  # offsets 0-4 in both partitions
    produce_values(b.bootstrap, t, [b"plain-0", b"plain-1"], partition=0)  # 5, 6: behind the open transaction
    b.kill9()
    b.start()

    d = describe_txn(b.port, tid)[tid]
    assert (d["state"], d["topics"]) == ("Ongoing", {t: [0, 1]}), f"after kill -9: {d}"
    assert latest_offsets(b.bootstrap, t, (0, 1)) == {0: 0, 1: 0}, "the last stable offset moved past the open transaction"
    dp = call(b.port, wire.describe_producers_request, wire.decode_describe_producers, {t: [0, 1]})
    for q in (0, 1):
        assert dp[(t, q)]["producers"][d["producer_id"]]["current_txn_start_offset"] == 0, dp

    if then == "continue":
        second = {q: [b"second-%d-%d" % (q, i) for i in range(5)] for q in (0, 1)}
        produce_txn(p, t, second)
        p.commit_transaction(30)
        want = {0: [v for v in first[0]] + [b"plain-0", b"plain-1"] + second[0], 1: first[1] + second[1]}
        n = 22
    else:
        msgs = ck_read(b.bootstrap, t, 2, timeout=20)  # held until the coordinator aborts on timeout
        assert [m.value() for m in msgs] == [b"plain-0", b"plain-1"]
        wait_for(lambda: describe_txn(b.port, tid)[tid]["state"] == "CompleteAbort", timeout=10,
                 message="CompleteAbort after the timeout")
        assert describe_txn(b.port, tid)[tid]["producer_epoch"] == d["producer_epoch"] + 1
        with pytest.raises(KafkaException):
            p.commit_transaction(10)
        produce_values(b.bootstrap, t, [b"end-1"], partition=1)
        want = {0: [b"plain-0", b"plain-1"], 1: [b"end-1"]}
        n = 3
    got = {q: [v for _, v in r] for q, r in rows(ck_read(b.bootstrap, t, n, partitions=(0, 1))).items()}
    assert got == want, "read_committed after kill -9 and restart"
    assert kp_read(b.bootstrap, t, n, partitions=(0, 1)) == rows(ck_read(b.bootstrap, t, n, partitions=(0, 1)))


# ----------------------------------------------------------------------------- 9. consume-transform-produce, killed 50 times

# argv: bootstrap, input topic, output topic, group, transactional id, seed. Reads `input` with
# read_committed from the group's committed offsets, and per small transaction writes
# out[p] key "p:offset" = f(value) and sends the next offsets with the transaction. It stops
# only when killed; a client error ends it with a traceback (the test counts those).
_CTP_CHILD = r"""
import hashlib, random, sys, time
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
bootstrap, src, dst, group, tid, seed = sys.argv[1:7]
rnd = random.Random(int(seed))
p = Producer({"bootstrap.servers": bootstrap, "transactional.id": tid, "linger.ms": 2,
              "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 500})
p.init_transactions(30)
c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "isolation.level": "read_committed",
              "enable.auto.commit": False, "enable.auto.offset.store": False, "auto.offset.reset": "earliest",
              "fetch.wait.max.ms": 50, "enable.partition.eof": False})
c.assign([TopicPartition(src, q) for q in range(3)])  # from the committed offsets
print("READY", flush=True)
while True:
    msgs = c.consume(num_messages=rnd.randint(1, 25), timeout=0.1)
    if not msgs:
        continue
    p.begin_transaction()
    nxt = {}
    for m in msgs:
        if m.error():
            raise KafkaException(m.error())
        p.produce(dst, partition=m.partition(), key=b"%d:%d" % (m.partition(), m.offset()),
                  value=b"f:" + hashlib.sha256(m.value()).hexdigest().encode())
        nxt[m.partition()] = m.offset() + 1
        p.poll(0)
        time.sleep(0.005)  # the work of the transform: transactions stay open a good part of the time
    p.send_offsets_to_transaction([TopicPartition(src, q, o) for q, o in nxt.items()], c.consumer_group_metadata(), 30)
    p.commit_transaction(30)
"""


def _transform(v: bytes) -> bytes:
    return b"f:" + hashlib.sha256(v).hexdigest().encode()


@pytest.mark.slow
@pytest.mark.deadline(200)
def test_consume_transform_produce_killed_50_times_exactly_once(fresh_broker, tmp_path):
    b = fresh_broker
    src, dst, group, tid = unique_topic("ctp-in"), unique_topic("ctp-out"), unique_topic("ctp-grp"), unique_topic("tid-ctp")
    create_topic(b.bootstrap, src, partitions=3)
    create_topic(b.bootstrap, dst, partitions=3)
    per_partition = 1000
    inputs = {(q, i): b"in-%d-%05d-%s" % (q, i, os.urandom(4).hex().encode()) for q in range(3) for i in range(per_partition)}
    rnd = random.Random(447)

    # the input arrives while the processor is being killed (~80 records/s), so kills land mid-work
    feeder_error = []

    def feed():
        try:
            fp = producer(b.bootstrap, **{"enable.idempotence": True})
            log = DeliveryLog()
            for i in range(0, per_partition, 10):
                for q in range(3):
                    for j in range(i, i + 10):
                        fp.produce(src, partition=q, value=inputs[(q, j)], on_delivery=log)
                fp.poll(0)
                time.sleep(0.35)
            flush_all(fp, log, expected=3 * per_partition)
        except Exception as e:  # noqa: BLE001 - reported by the test
            feeder_error.append(e)
    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()

    child_log = open(tmp_path / "ctp-child.log", "ab")

    def spawn():
        return subprocess.Popen([sys.executable, "-c", _CTP_CHILD, b.bootstrap, src, dst, group, tid,
                                 str(rnd.randrange(1 << 30))], stdout=child_log, stderr=child_log,
                                stdin=subprocess.DEVNULL, start_new_session=True)

    early_exits = []
    kills = 0
    child = None
    try:
        while kills < 50:
            child = spawn()
            time.sleep(rnd.uniform(0.2, 1.5))
            rc = child.poll()
            if rc is not None:  # it died on its own: a client error (kept for the report)
                early_exits.append(rc)
                assert len(early_exits) <= 5, f"the processor keeps failing on its own: {early_exits}, see {child_log.name}"
                continue
            os.killpg(child.pid, signal.SIGKILL)
            child.wait(timeout=10)
            kills += 1
        feeder.join(timeout=60)
        assert not feeder.is_alive() and not feeder_error, f"input producer: {feeder_error}"

        # one last run finishes the input
        child = spawn()
        want = {(src, q): (per_partition, 0) for q in range(3)}
        wait_for(lambda: offset_fetch(b.port, group, {src: [0, 1, 2]}, require_stable=True) == want, timeout=60,
                 interval=0.2, message="the group's committed offsets at the end of the input")
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        child_log.close()
        if child is not None and child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)

    total = 3 * per_partition
    msgs = ck_read(b.bootstrap, dst, total, partitions=(0, 1, 2), timeout=40, extra_wait=1.5)
    keys = Counter(m.key() for m in msgs)
    dups = {k: n for k, n in keys.items() if n > 1}
    missing = [k for k in ((b"%d:%d" % qi) for qi in inputs) if k not in keys]
    assert not dups, f"{len(dups)} inputs with more than one committed result, e.g. {list(dups.items())[:5]}"
    assert not missing, f"{len(missing)} inputs without a committed result, e.g. {missing[:5]}"
    assert len(msgs) == total
    for m in msgs:
        q, off = (int(x) for x in m.key().split(b":"))
        assert m.partition() == q and m.value() == _transform(inputs[(q, off)]), f"wrong result for {m.key()}"
    # the kills did abort open transactions: read_uncommitted holds results that were never committed
    hw = latest_offsets(b.bootstrap, dst, (0, 1, 2), IsolationLevel.READ_UNCOMMITTED)
    assert latest_offsets(b.bootstrap, dst, (0, 1, 2)) == hw, "a transaction was left open"
    dirty = len(ck_read(b.bootstrap, dst, total, partitions=(0, 1, 2), isolation="read_uncommitted", timeout=40,
                        extra_wait=1.5))
    print(f"ctp: {kills} kills, {len(early_exits)} early exits, {dirty - total} aborted results, "
          f"high watermarks {hw}")
    assert dirty > total, "no kill landed inside a transaction: the test did not exercise aborts"


# ----------------------------------------------------------------------------- 10. raw wire: admin APIs

def test_raw_transaction_lifecycle_describe_list_and_producers(broker):
    """A transaction driven by hand (InitProducerId, AddPartitionsToTxn, transactional Produce,
    EndTxn), watched through DescribeTransactions, ListTransactions v0-2 and DescribeProducers."""
    port = broker.port
    t = unique_topic("raw-txn")
    create_topic(broker.bootstrap, t, partitions=2)
    prefix = unique_topic("rawtid")
    tid, other = f"{prefix}-a", f"{prefix}-b"
    pid, epoch = init_pid(port, tid, timeout_ms=45000)
    other_pid, _ = init_pid(port, other)
    assert epoch == 0 and pid >= 0 and other_pid != pid

    d = describe_txn(port, tid, f"{prefix}-unknown")
    assert d[tid] == {"error_code": 0, "state": "Empty", "timeout_ms": 45000, "start_time_ms": -1, "producer_id": pid,
                      "producer_epoch": 0, "topics": {}}, d[tid]
    assert d[f"{prefix}-unknown"]["error_code"] == TRANSACTIONAL_ID_NOT_FOUND

    lt = call(port, wire.list_transactions_request, wire.decode_list_transactions, version=2,
              pattern=re.escape(prefix) + "-.*")
    assert lt == {"error_code": 0, "unknown_state_filters": [],
                  "transactions": {tid: (pid, "Empty"), other: (other_pid, "Empty")}}, lt

    before = int(time.time() * 1000)
    assert add_partitions(port, tid, pid, epoch, {t: [0, 1]}) == {(t, 0): 0, (t, 1): 0}
    after = int(time.time() * 1000)
    r0 = raw_produce(port, t, 0, txn_batch([b"r0", b"r1"], pid, epoch, 0), transactional_id=tid)
    r1 = raw_produce(port, t, 1, txn_batch([b"r2"], pid, epoch, 0), transactional_id=tid)
    assert (r0["error_code"], r0["base_offset"], r1["error_code"], r1["base_offset"]) == (0, 0, 0, 0), (r0, r1)

    d = describe_txn(port, tid)[tid]
    assert (d["state"], d["topics"], d["producer_id"], d["producer_epoch"]) == ("Ongoing", {t: [0, 1]}, pid, 0), d
    assert before - 5 <= d["start_time_ms"] <= after + 5, (before, d["start_time_ms"], after)

    def listed(version=0, **kw):
        r = call(port, wire.list_transactions_request, wire.decode_list_transactions, version=version, **kw)
        assert r["error_code"] == 0, r
        return r
    # state and producer id filters (v0); other tests' ids are on this broker too
    assert listed(states=["Ongoing"])["transactions"].get(tid) == (pid, "Ongoing")
    assert tid not in listed(states=["Empty", "CompleteCommit"])["transactions"]
    assert listed(producer_ids=[pid])["transactions"] == {tid: (pid, "Ongoing")}
    assert listed(producer_ids=[pid], states=["Empty"])["transactions"] == {}
    r = listed(states=["Ongoing", "Bogus"], producer_ids=[pid])
    assert r["unknown_state_filters"] == ["Bogus"] and r["transactions"] == {tid: (pid, "Ongoing")}, r
    # v1 duration filter: transactions open longer than the given ms
    time.sleep(0.3)
    assert listed(1, producer_ids=[pid], duration_ms=100)["transactions"] == {tid: (pid, "Ongoing")}
    assert listed(1, producer_ids=[pid], duration_ms=600_000)["transactions"] == {}
    assert listed(1, producer_ids=[pid], duration_ms=-1)["transactions"] == {tid: (pid, "Ongoing")}
    # v2 transactional id pattern (a regular expression matching the whole id)
    assert listed(2, pattern=re.escape(prefix) + "-a")["transactions"] == {tid: (pid, "Ongoing")}
    assert listed(2, pattern=re.escape(prefix) + "-[b-z]")["transactions"] == {other: (other_pid, "Empty")}
    assert listed(2, pattern=re.escape(prefix))["transactions"] == {}, "the pattern must match the whole id"
    assert listed(2, pattern="", producer_ids=[pid])["transactions"] == {tid: (pid, "Ongoing")}, "empty: no filter"
    assert listed(2, pattern=None, producer_ids=[pid])["transactions"] == {tid: (pid, "Ongoing")}, "null: no filter"
    assert listed(2, pattern=re.escape(prefix) + "-.*", states=["Ongoing"])["transactions"] == {tid: (pid, "Ongoing")}
    bad = call(port, wire.list_transactions_request, wire.decode_list_transactions, version=2, pattern="([")
    assert bad["error_code"] == INVALID_REGULAR_EXPRESSION, bad

    # DescribeProducers: the open transaction's first offset in each partition
    dp = call(port, wire.describe_producers_request, wire.decode_describe_producers, {t: [0, 1, 7]})
    assert dp[(t, 7)]["error_code"] == UNKNOWN_TOPIC_OR_PARTITION
    for q, last_seq in ((0, 1), (1, 0)):
        e = dp[(t, q)]
        assert e["error_code"] == 0 and set(e["producers"]) == {pid}, e
        st = e["producers"][pid]
        assert (st["producer_epoch"], st["last_sequence"], st["current_txn_start_offset"]) == (0, last_seq, 0), st
        assert before - 5 <= st["last_timestamp"] <= int(time.time() * 1000) + 5, st

    assert end_txn(port, tid, pid, epoch, commit=True) == 0
    d = describe_txn(port, tid)[tid]
    assert (d["state"], d["topics"], d["producer_epoch"]) == ("CompleteCommit", {}, 0), d
    assert end_txn(port, tid, pid, epoch, commit=True) == 0, "a retried EndTxn(commit) is answered as done"
    assert end_txn(port, tid, pid, epoch, commit=False) == INVALID_TXN_STATE
    dp = call(port, wire.describe_producers_request, wire.decode_describe_producers, {t: [0, 1]})
    assert [dp[(t, q)]["producers"][pid]["current_txn_start_offset"] for q in (0, 1)] == [-1, -1], dp
    assert listed(producer_ids=[pid])["transactions"] == {tid: (pid, "CompleteCommit")}

    # a second transaction, aborted
    assert add_partitions(port, tid, pid, epoch, {t: [0]}) == {(t, 0): 0}
    assert raw_produce(port, t, 0, txn_batch([b"gone"], pid, epoch, 2), transactional_id=tid)["error_code"] == 0
    assert end_txn(port, tid, pid, epoch, commit=False) == 0
    assert describe_txn(port, tid)[tid]["state"] == "CompleteAbort"
    produce_values(broker.bootstrap, t, [b"after"], partition=0)
    # p0: r0 r1 (0, 1), commit marker 2, "gone" 3, abort marker 4, after 5; p1: r2 (0), marker 1
    assert rows(ck_read(broker.bootstrap, t, 4, partitions=(0, 1))) == \
        {0: [(0, b"r0"), (1, b"r1"), (5, b"after")], 1: [(0, b"r2")]}


def test_raw_fetch_aborted_transactions_and_control_batches(broker):
    """Fetch v11: read_committed answers the last stable offset and the aborted transactions
    (producer id, first offset); the markers are control batches of the right type."""
    port = broker.port
    t = unique_topic("raw-fetch")
    create_topic(broker.bootstrap, t)
    tid = unique_topic("tid-rawfetch")
    pid, epoch = init_pid(port, tid)
    seq = 0
    for outcome in ("commit", "abort", "commit"):
        assert add_partitions(port, tid, pid, epoch, {t: [0]}) == {(t, 0): 0}
        r = raw_produce(port, t, 0, txn_batch([b"%s-%d" % (outcome.encode(), i) for i in range(3)], pid, epoch, seq),
                        transactional_id=tid)
        assert r["error_code"] == 0, r
        seq += 3
        assert end_txn(port, tid, pid, epoch, commit=outcome == "commit") == 0
    # an open fourth transaction: the LSO stops at its first offset (12)
    assert add_partitions(port, tid, pid, epoch, {t: [0]}) == {(t, 0): 0}
    assert raw_produce(port, t, 0, txn_batch([b"open"], pid, epoch, seq), transactional_id=tid)["error_code"] == 0

    f = raw_fetch(port, t, 0, committed=True)
    assert (f["error_code"], f["high_watermark"], f["last_stable_offset"]) == (0, 13, 12), f
    assert f["aborted"] == [(pid, 4)], f["aborted"]
    batches = wire.parse_batches(f["records"])
    assert all(x["last_offset"] < 12 for x in batches), "read_committed returned a batch past the last stable offset"
    shape = [(x["base_offset"], x["last_offset"], x["control"], x.get("control_type")) for x in batches]
    assert shape == [(0, 2, False, None), (3, 3, True, CONTROL_COMMIT), (4, 6, False, None),
                     (7, 7, True, CONTROL_ABORT), (8, 10, False, None), (11, 11, True, CONTROL_COMMIT)], shape
    assert all(x["transactional"] and x["producer_id"] == pid and x["producer_epoch"] == epoch for x in batches)
    # read_uncommitted: up to the high watermark, no aborted list
    f = raw_fetch(port, t, 0, committed=False)
    assert (f["high_watermark"], f["last_stable_offset"]) == (13, 12), f
    assert f["aborted"] in (None, []), f["aborted"]
    assert wire.parse_batches(f["records"])[-1]["base_offset"] == 12
    # a fetch from inside the aborted transaction still lists it
    assert raw_fetch(port, t, 0, offset=5, committed=True)["aborted"] == [(pid, 4)]
    assert end_txn(port, tid, pid, epoch, commit=False) == 0
    assert raw_fetch(port, t, 0, offset=8, committed=True)["aborted"] == [(pid, 12)]


# ----------------------------------------------------------------------------- 10. raw wire: hostile input

def test_raw_unknown_transactional_id(broker):
    t = unique_topic("raw-unknown")
    create_topic(broker.bootstrap, t)
    ghost = unique_topic("tid-ghost")
    assert end_txn(broker.port, ghost, 4242, 0, commit=True) == INVALID_PRODUCER_ID_MAPPING
    assert end_txn(broker.port, ghost, 4242, 0, commit=False) == INVALID_PRODUCER_ID_MAPPING
    assert add_partitions(broker.port, ghost, 4242, 0, {t: [0]}) == {(t, 0): INVALID_PRODUCER_ID_MAPPING}
    # a known id with someone else's producer id is no better
    tid = unique_topic("tid-known")
    pid, epoch = init_pid(broker.port, tid)
    assert end_txn(broker.port, tid, pid + 1000, epoch, commit=True) == INVALID_PRODUCER_ID_MAPPING
    assert add_partitions(broker.port, tid, pid + 1000, epoch, {t: [0]}) == {(t, 0): INVALID_PRODUCER_ID_MAPPING}
    assert describe_txn(broker.port, ghost)[ghost]["error_code"] == TRANSACTIONAL_ID_NOT_FOUND
    assert_serving(broker)


def test_raw_transactional_produce_outside_the_transaction_is_refused(broker):
    """Transactional batches only land in partitions added to the producer's open transaction,
    from its current producer id and epoch; refused ones write nothing."""
    port = broker.port
    t = unique_topic("raw-notadded")
    create_topic(broker.bootstrap, t, partitions=2)
    tid = unique_topic("tid-notadded")
    pid, epoch = init_pid(port, tid)

    # no transaction open yet
    r = raw_produce(port, t, 0, txn_batch([b"early"], pid, epoch, 0), transactional_id=tid)
    assert r["error_code"] == INVALID_TXN_STATE, r
    assert add_partitions(port, tid, pid, epoch, {t: [0]}) == {(t, 0): 0}
    # partition 1 was not added
    r = raw_produce(port, t, 1, txn_batch([b"stray"], pid, epoch, 0), transactional_id=tid)
    assert r["error_code"] == INVALID_TXN_STATE and r["base_offset"] == -1, r
    # the wrong epoch, another producer id, a non-transactional batch in a transactional produce
    assert raw_produce(port, t, 0, txn_batch([b"e+1"], pid, epoch + 1, 0), transactional_id=tid)["error_code"] == \
        INVALID_PRODUCER_EPOCH
    assert raw_produce(port, t, 0, txn_batch([b"pid"], pid + 1000, epoch, 0), transactional_id=tid)["error_code"] == \
        INVALID_PRODUCER_ID_MAPPING
    assert raw_produce(port, t, 0, txn_batch([b"plain"], pid, epoch, 0, transactional=False),
                       transactional_id=tid)["error_code"] == INVALID_RECORD
    # nothing of that was written
    assert latest_offsets(broker.bootstrap, t, (0, 1), IsolationLevel.READ_UNCOMMITTED) == {0: 0, 1: 0}
    # the transaction itself is unharmed
    r = raw_produce(port, t, 0, txn_batch([b"good"], pid, epoch, 0), transactional_id=tid)
    assert (r["error_code"], r["base_offset"]) == (0, 0), r
    assert end_txn(port, tid, pid, epoch, commit=True) == 0
    assert latest_offsets(broker.bootstrap, t, (0, 1), IsolationLevel.READ_UNCOMMITTED) == {0: 2, 1: 0}
    assert [m.value() for m in ck_read(broker.bootstrap, t, 1)] == [b"good"]
    assert_serving(broker)


def test_raw_non_transactional_produce_with_transactional_batch(broker):
    port = broker.port
    t = unique_topic("raw-smuggle")
    create_topic(broker.bootstrap, t)
    tid = unique_topic("tid-smuggle")
    pid, epoch = init_pid(port, tid)
    assert add_partitions(port, tid, pid, epoch, {t: [0]}) == {(t, 0): 0}
    # even for a partition in the open transaction: without a transactional id it is not the transaction's
    r = raw_produce(port, t, 0, txn_batch([b"smuggled"], pid, epoch, 0), transactional_id=None)
    assert r["error_code"] == INVALID_RECORD, r
    # an idempotent producer's id (no transactional id) fares the same
    idem = call(port, wire.init_producer_id_request, wire.decode_init_producer_id, None, 60000)
    assert idem["error_code"] == 0
    r = raw_produce(port, t, 0, txn_batch([b"idem"], idem["producer_id"], idem["producer_epoch"], 0),
                    transactional_id=None)
    assert r["error_code"] == INVALID_RECORD, r
    assert latest_offsets(broker.bootstrap, t, (0,), IsolationLevel.READ_UNCOMMITTED) == {0: 0}
    assert end_txn(port, tid, pid, epoch, commit=False) == 0
    assert_serving(broker)


@pytest.mark.parametrize("timeout_ms", [0, -1, 900_001, 2**31 - 1])
def test_raw_init_producer_id_invalid_transaction_timeout(broker, timeout_ms):
    tid = unique_topic("tid-badtimeout")
    r = call(broker.port, wire.init_producer_id_request, wire.decode_init_producer_id, tid, timeout_ms)
    assert r["error_code"] == INVALID_TRANSACTION_TIMEOUT, r
    assert describe_txn(broker.port, tid)[tid]["error_code"] == TRANSACTIONAL_ID_NOT_FOUND, "a refused id was kept"
    # the limit itself is fine
    r = call(broker.port, wire.init_producer_id_request, wire.decode_init_producer_id, tid, 900_000)
    assert r["error_code"] == 0, r
    assert describe_txn(broker.port, tid)[tid]["timeout_ms"] == 900_000
    assert_serving(broker)


def test_raw_end_txn_epochs_after_fencing(broker):
    """EndTxn from a fenced epoch: PRODUCER_FENCED (v2+); from a future epoch: INVALID_PRODUCER_EPOCH."""
    port = broker.port
    t = unique_topic("raw-epochs")
    create_topic(broker.bootstrap, t)
    tid = unique_topic("tid-epochs")
    pid, e0 = init_pid(port, tid)
    assert add_partitions(port, tid, pid, e0, {t: [0]}) == {(t, 0): 0}
    assert raw_produce(port, t, 0, txn_batch([b"old"], pid, e0, 0), transactional_id=tid)["error_code"] == 0
    assert end_txn(port, tid, pid, e0 + 1, commit=True) == INVALID_PRODUCER_EPOCH
    pid2, e1 = init_pid(port, tid)  # a new instance: aborts the open transaction, bumps the epoch
    assert pid2 == pid and e1 > e0
    assert end_txn(port, tid, pid, e0, commit=True) == PRODUCER_FENCED
    assert add_partitions(port, tid, pid, e0, {t: [0]}) == {(t, 0): PRODUCER_FENCED}
    # the zombie's late write is refused too (the abort marker fenced its epoch in the partition)
    r = raw_produce(port, t, 0, txn_batch([b"late"], pid, e0, 1), transactional_id=tid)
    assert r["error_code"] == INVALID_PRODUCER_EPOCH, r
    produce_values(broker.bootstrap, t, [b"after"], partition=0)
    assert [(m.offset(), m.value()) for m in ck_read(broker.bootstrap, t, 1)] == [(2, b"after")]
    assert_serving(broker)


def test_riverbank_transactions_cli_lists_and_describes_open_and_ended_transactions(broker):
    """`riverbank transactions list|describe` (KafkaClient's admin calls) on a transaction a
    librdkafka producer holds open, then after its commit."""
    import json as _json
    from conftest import riverbank_binary
    topic = unique_topic("cli")
    create_topic(broker.bootstrap, topic, partitions=2)
    tid = unique_topic("cli-tx")
    p = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": tid})
    p.init_transactions(10)
    p.begin_transaction()
    p.produce(topic, value=b"a", partition=0)
    p.produce(topic, value=b"b", partition=1)
    assert p.flush(10) == 0
    binary = str(riverbank_binary().absolute())

    def cli(*args):
        r = subprocess.run([binary, "transactions", *args, "--bootstrap", broker.bootstrap], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        return r.stdout

    listed = cli("list", "--state", "Ongoing")
    assert any(line.split("\t")[0] == tid and line.split("\t")[2] == "Ongoing" for line in listed.splitlines()[1:]), listed
    assert tid not in cli("list", "--state", "CompleteCommit")
    d = _json.loads(cli("describe", tid, "--json").strip())
    assert d["state"] == "Ongoing" and d["start_time_ms"] > 0
    assert sorted(d["partitions"]) == [f"{topic}-0", f"{topic}-1"]
    assert "open" in cli("describe", tid)
    p.commit_transaction(10)
    d = _json.loads(cli("describe", tid, "--json").strip())
    assert d["state"] == "CompleteCommit" and d["partitions"] == [] and d["start_time_ms"] == -1
    r = subprocess.run([binary, "transactions", "list", "--state", "Hanging", "--bootstrap", broker.bootstrap],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "Hanging" in r.stderr


def test_transaction_metrics_count_endings_by_outcome_and_cause(broker_factory):
    """/metrics: transactions ended by commit, by the client's abort, on timeout and by fencing;
    the open gauge and the end-duration timer."""
    import urllib.request
    from conftest import free_port
    mport = free_port()
    b = broker_factory(extra_args=["--metrics-listen", f"127.0.0.1:{mport}"])
    topic = unique_topic("m")
    create_topic(b.bootstrap, topic, partitions=1)

    def txp(tid, **conf):
        p = Producer({"bootstrap.servers": b.bootstrap, "transactional.id": tid, **conf})
        p.init_transactions(10)
        p.begin_transaction()
        p.produce(topic, value=b"x")
        assert p.flush(10) == 0
        return p

    txp(unique_topic("c")).commit_transaction(10)
    txp(unique_topic("a")).abort_transaction(10)
    txp(unique_topic("t"), **{"transaction.timeout.ms": 1000})  # left open: the coordinator aborts it
    tid = unique_topic("f")
    txp(tid)
    Producer({"bootstrap.servers": b.bootstrap, "transactional.id": tid}).init_transactions(10)  # fences the first

    def ended():
        text = urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=5).read().decode()
        out = {}
        for m in re.finditer(r'^riverbank_transactions_ended_total\{([^}]*)\} (\d+)', text, re.M):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
            out[(labels["outcome"], labels["by"])] = int(m.group(2))
        return out, text

    got = wait_for(lambda: (lambda e: e if e[0].get(("abort", "timeout")) else None)(ended()), timeout=15,
                   message="the timed-out transaction's abort in /metrics")
    counts, text = got
    assert counts == {("commit", "client"): 1, ("abort", "client"): 1, ("abort", "timeout"): 1, ("abort", "fencing"): 1}, counts
    assert re.search(r"^riverbank_transactions_open 0(\.0)?$", text, re.M), text
    assert "riverbank_transaction_end_duration_seconds" in text
