"""Group coordinator with real clients: assignors, rebalances on leave/death, static members,
a 20-member group, offsets across broker restarts and kill -9, kcat -G, kafka-python,
and group administration from confluent-kafka and kafka-python.

Run by default (RIVERBANK_GROUPS=0 skips them; see conftest). The brokers here get an explicit initial
rebalance delay (RIVERBANK_GROUP_INITIAL_REBALANCE_DELAY_MS) so timings do not depend on
the default.
"""
from __future__ import annotations

import subprocess
import time

import pytest
from confluent_kafka import Consumer, ConsumerGroupState, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from clients import create_topic, produce_values
from conftest import _new_broker, wait_for
from groupkit import killed_member_taken_over, close_all, poll_all, uid, wait_disjoint_cover

pytestmark = [pytest.mark.groups]

GROUP_ENV = {"RIVERBANK_GROUP_INITIAL_REBALANCE_DELAY_MS": "500"}


@pytest.fixture(scope="module")
def gbroker(tmp_path_factory):
    b = _new_broker(tmp_path_factory.mktemp("gbroker"), env=GROUP_ENV)
    yield b
    b.cleanup()


@pytest.fixture
def own_broker(tmp_path):
    b = _new_broker(tmp_path / "broker", env=GROUP_ENV)
    yield b
    b.cleanup()


def group_consumer(bootstrap, group, **conf) -> Consumer:
    base = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
        "fetch.wait.max.ms": 100,
        "reconnect.backoff.ms": 50,
        "reconnect.backoff.max.ms": 500,
        "topic.metadata.refresh.interval.ms": 2000,
    }
    base.update(conf)
    return Consumer(base)


def describe(bootstrap, group):
    admin = AdminClient({"bootstrap.servers": bootstrap})  # keep a reference until the result is in
    return admin.describe_consumer_groups([group], request_timeout=10)[group].result(timeout=15)


# ----------------------------------------------------------------------------- assignment and rebalances

@pytest.mark.deadline(90)
@pytest.mark.parametrize("strategy", ["range", "roundrobin", "cooperative-sticky"])
def test_three_consumers_disjoint_full_cover(gbroker, strategy):
    topic, group = uid("g3"), uid("grp")
    create_topic(gbroker.bootstrap, topic, partitions=6)
    produce_values(gbroker.bootstrap, topic, [b"v%d" % i for i in range(60)])
    cs = [group_consumer(gbroker.bootstrap, group, **{"partition.assignment.strategy": strategy}) for _ in range(3)]
    try:
        for c in cs:
            c.subscribe([topic])
        got = []
        a = wait_disjoint_cover(cs, topic, 6, sink=got)
        assert all(len(x) == 2 for x in a), a
        # Every record is delivered exactly once across the group.
        wait_for(lambda: (poll_all(cs, sink=got), len(got) >= 60)[1], timeout=20, message="all 60 records")
        poll_all(cs, rounds=5, sink=got)
        assert sorted(m.value() for m in got) == sorted(b"v%d" % i for i in range(60))
        d = describe(gbroker.bootstrap, group)
        assert d.state == ConsumerGroupState.STABLE
        assert len(d.members) == 3
        assert d.partition_assignor == strategy
    finally:
        close_all(cs)


@pytest.mark.deadline(90)
def test_leaving_consumer_partitions_taken_over(gbroker):
    topic, group = uid("leave"), uid("grp")
    create_topic(gbroker.bootstrap, topic, partitions=6)
    cs = [group_consumer(gbroker.bootstrap, group) for _ in range(3)]
    try:
        for c in cs:
            c.subscribe([topic])
        wait_disjoint_cover(cs, topic, 6)
        cs[0].close()  # LeaveGroup
        t0 = time.monotonic()
        wait_disjoint_cover(cs[1:], topic, 6, timeout=20)
        # Leaving is immediate (no session-timeout wait).
        assert time.monotonic() - t0 < 5.5
        # A new consumer joining triggers a rebalance that gives it a share.
        cs.append(group_consumer(gbroker.bootstrap, group))
        cs[-1].subscribe([topic])
        wait_disjoint_cover(cs[1:], topic, 6, timeout=20)
    finally:
        close_all(cs[1:])


