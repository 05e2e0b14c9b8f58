"""kcat (librdkafka's CLI) against the broker: metadata, produce/consume, codecs, offsets."""
from __future__ import annotations

import json
import subprocess
import time

import pytest

from clients import DeliveryLog, create_topic, flush_all, producer
from conftest import unique_topic

pytestmark = pytest.mark.needs("kcat")

KCAT_TIMEOUT = 30


def kcat(broker, *args, stdin: bytes | None = None, check: bool = True, timeout: float = KCAT_TIMEOUT):
    cmd = ["kcat", "-b", broker.bootstrap, "-X", "reconnect.backoff.max.ms=500", *args]
    try:
        res = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"kcat timed out after {timeout}s: {cmd}\nstderr: {e.stderr!r}")
    if check:
        assert res.returncode == 0, f"kcat failed (rc={res.returncode}): {cmd}\nstderr: {res.stderr.decode(errors='replace')}"
        assert b"ERROR" not in res.stderr, f"kcat reported errors: {res.stderr.decode(errors='replace')}"
    return res


def kcat_consume(broker, topic, fmt: str, *extra, partition: int | None = 0, offset: str = "beginning") -> bytes:
    args = ["-C", "-t", topic, "-o", offset, "-e", "-f", fmt, *extra]
    if partition is not None:
        args += ["-p", str(partition)]
    return kcat(broker, *args).stdout


def test_metadata_json(broker):
    t = unique_topic("kcat-md")
    create_topic(broker.bootstrap, t, partitions=3)
    out = kcat(broker, "-L", "-J", "-t", t).stdout
    md = json.loads(out)
    assert len(md["brokers"]) == 1, md["brokers"]
    b = md["brokers"][0]
    assert b["name"] == f"127.0.0.1:{broker.port}", b
    topics = {x["topic"]: x for x in md["topics"]}
    assert t in topics, f"{t} missing from {list(topics)}"
    tm = topics[t]
    assert not tm.get("error"), tm
    parts = sorted(tm["partitions"], key=lambda p: p["partition"])
    assert [p["partition"] for p in parts] == [0, 1, 2]
    for p in parts:
        assert p["leader"] == b["id"], p
        assert [r["id"] for r in p["replicas"]] == [b["id"]], p
        assert [r["id"] for r in p["isrs"]] == [b["id"]], p


def test_metadata_lists_all_topics(broker):
    names = [unique_topic("kcat-all") for _ in range(3)]
    for n in names:
        create_topic(broker.bootstrap, n, partitions=2)
    md = json.loads(kcat(broker, "-L", "-J").stdout)
    listed = {x["topic"]: len(x["partitions"]) for x in md["topics"]}
    for n in names:
        assert listed.get(n) == 2, f"{n}: {listed.get(n)} partitions listed (all: {sorted(listed)})"


def test_produce_keys_and_consume_exact(broker):
    t = unique_topic("kcat-keys")
    lines = [f"key{i}:value-{i}-ü€-{'x' * (i % 7)}" for i in range(50)]
    kcat(broker, "-P", "-t", t, "-p", "0", "-K:", stdin=("\n".join(lines) + "\n").encode())
    out = kcat_consume(broker, t, "%o|%k|%s|%K|%S\n")
    got = out.decode().splitlines()
    expected = []
    for i, line in enumerate(lines):
        k, v = line.split(":", 1)
        expected.append(f"{i}|{k}|{v}|{len(k.encode())}|{len(v.encode())}")
    assert got == expected


def test_headers_roundtrip(broker):
    t = unique_topic("kcat-hdr")
    kcat(broker, "-P", "-t", t, "-p", "0", "-K:", "-H", "trace-id=abc123", "-H", "source=kcat", "-H", "dup=1",
         "-H", "dup=2", stdin=b"k1:v1\nk2:v2\n")
    out = kcat_consume(broker, t, "%k=%s [%h]\n").decode().splitlines()
    assert out == ["k1=v1 [trace-id=abc123,source=kcat,dup=1,dup=2]",
                   "k2=v2 [trace-id=abc123,source=kcat,dup=1,dup=2]"]


