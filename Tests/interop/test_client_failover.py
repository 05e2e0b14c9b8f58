"""KafkaClient through failures: leader moves and broker restarts.

A fake two-node cluster (leaderproxy.py) in front of one Riverbank broker moves a partition's
leader while `riverbank produce` / `riverbank consume` run. A live old leader answers
NOT_LEADER_OR_FOLLOWER; a crashed one drops its connections. Every record must arrive exactly once, in order (idempotent retries land on the same log, so a
duplicate or a gap would show). librdkafka runs the same moves as a control for the fake cluster.
Then the real broker is restarted (cleanly and with kill -9) under running clients.
"""
from __future__ import annotations

import subprocess
import threading
import time

import pytest
from confluent_kafka import TopicPartition

from clients import consumer, create_topic, producer
from conftest import riverbank_binary, unique_topic
from leaderproxy import FakeCluster

N = 6000


@pytest.fixture
def cluster(broker):
    c = FakeCluster(broker.port)
    yield c
    c.close()


def read_partition(bootstrap: str, topic: str, partition: int, count: int, timeout: float = 30.0) -> list[bytes]:
    c = consumer(bootstrap)
    try:
        c.assign([TopicPartition(topic, partition, -2)])
        out: list[bytes] = []
        deadline = time.monotonic() + timeout
        while len(out) < count and time.monotonic() < deadline:
            for m in c.consume(num_messages=1000, timeout=0.2):
                assert not m.error(), m.error()
                out.append(m.value())
        # Nothing beyond `count` (a duplicate would be there).
        for m in c.consume(num_messages=10, timeout=0.5):
            out.append(m.value())
        return out
    finally:
        c.close()


