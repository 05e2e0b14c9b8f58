"""aiokafka (asyncio client): produce/consume round trips with manual assignment."""
from __future__ import annotations

import asyncio
import time

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from conftest import unique_topic


async def _roundtrip(bootstrap: str, topic: str, codec, n: int, idempotent: bool = False):
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, compression_type=codec, linger_ms=10,
                                enable_idempotence=idempotent, request_timeout_ms=15000)
    await producer.start()
    try:
        futs = []
        for i in range(n):
            futs.append(await producer.send(topic, key=b"k%d" % (i % 13), value=b"aio-%s-%d" % (str(codec).encode(), i),
                                            headers=[("n", b"%d" % i)], partition=0))
        metas = await asyncio.wait_for(asyncio.gather(*futs), timeout=30)
        assert [m.offset for m in metas] == list(range(n))
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                auto_offset_reset="earliest", fetch_max_wait_ms=100, request_timeout_ms=15000)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        got = []
        deadline = time.monotonic() + 20
        while len(got) < n and time.monotonic() < deadline:
            batch = await consumer.getmany(tp, timeout_ms=200)
            got.extend(batch.get(tp, []))
        surplus = await consumer.getmany(tp, timeout_ms=300)
        got.extend(surplus.get(tp, []))
        end = await consumer.end_offsets([tp])
        assert end[tp] == n
    finally:
        await consumer.stop()
    return got


@pytest.mark.parametrize("codec", [None, "gzip", "lz4", "zstd", "snappy"])
def test_async_roundtrip(broker, codec):
    t = unique_topic(f"aio-{codec or 'none'}")
    n = 800
    got = asyncio.run(asyncio.wait_for(_roundtrip(broker.bootstrap, t, codec, n), timeout=50))
    assert len(got) == n, f"expected {n} records, got {len(got)}"
    for i, r in enumerate(got):
        assert (r.offset, r.key, r.value, list(r.headers)) == \
            (i, b"k%d" % (i % 13), b"aio-%s-%d" % (str(codec).encode(), i), [("n", b"%d" % i)]), f"record {i}"


def test_async_idempotent(broker):
    t = unique_topic("aio-idem")
    n = 500
    got = asyncio.run(asyncio.wait_for(_roundtrip(broker.bootstrap, t, "gzip", n, idempotent=True), timeout=50))
    assert [r.value for r in got] == [b"aio-gzip-%d" % i for i in range(n)]