def test_null_value_and_key(broker):
    t = unique_topic("kcat-null")
    # -Z: empty key/value are sent as NULL
    kcat(broker, "-P", "-t", t, "-p", "0", "-K:", "-Z", stdin=b"k1:\n:v2\nk3:v3\n")
    out = kcat_consume(broker, t, "%k=%s|%K|%S\n", "-Z").decode().splitlines()
    assert out == ["k1=NULL|2|-1", "NULL=v2|-1|2", "k3=v3|2|2"]


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_codecs_roundtrip(broker, codec):
    t = unique_topic(f"kcat-{codec}")
    # Compressible and incompressible values, one large (≈200 KB) line, in a few batches.
    import random

    rnd = random.Random(codec)
    values = [f"{codec}-record-{i:05d}-" + "abc" * (i % 50) for i in range(2000)]
    values[777] = "".join(rnd.choice("0123456789abcdefghijklmnopqrstuvwxyz") for _ in range(200_000))
    values[1500] = "ünïcödé-€-日本語"
    payload = ("\n".join(values) + "\n").encode()
    kcat(broker, "-P", "-t", t, "-p", "0", "-z", codec, "-X", "linger.ms=50", "-X", "batch.num.messages=500",
         stdin=payload)
    out = kcat_consume(broker, t, "%o %S %s\n")
    got = out.decode().split("\n")
    assert got[-1] == ""
    got = got[:-1]
    assert len(got) == len(values), f"expected {len(values)} records, got {len(got)}"
    for i, (line, v) in enumerate(zip(got, values)):
        assert line == f"{i} {len(v.encode())} {v}", f"record {i} differs: {line[:120]!r} vs {v[:120]!r}"


def test_offset_from_end(broker):
    t = unique_topic("kcat-tail")
    kcat(broker, "-P", "-t", t, "-p", "0", stdin=b"".join(b"m%d\n" % i for i in range(10)))
    assert kcat_consume(broker, t, "%o:%s\n", offset="-3").decode().splitlines() == ["7:m7", "8:m8", "9:m9"]
    assert kcat_consume(broker, t, "%o:%s\n", offset="8").decode().splitlines() == ["8:m8", "9:m9"]
    assert kcat_consume(broker, t, "%o:%s\n", offset="end").decode() == ""


def test_time_travel_by_timestamp(broker):
    t = unique_topic("kcat-tt")
    base = int(time.time() * 1000) - 3_600_000  # an hour ago, one record per second
    p = producer(broker.bootstrap)
    log = DeliveryLog()
    for i in range(20):
        p.produce(t, partition=0, value=b"r%d" % i, timestamp=base + i * 1000, on_delivery=log)
    flush_all(p, log, expected=20)

    out = kcat_consume(broker, t, "%o %T %s\n", offset=f"s@{base + 12_500}").decode().splitlines()
    assert out == [f"{i} {base + i * 1000} r{i}" for i in range(13, 20)]
    # Exactly on a record's timestamp: that record is the first one.
    out = kcat_consume(broker, t, "%o %T %s\n", offset=f"s@{base + 5_000}").decode().splitlines()
    assert out[0] == f"5 {base + 5000} r5" and len(out) == 15
    # s@ .. e@ window: [start, end)
    out = kcat_consume(broker, t, "%o\n", "-o", f"e@{base + 9_000}", offset=f"s@{base + 6_000}").decode().splitlines()
    assert out == ["6", "7", "8"]
    # Before the first record: everything.
    out = kcat_consume(broker, t, "%o\n", offset=f"s@{base - 10_000_000}").decode().splitlines()
    assert out == [str(i) for i in range(20)]


def test_multi_partition_consume(broker):
    t = unique_topic("kcat-mp")
    create_topic(broker.bootstrap, t, partitions=4)
    for p in range(4):
        kcat(broker, "-P", "-t", t, "-p", str(p), stdin=b"".join(b"p%d-%d\n" % (p, i) for i in range(5)))
    out = kcat(broker, "-C", "-t", t, "-o", "beginning", "-e", "-f", "%p %o %s\n").stdout.decode().splitlines()
    got = {}
    for line in out:
        p, o, v = line.split(" ")
        got.setdefault(int(p), []).append((int(o), v))
    assert got == {p: [(i, f"p{p}-{i}") for i in range(5)] for p in range(4)}


def test_binary_values_exact(broker):
    """Arbitrary bytes survive exactly: produced with a 0x1e delimiter, read back length-prefixed (%R)."""
    import random
    import struct

    t = unique_topic("kcat-bin")
    rnd = random.Random(7)
    values = [bytes(rnd.randrange(0, 256) for _ in range(rnd.randrange(1, 3000))).replace(b"\x1e", b"\x1f")
              for _ in range(40)]
    kcat(broker, "-P", "-t", t, "-p", "0", "-D", "\\x1e", "-z", "lz4", stdin=b"\x1e".join(values) + b"\x1e")
    out = kcat_consume(broker, t, "%R%s")
    got, pos = [], 0
    while pos < len(out):
        (n,) = struct.unpack(">i", out[pos:pos + 4])
        got.append(out[pos + 4:pos + 4 + n])
        pos += 4 + n
    assert len(got) == len(values)
    assert got == values