def wait_until(pred, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def move(cluster: FakeCluster, topic: str, how: str):
    cluster.move(topic, 0, 2)
    if how == "crash":
        cluster.kill(1)


@pytest.mark.parametrize("how", ["not-leader", "crash"])
def test_riverbank_produce_follows_leader(broker, cluster, how):
    t = unique_topic("lm-p")
    create_topic(broker.bootstrap, t, partitions=1)
    p = subprocess.Popen([str(riverbank_binary()), "produce", "--bootstrap", cluster.bootstrap, "--topic", t,
                          "--print-offsets", "--linger-ms", "1", "--batch-size", "2000"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    acked = []
    reader = threading.Thread(target=lambda: acked.extend(p.stdout), daemon=True)
    reader.start()
    try:
        for i in range(N // 2):
            p.stdin.write(f"v{i}\n".encode())
        p.stdin.flush()
        wait_until(lambda: len(acked) >= N // 4, 30, "the first acknowledgements")
        move(cluster, t, how)
        for i in range(N // 2, N):
            p.stdin.write(f"v{i}\n".encode())
        p.stdin.close()
        assert p.wait(60) == 0, p.stderr.read().decode(errors="replace")
    finally:
        p.kill()
    reader.join(5)
    assert len(acked) == N
    assert cluster.requests[2].get(0, 0) > 0, "no Produce reached the new leader"
    if how == "not-leader":
        assert cluster.not_leader_answers > 0, "the old leader was never asked"
    assert read_partition(broker.bootstrap, t, 0, N) == [f"v{i}".encode() for i in range(N)]


@pytest.mark.parametrize("how", ["not-leader", "crash"])
def test_riverbank_consume_follows_leader(broker, cluster, how):
    t = unique_topic("lm-c")
    create_topic(broker.bootstrap, t, partitions=1)
    pr = producer(broker.bootstrap)

    def produce(lo: int, hi: int):
        for i in range(lo, hi):
            pr.produce(t, f"v{i}".encode(), partition=0)
        assert pr.flush(30) == 0

    produce(0, N // 2)
    p = subprocess.Popen([str(riverbank_binary()), "consume", "--bootstrap", cluster.bootstrap, "--topic", t,
                          "--from-beginning", "--count", str(N), "--format", "%o %v", "--timeout", "60"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: list[bytes] = []
    moved = threading.Event()

    def read():
        for line in p.stdout:
            lines.append(line)
            if len(lines) == N // 3:
                move(cluster, t, how)
                # The consumer must find the new leader by itself (a long poll already at the
                # old one may still answer once), then gets records written after the move.
                wait_until(lambda: cluster.requests[2].get(1, 0) > 0, 20, "a Fetch at the new leader")
                moved.set()
                produce(N // 2, N)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert p.wait(60) == 0, p.stderr.read().decode(errors="replace")
    finally:
        p.kill()
    reader.join(5)
    assert moved.is_set()
    assert lines == [f"{i} v{i}\n".encode() for i in range(N)]
    assert cluster.requests[2].get(1, 0) > 0, "no Fetch reached the new leader"


def test_librdkafka_follows_the_fake_cluster_too(broker, cluster):
    """Control: the fake cluster is one a real client accepts (Metadata, errors, reconnects)."""
    t = unique_topic("lm-ctl")
    create_topic(broker.bootstrap, t, partitions=1)
    pr = producer(cluster.bootstrap, **{"enable.idempotence": True, "retry.backoff.ms": 50})
    for i in range(N // 2):
        pr.produce(t, f"v{i}".encode(), partition=0)
    assert pr.flush(30) == 0
    move(cluster, t, "not-leader")
    for i in range(N // 2, N):
        pr.produce(t, f"v{i}".encode(), partition=0)
    assert pr.flush(30) == 0
    assert cluster.requests[2].get(0, 0) > 0
    assert read_partition(broker.bootstrap, t, 0, N) == [f"v{i}".encode() for i in range(N)]


@pytest.mark.parametrize("hard", [False, True], ids=["restart", "kill-9"])
def test_riverbank_produce_and_consume_ride_out_a_broker_restart(fresh_broker, hard):
    """The broker goes away (clean stop or kill -9) and comes back on the same port while
    `riverbank produce` and `riverbank consume` run: both reconnect, the producer's retries are
    deduplicated by the restarted broker (idempotence state survives), and every record is read
    exactly once, in order."""
    b = fresh_broker
    t = unique_topic("lm-restart")
    create_topic(b.bootstrap, t, partitions=1)
    prod = subprocess.Popen([str(riverbank_binary()), "produce", "--bootstrap", b.bootstrap, "--topic", t,
                             "--print-offsets", "--linger-ms", "1", "--batch-size", "4000"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    cons = subprocess.Popen([str(riverbank_binary()), "consume", "--bootstrap", b.bootstrap, "--topic", t,
                             "--from-beginning", "--count", str(N), "--format", "%o %v", "--timeout", "90"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    acked: list[bytes] = []
    lines: list[bytes] = []
    readers = [threading.Thread(target=lambda: acked.extend(prod.stdout), daemon=True),
               threading.Thread(target=lambda: lines.extend(cons.stdout), daemon=True)]
    for r in readers:
        r.start()
    try:
        def write():
            # A steady stream (~3 s) so that records are in flight while the broker is away.
            for i in range(N):
                prod.stdin.write(f"v{i}\n".encode())
                if i % 20 == 19:
                    prod.stdin.flush()
                    time.sleep(0.01)
            prod.stdin.close()

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        time.sleep(1.0)
        assert 0 < len(acked) < N, len(acked)
        b.restart(hard=hard)
        writer.join(60)
        assert prod.wait(90) == 0, prod.stderr.read().decode(errors="replace")
        assert cons.wait(90) == 0, cons.stderr.read().decode(errors="replace")
    finally:
        prod.kill()
        cons.kill()
    for r in readers:
        r.join(5)
    assert len(acked) == N
    assert lines == [f"{i} v{i}\n".encode() for i in range(N)]
    assert read_partition(b.bootstrap, t, 0, N) == [f"v{i}".encode() for i in range(N)]