@pytest.mark.deadline(90)
def test_killed_consumer_process_taken_over_after_session_timeout(gbroker):
    topic, group = uid("kill"), uid("grp")
    create_topic(gbroker.bootstrap, topic, partitions=6)
    killed_member_taken_over(group_consumer(gbroker.bootstrap, group), gbroker.bootstrap, group, topic,
                             {"session.timeout.ms": 6000, "heartbeat.interval.ms": 500}, max_seconds=20.0)


@pytest.mark.deadline(120)
def test_twenty_member_group(gbroker):
    topic, group = uid("twenty"), uid("grp")
    create_topic(gbroker.bootstrap, topic, partitions=40)
    cs = [group_consumer(gbroker.bootstrap, group, **{"partition.assignment.strategy": "roundrobin"}) for _ in range(20)]
    try:
        for c in cs:
            c.subscribe([topic])
        a = wait_disjoint_cover(cs, topic, 40, timeout=60)
        assert all(len(x) == 2 for x in a)
        assert len(describe(gbroker.bootstrap, group).members) == 20
    finally:
        close_all(cs)


@pytest.mark.deadline(60)
def test_static_member_rejoins_without_rebalance(gbroker):
    topic, group = uid("static"), uid("grp")
    create_topic(gbroker.bootstrap, topic, partitions=4)
    conf = {"group.instance.id": "inst-a", "session.timeout.ms": 10000}
    a = group_consumer(gbroker.bootstrap, group, **conf)
    b = group_consumer(gbroker.bootstrap, group, **{"group.instance.id": "inst-b", "session.timeout.ms": 10000})
    try:
        a.subscribe([topic])
        b.subscribe([topic])
        wait_disjoint_cover([a, b], topic, 4)
        before = {tp.partition for tp in a.assignment()}
        a.close()  # a static member's close does not leave the group
        a = group_consumer(gbroker.bootstrap, group, **conf)
        a.subscribe([topic])
        wait_for(lambda: (poll_all([a, b]), {tp.partition for tp in a.assignment()} == before)[1], timeout=20,
                 message="static member gets its old partitions back")
        d = describe(gbroker.bootstrap, group)
        assert d.state == ConsumerGroupState.STABLE
        assert sorted(m.group_instance_id for m in d.members) == ["inst-a", "inst-b"]
        assert len(b.assignment()) == 2  # b never lost its partitions
    finally:
        close_all([a, b])


# ----------------------------------------------------------------------------- offsets

def consume_and_commit(bootstrap, topic, group, n):
    """Consumes exactly n records, committing each one synchronously; returns their values."""
    c = group_consumer(bootstrap, group)
    out = []
    try:
        c.subscribe([topic])
        deadline = time.monotonic() + 30
        while len(out) < n and time.monotonic() < deadline:
            m = c.poll(0.1)
            if m is None or m.error():
                continue
            out.append(m.value())
            c.commit(message=m, asynchronous=False)
        assert len(out) == n
    finally:
        c.close()
    return out


def consume_rest(bootstrap, topic, group, expect, idle=2.0):
    c = group_consumer(bootstrap, group)
    out = []
    try:
        c.subscribe([topic])
        deadline = time.monotonic() + 30
        last = time.monotonic()
        while time.monotonic() < deadline:
            m = c.poll(0.1)
            if m is not None and not m.error():
                out.append(m.value())
                last = time.monotonic()
            elif len(out) >= expect and time.monotonic() - last > idle:
                break
    finally:
        c.close()
    return out


