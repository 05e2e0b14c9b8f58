"""Consumer groups (next milestone): subscribe, rebalance, committed offsets.

Run by default; RIVERBANK_GROUPS=0 skips them (see conftest.py)."""
from __future__ import annotations

import asyncio
import subprocess
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaException, TopicPartition

from clients import admin, create_topic, produce_values
from conftest import BrokerProcess, unique_topic, wait_for

pytestmark = [pytest.mark.groups, pytest.mark.deadline(90)]


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    """This module's broker: a short initial rebalance delay (Kafka's default is 3 s per new group)."""
    b = BrokerProcess(tmp_path_factory.mktemp("groups"), env={"RIVERBANK_GROUP_INITIAL_REBALANCE_DELAY_MS": "200"})
    try:
        b.start()
        yield b
    finally:
        b.cleanup()


def group_consumer(broker, group, **conf):
    base = {
        "bootstrap.servers": broker.bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
        "fetch.wait.max.ms": 100,
        "topic.metadata.refresh.interval.ms": 2000,
    }
    base.update(conf)
    return Consumer(base)


def poll_values(consumers, want: int, timeout: float = 30.0):
    """Polls every consumer round-robin until `want` messages in total; returns {index: [msg]}."""
    got = {i: [] for i in range(len(consumers))}
    deadline = time.monotonic() + timeout
    while sum(len(v) for v in got.values()) < want and time.monotonic() < deadline:
        for i, c in enumerate(consumers):
            m = c.poll(0.05)
            if m is None:
                continue
            if m.error():
                raise KafkaException(m.error())
            got[i].append(m)
    total = sum(len(v) for v in got.values())
    assert total >= want, f"consumed {total} of {want} within {timeout}s"
    return got


def group_id():
    return f"g-{uuid.uuid4().hex[:10]}"


def test_subscribe_commit_and_resume(broker):
    t, g = unique_topic("grp-resume"), group_id()
    create_topic(broker.bootstrap, t, partitions=3)
    values = [b"%03d" % i for i in range(90)]
    for p in range(3):
        produce_values(broker.bootstrap, t, values[p::3], partition=p)

    c1 = group_consumer(broker, g)
    c1.subscribe([t])
    first = poll_values([c1], 45)[0]
    c1.commit(asynchronous=False)
    committed = c1.committed([TopicPartition(t, p) for p in range(3)], timeout=10)
    positions = {tp.partition: tp.offset for tp in c1.position([TopicPartition(t, p) for p in range(3)])}
    c1.close()
    assert {tp.partition: tp.offset for tp in committed} == positions

    c2 = group_consumer(broker, g)
    c2.subscribe([t])
    rest = poll_values([c2], 90 - len(first))[0]
    extra = [m for m in [c2.poll(0.5)] if m is not None and not m.error()]
    c2.close()
    seen = [m.value() for m in first + rest + extra]
    assert sorted(seen) == values, "records lost or re-delivered after resuming from committed offsets"


def test_two_members_split_partitions(broker):
    t, g = unique_topic("grp-split"), group_id()
    create_topic(broker.bootstrap, t, partitions=4)
    a, b = group_consumer(broker, g), group_consumer(broker, g)
    a.subscribe([t])
    b.subscribe([t])

    def balanced():
        a.poll(0.05)
        b.poll(0.05)
        pa = {tp.partition for tp in a.assignment()}
        pb = {tp.partition for tp in b.assignment()}
        return (pa, pb) if pa and pb and not (pa & pb) and (pa | pb) == {0, 1, 2, 3} else None

    pa, pb = wait_for(balanced, timeout=30, interval=0, message="both members to hold disjoint partitions")
    for p in range(4):
        produce_values(broker.bootstrap, t, [b"%d-%d" % (p, i) for i in range(25)], partition=p)
    got = poll_values([a, b], 100)
    assert {m.partition() for m in got[0]} <= pa and {m.partition() for m in got[1]} <= pb
    vals = sorted(m.value() for ms in got.values() for m in ms)
    assert vals == sorted(b"%d-%d" % (p, i) for p in range(4) for i in range(25))
    a.close()
    b.close()


def test_member_leaving_triggers_rebalance(broker):
    t, g = unique_topic("grp-leave"), group_id()
    create_topic(broker.bootstrap, t, partitions=2)
    a, b = group_consumer(broker, g), group_consumer(broker, g)
    a.subscribe([t])
    b.subscribe([t])

    def both_assigned():
        a.poll(0.05)
        b.poll(0.05)
        return len(a.assignment()) == 1 and len(b.assignment()) == 1

    wait_for(both_assigned, timeout=30, interval=0, message="one partition per member")
    b.close()  # LeaveGroup

    def a_has_all():
        a.poll(0.05)
        return {tp.partition for tp in a.assignment()} == {0, 1}

    wait_for(a_has_all, timeout=20, interval=0, message="the remaining member to take both partitions")
    a.close()


