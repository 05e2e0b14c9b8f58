"""KIP-848 consumer protocol (group.protocol=consumer) with librdkafka/confluent-kafka:
broker-side assignment (uniform and range), takeover after a leave and after a killed
client, offsets committed with the member epoch that resume exactly, across broker restarts,
and group ids that stay either classic or consumer-protocol.

The broker gets a short consumer heartbeat interval and session timeout (broker-side in
KIP-848) so that the tests run in seconds.
"""
from __future__ import annotations

import struct
import time

import pytest
from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

import wire
from clients import create_topic, produce_values
from conftest import _new_broker, wait_for
from groupkit import killed_member_taken_over, assignments, close_all, poll_all, uid, wait_disjoint_cover

pytestmark = [pytest.mark.groups, pytest.mark.riverbank_only]

ENV = {
    "RIVERBANK_GROUP_CONSUMER_HEARTBEAT_INTERVAL_MS": "500",
    "RIVERBANK_GROUP_CONSUMER_SESSION_TIMEOUT_MS": "6000",
    "RIVERBANK_GROUP_INITIAL_REBALANCE_DELAY_MS": "300",
}


@pytest.fixture(scope="module")
def cbroker(tmp_path_factory):
    b = _new_broker(tmp_path_factory.mktemp("cbroker"), env=ENV)
    yield b
    b.cleanup()


@pytest.fixture
def own_broker(tmp_path):
    b = _new_broker(tmp_path / "broker", env=ENV)
    yield b
    b.cleanup()


def kip848_consumer(bootstrap, group, **conf) -> Consumer:
    base = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "group.protocol": "consumer",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "fetch.wait.max.ms": 100,
        "reconnect.backoff.ms": 50,
        "reconnect.backoff.max.ms": 500,
        "topic.metadata.refresh.interval.ms": 2000,
    }
    base.update(conf)
    return Consumer(base)


def test_librdkafka_speaks_kip848():
    from confluent_kafka import libversion
    major, minor = (int(x) for x in libversion()[0].split(".")[:2])
    assert (major, minor) >= (2, 4), libversion()


@pytest.mark.deadline(90)
def test_three_consumers_disjoint_cover_every_record_once(cbroker):
    topic, group = uid("k3"), uid("grp")
    create_topic(cbroker.bootstrap, topic, partitions=6)
    cs = [kip848_consumer(cbroker.bootstrap, group) for _ in range(3)]
    try:
        for c in cs:
            c.subscribe([topic])
        got = []
        wait_disjoint_cover(cs, topic, 6, sink=got)
        # A disjoint cover can be an intermediate step of reconciliation (revoke before assign
        # moves partitions one heartbeat at a time); the uniform assignor's target is 2/2/2.
        # Records are produced only once it is reached: without commits, a partition that moves
        # after its first owner read from it is read again by the next (Kafka semantics).
        wait_for(lambda: (poll_all(cs, sink=got), sorted(len(x) for x in assignments(cs)) == [2, 2, 2])[1],
                 timeout=20, interval=0.01, message="balanced 2/2/2 assignment")
        assert got == []
        produce_values(cbroker.bootstrap, topic, [b"v%d" % i for i in range(60)])
        wait_for(lambda: (poll_all(cs, sink=got), len(got) >= 60)[1], timeout=20, message="all 60 records")
        poll_all(cs, rounds=5, sink=got)
        assert sorted(m.value() for m in got) == sorted(b"v%d" % i for i in range(60))

        admin = AdminClient({"bootstrap.servers": cbroker.bootstrap})
        listed = admin.list_consumer_groups(request_timeout=10).result(timeout=15)
        mine = [g for g in listed.valid if g.group_id == group]
        assert mine, listed.valid
        if hasattr(mine[0], "type") and mine[0].type is not None:
            assert "CONSUMER" in str(mine[0].type).upper()
        d = admin.describe_consumer_groups([group], request_timeout=10)[group].result(timeout=15)
        assert len(d.members) == 3
        described = sorted(sorted(tp.partition for tp in m.assignment.topic_partitions) for m in d.members)
        assert sorted(sum(described, [])) == list(range(6))
    finally:
        close_all(cs)