@pytest.mark.deadline(120)
@pytest.mark.parametrize("hard", [False, True], ids=["clean-restart", "kill-9"])
def test_committed_offsets_survive_broker_restart(own_broker, hard):
    topic, group = uid("dur"), uid("grp")
    create_topic(own_broker.bootstrap, topic, partitions=3)
    values = [b"r%03d" % i for i in range(90)]
    produce_values(own_broker.bootstrap, topic, values, acks="all")
    first = consume_and_commit(own_broker.bootstrap, topic, group, 40)
    own_broker.restart(hard=hard)
    admin = AdminClient({"bootstrap.servers": own_broker.bootstrap})
    res = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(timeout=15)
    assert sum(tp.offset for tp in res.topic_partitions if tp.offset >= 0) == 40
    rest = consume_rest(own_broker.bootstrap, topic, group, expect=50)
    # Nothing re-delivered, nothing skipped.
    assert sorted(first + rest) == values, (len(first), len(rest))


@pytest.mark.deadline(90)
def test_live_consumer_keeps_its_generation_across_broker_restart(own_broker):
    topic, group = uid("live"), uid("grp")
    create_topic(own_broker.bootstrap, topic, partitions=2)
    c = group_consumer(own_broker.bootstrap, group)
    try:
        c.subscribe([topic])
        wait_for(lambda: (c.poll(0.1), len(c.assignment()) == 2)[1], timeout=20, message="assignment")
        own_broker.restart(hard=True)
        produce_values(own_broker.bootstrap, topic, [b"after"], partition=1)
        got = []
        wait_for(lambda: (poll_all([c], sink=got), got)[1], timeout=30, message="record after restart")
        c.commit(asynchronous=False)
        assert describe(own_broker.bootstrap, group).state == ConsumerGroupState.STABLE
    finally:
        c.close()


@pytest.mark.deadline(60)
def test_commit_metadata_visible_to_members_and_new_consumers(gbroker):
    topic, group = uid("meta"), uid("grp")
    create_topic(gbroker.bootstrap, topic, partitions=2)
    c = group_consumer(gbroker.bootstrap, group)
    try:
        c.subscribe([topic])
        wait_for(lambda: (c.poll(0.1), len(c.assignment()) == 2)[1], timeout=20, message="assignment")
        tp0 = TopicPartition(topic, 0, 5, metadata="checkpoint-a")
        c.commit(offsets=[tp0, TopicPartition(topic, 1, 7)], asynchronous=False)
        got = c.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)], timeout=10)
        assert [t.offset for t in got] == [5, 7]
        assert got[0].metadata == "checkpoint-a"
    finally:
        c.close()
    other = group_consumer(gbroker.bootstrap, group)
    try:
        got = other.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)], timeout=10)
        assert [t.offset for t in got] == [5, 7]
    finally:
        other.close()


# ----------------------------------------------------------------------------- other clients, admin

@pytest.mark.deadline(60)
def test_kcat_group_consumer_commits(gbroker):
    topic, group = uid("kcat"), uid("grp")
    create_topic(gbroker.bootstrap, topic, partitions=3)
    produce_values(gbroker.bootstrap, topic, [b"k%d" % i for i in range(30)])
    out = subprocess.run(["kcat", "-b", gbroker.bootstrap, "-G", group, topic, "-o", "beginning", "-e", "-q",
                          "-X", "auto.commit.interval.ms=100"],
                         capture_output=True, timeout=40, text=True)
    assert out.returncode == 0, out.stderr
    assert sorted(out.stdout.split()) == sorted("k%d" % i for i in range(30))
    admin = AdminClient({"bootstrap.servers": gbroker.bootstrap})
    res = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(timeout=10)
    assert sum(tp.offset for tp in res.topic_partitions if tp.offset >= 0) == 30