def test_auto_commit(broker):
    t, g = unique_topic("grp-auto"), group_id()
    produce_values(broker.bootstrap, t, [b"a%d" % i for i in range(20)], partition=0)
    c = group_consumer(broker, g, **{"enable.auto.commit": True, "auto.commit.interval.ms": 200})
    c.subscribe([t])
    poll_values([c], 20)
    wait_for(lambda: c.committed([TopicPartition(t, 0)], timeout=5)[0].offset == 20, timeout=10,
             message="auto-commit of offset 20")
    c.close()


def test_admin_groups_and_offsets(broker):
    from confluent_kafka import ConsumerGroupTopicPartitions

    t, g = unique_topic("grp-admin"), group_id()
    produce_values(broker.bootstrap, t, [b"x"] * 10, partition=0)
    c = group_consumer(broker, g)
    c.subscribe([t])
    poll_values([c], 10)
    c.commit(asynchronous=False)
    a = admin(broker.bootstrap)
    listed = a.list_consumer_groups(request_timeout=10).result(timeout=10)
    assert g in {x.group_id for x in listed.valid}
    desc = a.describe_consumer_groups([g], request_timeout=10)[g].result(timeout=10)
    assert len(desc.members) == 1
    offs = a.list_consumer_group_offsets([ConsumerGroupTopicPartitions(g)], request_timeout=10)[g].result(timeout=10)
    assert [(tp.topic, tp.partition, tp.offset) for tp in offs.topic_partitions] == [(t, 0, 10)]
    c.close()


def test_kafka_python_group(broker):
    from kafka import KafkaConsumer

    t, g = unique_topic("grp-kp"), group_id()
    produce_values(broker.bootstrap, t, [b"kp%d" % i for i in range(30)], partition=0)

    def take(c, n, timeout):
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < n and time.monotonic() < deadline:
            for msgs in c.poll(timeout_ms=200, max_records=n - len(out)).values():
                out.extend(m.value for m in msgs)
        return out

    c = KafkaConsumer(t, bootstrap_servers=broker.bootstrap, group_id=g, auto_offset_reset="earliest",
                      enable_auto_commit=False)
    got = take(c, 20, 40)
    assert len(got) == 20
    c.commit()
    c.close()
    c = KafkaConsumer(t, bootstrap_servers=broker.bootstrap, group_id=g, auto_offset_reset="earliest",
                      enable_auto_commit=False)
    rest = take(c, 10, 40)
    rest += take(c, 1, 0.5)  # surplus = re-delivery
    c.close()
    assert got + rest == [b"kp%d" % i for i in range(30)]


def test_aiokafka_group(broker):
    from aiokafka import AIOKafkaConsumer

    t, g = unique_topic("grp-aio"), group_id()
    produce_values(broker.bootstrap, t, [b"aio%d" % i for i in range(15)], partition=0)

    async def run():
        c = AIOKafkaConsumer(t, bootstrap_servers=broker.bootstrap, group_id=g, auto_offset_reset="earliest",
                             enable_auto_commit=False)
        await c.start()
        try:
            got = []
            deadline = time.monotonic() + 30
            while len(got) < 15 and time.monotonic() < deadline:
                for msgs in (await c.getmany(timeout_ms=200)).values():
                    got.extend(m.value for m in msgs)
            await c.commit()
            return got
        finally:
            await c.stop()

    got = asyncio.run(asyncio.wait_for(run(), timeout=45))
    assert got == [b"aio%d" % i for i in range(15)]


@pytest.mark.needs("kcat")
def test_kcat_balanced_consumer(broker):
    t, g = unique_topic("grp-kcat"), group_id()
    create_topic(broker.bootstrap, t, partitions=2)
    for p in range(2):
        produce_values(broker.bootstrap, t, [b"p%d-%d" % (p, i) for i in range(5)], partition=p)
    res = subprocess.run(["kcat", "-b", broker.bootstrap, "-G", g, "-o", "beginning", "-e", "-f", "%p %s\n", t],
                         capture_output=True, timeout=45)
    assert res.returncode == 0, res.stderr.decode(errors="replace")
    lines = sorted(res.stdout.decode().splitlines())
    assert lines == sorted(f"{p} p{p}-{i}" for p in range(2) for i in range(5))