@pytest.mark.deadline(90)
def test_range_remote_assignor(cbroker):
    topic, group = uid("range"), uid("grp")
    create_topic(cbroker.bootstrap, topic, partitions=6)
    cs = [kip848_consumer(cbroker.bootstrap, group, **{"group.remote.assignor": "range"}) for _ in range(3)]
    try:
        for c in cs:
            c.subscribe([topic])
        wait_disjoint_cover(cs, topic, 6)

        def ranges():  # reconciliation may pass through other disjoint covers first
            poll_all(cs)
            return sorted(sorted(p for _, p in x) for x in assignments(cs))
        wait_for(lambda: ranges() == [[0, 1], [2, 3], [4, 5]], timeout=20, interval=0.01,
                 message="range assignment 0-1 / 2-3 / 4-5")
    finally:
        close_all(cs)


@pytest.mark.deadline(90)
def test_leave_and_join_reassign(cbroker):
    topic, group = uid("leave"), uid("grp")
    create_topic(cbroker.bootstrap, topic, partitions=6)
    cs = [kip848_consumer(cbroker.bootstrap, group) for _ in range(3)]
    try:
        for c in cs:
            c.subscribe([topic])
        wait_disjoint_cover(cs, topic, 6)
        cs[0].close()  # heartbeat with epoch -1
        t0 = time.monotonic()
        wait_disjoint_cover(cs[1:], topic, 6, timeout=20)
        assert time.monotonic() - t0 < 5.0, "a leave must not wait for the session timeout"
        cs.append(kip848_consumer(cbroker.bootstrap, group))
        cs[-1].subscribe([topic])
        wait_disjoint_cover(cs[1:], topic, 6, timeout=20)
        wait_for(lambda: (poll_all(cs[1:]), sorted(len(x) for x in assignments(cs[1:])) == [2, 2, 2])[1],
                 timeout=20, interval=0.01, message="newcomer gets its share: 2/2/2")
    finally:
        close_all(cs[1:])


@pytest.mark.deadline(90)
def test_killed_consumer_taken_over_after_session_timeout(cbroker):
    topic, group = uid("kill"), uid("grp")
    create_topic(cbroker.bootstrap, topic, partitions=6)
    killed_member_taken_over(kip848_consumer(cbroker.bootstrap, group), cbroker.bootstrap, group, topic,
                             {"group.protocol": "consumer"}, max_seconds=12.0)


def consume_n(c: Consumer, n: int, timeout=20.0):
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        m = c.poll(0.1)
        if m is not None and not m.error():
            got.append(m)
    return got


@pytest.mark.deadline(120)
def test_offsets_resume_across_members_and_broker_restarts(own_broker):
    b = own_broker
    topic, group = uid("resume"), uid("grp")
    create_topic(b.bootstrap, topic, partitions=2)
    produce_values(b.bootstrap, topic, [b"a%d" % i for i in range(20)], partition=0)
    produce_values(b.bootstrap, topic, [b"b%d" % i for i in range(20)], partition=1)

    c = kip848_consumer(b.bootstrap, group)
    c.subscribe([topic])
    got = consume_n(c, 40)
    assert len(got) == 40
    # Commit 5 past the first record of each partition, with metadata, synchronously.
    c.commit(offsets=[TopicPartition(topic, 0, 5, metadata="m0"), TopicPartition(topic, 1, 7)], asynchronous=False)
    committed = c.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)], timeout=10)
    assert [(tp.partition, tp.offset) for tp in committed] == [(0, 5), (1, 7)]
    assert committed[0].metadata == "m0"
    c.close()

    def resumed_values():
        c2 = kip848_consumer(b.bootstrap, group)
        c2.subscribe([topic])
        try:
            return sorted(m.value() for m in consume_n(c2, 28))
        finally:
            c2.close()
    want = sorted([b"a%d" % i for i in range(5, 20)] + [b"b%d" % i for i in range(7, 20)])
    assert resumed_values() == want

    # Live members across a restart: they are unknown afterwards and rejoin with epoch 0.
    live = kip848_consumer(b.bootstrap, group)
    live.subscribe([topic])
    wait_for(lambda: (live.poll(0.05), len(live.assignment()) == 2)[1], timeout=20, message="assignment")
    for hard in (False, True):
        b.restart(hard=hard)

        def rejoined_and_commits():
            live.poll(0.05)
            if len(live.assignment()) != 2:
                return False
            try:
                live.commit(offsets=[TopicPartition(topic, 0, 6)], asynchronous=False)
                return True
            except KafkaException:
                return False
        wait_for(rejoined_and_commits, timeout=40, message="member back after the restart and able to commit")
        got = live.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)], timeout=10)
        assert [(tp.partition, tp.offset) for tp in got] == [(0, 6), (1, 7)]
    live.close()


