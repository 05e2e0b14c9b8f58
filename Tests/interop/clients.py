"""confluent-kafka helpers shared by the test modules (bounded in time, strict on errors)."""
from __future__ import annotations

import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def producer(bootstrap: str, **conf) -> Producer:
    base = {
        "bootstrap.servers": bootstrap,
        "linger.ms": 5,
        "reconnect.backoff.ms": 50,
        "reconnect.backoff.max.ms": 500,
        "message.timeout.ms": 30000,
    }
    base.update(conf)
    return Producer(base)


def consumer(bootstrap: str, **conf) -> Consumer:
    # librdkafka requires group.id; with assign() and no commits the group is never joined
    # (FindCoordinator is only sent when the broker advertises it).
    base = {
        "bootstrap.servers": bootstrap,
        "group.id": "interop-assign-only",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "error",
        "enable.partition.eof": False,
        "fetch.wait.max.ms": 100,
        "reconnect.backoff.ms": 50,
        "reconnect.backoff.max.ms": 500,
        "topic.metadata.refresh.interval.ms": 2000,
    }
    base.update(conf)
    return Consumer(base)


def admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap})


class DeliveryLog:
    """Collects delivery reports; `errors` holds failed ones."""

    def __init__(self):
        self.ok: list = []
        self.errors: list = []

    def __call__(self, err, msg):
        if err is not None:
            self.errors.append((err, msg))
        else:
            self.ok.append(msg)


def flush_all(p: Producer, log: DeliveryLog | None = None, expected: int | None = None, timeout: float = 30.0):
    remaining = p.flush(timeout)
    assert remaining == 0, f"{remaining} messages still undelivered after {timeout}s"
    if log is not None:
        assert not log.errors, f"{len(log.errors)} delivery errors, first: {log.errors[0][0]}"
        if expected is not None:
            assert len(log.ok) == expected, f"expected {expected} delivery reports, got {len(log.ok)}"


def produce_values(bootstrap: str, topic: str, values, partition: int | None = None, **conf) -> DeliveryLog:
    """Produces each value (bytes) and waits for every delivery report (all must succeed)."""
    p = producer(bootstrap, **conf)
    log = DeliveryLog()
    n = 0
    for v in values:
        kw = {"value": v, "on_delivery": log}
        if partition is not None:
            kw["partition"] = partition
        _produce(p, topic, **kw)
        n += 1
    flush_all(p, log, expected=n)
    return log


def _produce(p: Producer, topic: str, **kw):
    """produce() that waits for queue space instead of failing with BufferError."""
    deadline = time.monotonic() + 30
    while True:
        try:
            p.produce(topic, **kw)
            return
        except BufferError:
            if time.monotonic() > deadline:
                raise
            p.poll(0.05)


def consume(bootstrap: str, topic: str, count: int, partitions=(0,), start=OFFSET_BEGINNING,
            timeout: float = 20.0, extra_wait: float = 0.3, **conf):
    """Reads exactly `count` messages from the given partitions (manual assignment).

    After reaching `count` it keeps polling for `extra_wait` seconds to catch surplus
    records (duplicates); those are returned too so callers can assert exact counts.
    """
    c = consumer(bootstrap, **conf)
    try:
        c.assign([TopicPartition(topic, p, start) for p in partitions])
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < count and time.monotonic() < deadline:
            batch = c.consume(num_messages=min(10000, max(1, count - len(out))), timeout=0.2)
            for m in batch:
                if m.error():
                    raise KafkaException(m.error())
                out.append(m)
        if len(out) >= count and extra_wait > 0:
            end = time.monotonic() + extra_wait
            while time.monotonic() < end:
                for m in c.consume(num_messages=1000, timeout=0.1):
                    if m.error():
                        raise KafkaException(m.error())
                    out.append(m)
        assert len(out) >= count, (
            f"consumed only {len(out)} of {count} messages from {topic} {list(partitions)} within {timeout}s")
        return out
    finally:
        c.close()


def create_topic(bootstrap: str, name: str, partitions: int = 1, config: dict | None = None, timeout: float = 15.0):
    a = admin(bootstrap)
    fs = a.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1, config=config or {})],
                         operation_timeout=10, request_timeout=timeout)
    fs[name].result(timeout=timeout)
    return a


def error_code(exc: BaseException) -> int:
    """The Kafka error code carried by a KafkaException (or -1)."""
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        return exc.args[0].code()
    return -1