@pytest.mark.deadline(90)
def test_kafka_python_group_consumer_and_admin(gbroker):
    from kafka import KafkaAdminClient, KafkaConsumer
    from kafka.structs import TopicPartition as KTP

    topic, group = uid("kp"), uid("grp")
    create_topic(gbroker.bootstrap, topic, partitions=3)
    produce_values(gbroker.bootstrap, topic, [b"p%d" % i for i in range(30)])
    c = KafkaConsumer(topic, bootstrap_servers=gbroker.bootstrap, group_id=group, auto_offset_reset="earliest",
                      enable_auto_commit=False, consumer_timeout_ms=4000, session_timeout_ms=6000,
                      heartbeat_interval_ms=1000, client_id="kp-client")
    admin = KafkaAdminClient(bootstrap_servers=gbroker.bootstrap)
    try:
        got = [m.value for m in c]
        assert sorted(got) == sorted(b"p%d" % i for i in range(30))
        c.commit()
        listed = admin.list_groups()
        assert group in [g["group_id"] for g in listed]
        d = admin.describe_groups([group])[group]
        assert d["group_state"] == "Stable"
        assert [m["client_id"] for m in d["members"]] == ["kp-client"]
        offs = admin.list_group_offsets(group)[group]
        assert sum(v.offset for k, v in offs.items() if k.topic == topic) == 30
    finally:
        c.close()
    c2 = KafkaConsumer(topic, bootstrap_servers=gbroker.bootstrap, group_id=group, auto_offset_reset="earliest",
                       enable_auto_commit=False, consumer_timeout_ms=3000, session_timeout_ms=6000)
    try:
        assert [m.value for m in c2] == []  # resumes after the last commit
        assert c2.committed(KTP(topic, 0)) is not None
    finally:
        c2.close()
    assert admin.delete_groups([group]) == {group: "OK"}
    assert group not in [g["group_id"] for g in admin.list_groups()]
    admin.close()


@pytest.mark.deadline(60)
def test_confluent_admin_list_describe_delete(gbroker):
    topic, group = uid("adm"), uid("grp")
    create_topic(gbroker.bootstrap, topic, partitions=2)
    admin = AdminClient({"bootstrap.servers": gbroker.bootstrap})
    c = group_consumer(gbroker.bootstrap, group, **{"client.id": "adm-client"})
    try:
        c.subscribe([topic])
        wait_for(lambda: (c.poll(0.1), len(c.assignment()) == 2)[1], timeout=20, message="assignment")
        c.commit(offsets=[TopicPartition(topic, 0, 3), TopicPartition(topic, 1, 4)], asynchronous=False)
        listed = admin.list_consumer_groups().result(timeout=10)
        ids = {g.group_id: g for g in listed.valid}
        assert group in ids and ids[group].state == ConsumerGroupState.STABLE
        empty_only = admin.list_consumer_groups(states={ConsumerGroupState.EMPTY}).result(timeout=10)
        assert group not in {g.group_id for g in empty_only.valid}
        d = admin.describe_consumer_groups([group])[group].result(timeout=10)
        assert d.state == ConsumerGroupState.STABLE
        assert [m.client_id for m in d.members] == ["adm-client"]
        assert d.members[0].host.startswith("/127.0.0.1")
        assert sorted(tp.partition for tp in d.members[0].assignment.topic_partitions) == [0, 1]
        # A group with members cannot be deleted.
        with pytest.raises(Exception) as ei:
            admin.delete_consumer_groups([group])[group].result(timeout=10)
        assert "NON_EMPTY_GROUP" in str(ei.value) or "not empty" in str(ei.value).lower()
        offs = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(timeout=10)
        assert sorted((tp.partition, tp.offset) for tp in offs.topic_partitions) == [(0, 3), (1, 4)]
    finally:
        c.close()
    admin.delete_consumer_groups([group])[group].result(timeout=10)
    listed = admin.list_consumer_groups().result(timeout=10)
    assert group not in {g.group_id for g in listed.valid}
    with pytest.raises(Exception) as ei:
        admin.delete_consumer_groups([group])[group].result(timeout=10)
    assert "GROUP_ID_NOT_FOUND" in str(ei.value) or "does not exist" in str(ei.value).lower()