# ----------------------------------------------------------------------------- classic vs consumer group ids

def join_group_v5(port: int, group: str) -> int:
    """A classic JoinGroup (v5) by hand; returns its error code."""
    body = (wire.string(group) + struct.pack(">ii", 10000, 10000) + wire.string("") + wire.string(None)
            + wire.string("consumer") + struct.pack(">i", 1) + wire.string("range") + struct.pack(">i", 0))
    s = wire.connect(port)
    try:
        data = wire.roundtrip(s, wire.header_v1(11, 5, 7) + body)
    finally:
        s.close()
    r = wire.Reader(data)
    assert r.i32() == 7  # correlation id
    r.i32()  # throttle
    return r.i16()


@pytest.mark.deadline(60)
def test_group_id_is_classic_or_consumer(cbroker):
    topic, group = uid("sep"), uid("grp")
    create_topic(cbroker.bootstrap, topic, partitions=2)
    c = kip848_consumer(cbroker.bootstrap, group)
    try:
        c.subscribe([topic])
        wait_for(lambda: (c.poll(0.05), len(c.assignment()) == 2)[1], timeout=20, message="assignment")
        assert join_group_v5(cbroker.port, group) == 23  # INCONSISTENT_GROUP_PROTOCOL
    finally:
        c.close()
    # Empty now: a classic member may take the group id over.
    assert join_group_v5(cbroker.port, group) in (0, 79)  # joined, or MEMBER_ID_REQUIRED


# ----------------------------------------------------------------------------- offset expiry

@pytest.mark.deadline(60)
def test_offsets_of_empty_group_expire(tmp_path):
    b = _new_broker(tmp_path / "broker", env={**ENV, "RIVERBANK_OFFSETS_RETENTION_MS": "3000",
                                               "RIVERBANK_OFFSETS_RETENTION_CHECK_INTERVAL_MS": "200"})
    try:
        topic, group = uid("exp"), uid("grp")
        create_topic(b.bootstrap, topic, partitions=1)
        produce_values(b.bootstrap, topic, [b"x%d" % i for i in range(5)], partition=0)
        c = kip848_consumer(b.bootstrap, group)
        c.subscribe([topic])
        assert len(consume_n(c, 5)) == 5
        c.commit(offsets=[TopicPartition(topic, 0, 3)], asynchronous=False)
        time.sleep(4)  # a member is still there: offsets are kept
        assert c.committed([TopicPartition(topic, 0)], timeout=10)[0].offset == 3
        c.close()  # the group is empty from now on
        probe = Consumer({"bootstrap.servers": b.bootstrap, "group.id": group})
        try:
            assert probe.committed([TopicPartition(topic, 0)], timeout=10)[0].offset == 3
            wait_for(lambda: probe.committed([TopicPartition(topic, 0)], timeout=10)[0].offset < 0, timeout=15,
                     message="offsets expired 3 s after the group emptied")
        finally:
            probe.close()
    finally:
        b.cleanup()
