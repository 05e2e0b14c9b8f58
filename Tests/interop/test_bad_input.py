"""Raw-socket abuse: malformed / oversized / unknown requests close only the offending
connection; hand-built Produce requests get the right per-partition error codes."""
from __future__ import annotations

import random
import socket
import struct
import time

import pytest

import wire
from clients import consume, create_topic, produce_values
from conftest import BrokerProcess, unique_topic

pytestmark = pytest.mark.riverbank_only

MAX_REQUEST_BYTES = 2_000_000

CORRUPT_MESSAGE = 2
UNKNOWN_TOPIC_OR_PARTITION = 3
MESSAGE_TOO_LARGE = 10
UNSUPPORTED_VERSION = 35


@pytest.fixture(scope="module")
def rb(tmp_path_factory):
    b = BrokerProcess(tmp_path_factory.mktemp("badinput"), extra_args=["--max-request-bytes", str(MAX_REQUEST_BYTES)])
    try:
        b.start()
        yield b
    finally:
        b.cleanup()


_corr = [1000]


def next_corr() -> int:
    _corr[0] += 1
    return _corr[0]


def api_versions_ok(sock: socket.socket):
    """A v0 ApiVersions round trip on an existing connection."""
    corr = next_corr()
    c, err, keys = wire.decode_api_versions_v0(wire.roundtrip(sock, wire.api_versions_request(0, corr)))
    assert (c, err) == (corr, 0)
    assert wire.API_PRODUCE in keys and wire.API_FETCH in keys
    return keys


def assert_serving(b: BrokerProcess, bystander: socket.socket | None = None):
    """The process is alive, an existing connection still works, and a real client works."""
    assert b.alive(), f"broker died (rc={b.proc.returncode})\n{b.stderr_tail()}"
    if bystander is not None:
        api_versions_ok(bystander)
    with wire.connect(b.port) as s:
        api_versions_ok(s)
    t = unique_topic("alive")
    produce_values(b.bootstrap, t, [b"still-alive"], partition=0)
    assert [m.value() for m in consume(b.bootstrap, t, 1, extra_wait=0)] == [b"still-alive"]


# ----------------------------------------------------------------------------- framing abuse


def test_oversized_frame_closes_connection(rb):
    with wire.connect(rb.port) as bystander:
        api_versions_ok(bystander)
        with wire.connect(rb.port) as s:
            # Announce a frame one byte over the limit; the broker must not wait for the body.
            s.sendall(struct.pack(">i", MAX_REQUEST_BYTES + 1) + wire.header_v1(18, 0, 1))
            wire.wait_closed(s, timeout=5)
        with wire.connect(rb.port) as s:
            s.sendall(struct.pack(">i", 0x7FFFFFFF))
            wire.wait_closed(s, timeout=5)
        assert_serving(rb, bystander)


def test_produce_frame_exactly_at_limit_accepted(rb):
    """A valid Produce whose frame is exactly --max-request-bytes is served (the limit is inclusive)."""
    t = unique_topic("raw-limit")
    create_topic(rb.bootstrap, t, config={"max.message.bytes": str(3 * MAX_REQUEST_BYTES)})
    corr = next_corr()

    def request(n):
        return wire.produce_v9_request(corr, {t: {0: wire.record_batch([(None, b"L" * n, [])], base_timestamp=1)}})

    n = MAX_REQUEST_BYTES - len(request(0))
    while len(request(n)) > MAX_REQUEST_BYTES:
        n -= 1
    req = request(n)
    assert len(req) == MAX_REQUEST_BYTES, len(req)
    with wire.connect(rb.port, timeout=15) as s:
        c, parts = wire.decode_produce_v9(wire.roundtrip(s, req))
    assert c == corr and parts[(t, 0)]["error_code"] == 0, parts
    (m,) = consume(rb.bootstrap, t, 1, extra_wait=0)
    assert len(m.value()) == n


def test_negative_frame_size(rb):
    with wire.connect(rb.port) as bystander:
        with wire.connect(rb.port) as s:
            s.sendall(struct.pack(">i", -5) + b"\x00" * 16)
            wire.wait_closed(s)
        assert_serving(rb, bystander)


@pytest.mark.parametrize("payload", [
    pytest.param(struct.pack(">i", 12) + b"\xff" * 12, id="ff-header"),
    pytest.param(struct.pack(">i", 3) + b"\x00\x12\x00", id="short-header"),
    pytest.param(struct.pack(">i", 8) + struct.pack(">hhi", 18, 0, 7), id="no-client-id"),
    pytest.param(struct.pack(">i", 10) + struct.pack(">hhih", 18, 0, 7, 500), id="client-id-overrun"),
    pytest.param(struct.pack(">i", 64) + random.Random(3).randbytes(64), id="random-64"),
    pytest.param(random.Random(4).randbytes(4096), id="random-4k"),
])
def test_garbage_closes_only_that_connection(rb, payload):
    with wire.connect(rb.port) as bystander:
        api_versions_ok(bystander)
        with wire.connect(rb.port) as s:
            s.sendall(payload)
            wire.wait_closed(s)
        assert_serving(rb, bystander)


@pytest.mark.parametrize("api_key,version,body", [
    pytest.param(3, 12, b"\xff\xff\xff\xff\x0f", id="metadata-v12-huge-array"),
    pytest.param(0, 9, b"\x00" + b"\xff\xff", id="produce-v9-truncated"),
    pytest.param(1, 12, b"", id="fetch-v12-empty-body"),
    pytest.param(19, 7, b"\x05\x01", id="createtopics-v7-truncated"),
])
def test_malformed_bodies_close_connection(rb, api_key, version, body):
    with wire.connect(rb.port) as bystander:
        with wire.connect(rb.port) as s:
            s.sendall(wire.frame(wire.header_v2(api_key, version, next_corr()) + body))
            wire.wait_closed(s)
        assert_serving(rb, bystander)


def test_truncated_frame_then_close(rb):
    with wire.connect(rb.port) as bystander:
        for _ in range(5):
            s = wire.connect(rb.port)
            s.sendall(struct.pack(">i", 100) + wire.header_v1(18, 0, 1)[:6])
            s.close()
        s = wire.connect(rb.port)
        s.sendall(struct.pack(">i", 100) + b"\x00" * 50)
        s.shutdown(socket.SHUT_WR)  # half-close: EOF mid-frame
        wire.wait_closed(s)
        s.close()
        assert_serving(rb, bystander)


def test_unknown_api_key_closes(rb):
    with wire.connect(rb.port) as bystander:
        with wire.connect(rb.port) as s:
            api_versions_ok(s)
            s.sendall(wire.frame(wire.header_v1(999, 0, next_corr())))
            assert wire.wait_closed(s) == b"", "the broker answered an unknown api key"
        with wire.connect(rb.port) as s:
            s.sendall(wire.frame(wire.header_v1(-1, 0, next_corr())))
            wire.wait_closed(s)
        assert_serving(rb, bystander)


def test_unsupported_version_of_other_api_closes(rb):
    with wire.connect(rb.port) as s:
        s.sendall(wire.frame(wire.header_v2(3, 99, next_corr()) + b"\x00"))
        wire.wait_closed(s)
    assert_serving(rb)


# ----------------------------------------------------------------------------- ApiVersions


def test_api_versions_v99_gets_v0_error_35(rb):
    with wire.connect(rb.port) as s:
        corr = next_corr()
        data = wire.roundtrip(s, wire.api_versions_request(99, corr))
        c, err, keys = wire.decode_api_versions_v0(data)
        assert c == corr
        assert err == UNSUPPORTED_VERSION
        assert keys.get(18) == (0, 4), keys.get(18)
        assert keys.get(0, (None, None))[1] == 11, keys.get(0)
        # the connection stays usable: a v3 request now works
        corr = next_corr()
        c, err, keys3, throttle = wire.decode_api_versions_v3(wire.roundtrip(s, wire.api_versions_request(3, corr)))
        assert (c, err) == (corr, 0)
        assert keys3 == keys


def test_api_versions_advertised_ranges(rb):
    with wire.connect(rb.port) as s:
        corr = next_corr()
        c, err, keys, _ = wire.decode_api_versions_v3(wire.roundtrip(s, wire.api_versions_request(4, corr)))
    assert (c, err) == (corr, 0)
    contract = {0: (3, 11), 1: (4, 17), 2: (1, 10), 3: (0, 12), 18: (0, 4), 19: (2, 7), 20: (1, 6), 37: (0, 3),
                32: (1, 4), 33: (0, 2), 44: (0, 1), 60: (0, 1), 75: (0, 0), 22: (0, 5)}
    for k, (lo, hi) in contract.items():
        assert k in keys, f"api key {k} not advertised"
        alo, ahi = keys[k]
        assert alo <= lo and ahi == hi, f"api key {k}: advertised {alo}-{ahi}, contract serves {lo}-{hi}"


def test_pipelined_requests_answered_in_order(rb):
    with wire.connect(rb.port) as s:
        corrs = [next_corr() for _ in range(6)]
        reqs = b""
        for i, c in enumerate(corrs):
            reqs += wire.frame(wire.api_versions_request(0, c) if i % 2 else wire.metadata_v1_request(c, []))
        s.sendall(reqs)
        got = [struct.unpack(">i", wire.recv_frame(s)[:4])[0] for _ in corrs]
        assert got == corrs


def test_frame_split_into_single_bytes(rb):
    with wire.connect(rb.port) as s:
        corr = next_corr()
        data = wire.frame(wire.api_versions_request(3, corr))
        for i in range(len(data)):
            s.sendall(data[i:i + 1])
            if i % 8 == 0:
                time.sleep(0.002)
        c, err, keys, _ = wire.decode_api_versions_v3(wire.recv_frame(s))
        assert (c, err) == (corr, 0) and 0 in keys


# ----------------------------------------------------------------------------- hand-built Produce


def produce_v9(port, topics, acks=-1):
    with wire.connect(port, timeout=15) as s:
        corr = next_corr()
        c, parts = wire.decode_produce_v9(wire.roundtrip(s, wire.produce_v9_request(corr, topics, acks=acks)))
        assert c == corr
        return parts


def test_produce_v9_valid_batch_roundtrip(rb):
    t = unique_topic("raw-ok")
    create_topic(rb.bootstrap, t)
    recs = [(b"k0", b"v0", [("h", b"1")]), (None, b"", []), (b"k2", None, [("a", b"x"), ("b", None)])]
    ts = int(time.time() * 1000) - 1000
    parts = produce_v9(rb.port, {t: {0: wire.record_batch(recs, base_timestamp=ts)}})
    assert parts[(t, 0)]["error_code"] == 0, parts
    assert parts[(t, 0)]["base_offset"] == 0
    parts = produce_v9(rb.port, {t: {0: wire.record_batch(recs, base_timestamp=ts)}})
    assert (parts[(t, 0)]["error_code"], parts[(t, 0)]["base_offset"]) == (0, 3), parts
    msgs = consume(rb.bootstrap, t, 6)
    assert len(msgs) == 6
    for i, m in enumerate(msgs):
        k, v, h = recs[i % 3]
        assert (m.offset(), m.key(), m.value(), m.timestamp()[1]) == (i, k, v, ts)
        assert (m.headers() or []) == [(hk, hv) for hk, hv in h]


def test_produce_v9_bad_crc_is_corrupt_message(rb):
    t = unique_topic("raw-crc")
    create_topic(rb.bootstrap, t, partitions=2)
    good = wire.record_batch([(b"k", b"good", [])])
    bad = wire.record_batch([(b"k", b"bad", [])], corrupt_crc=True)
    parts = produce_v9(rb.port, {t: {0: good, 1: bad}})
    assert parts[(t, 0)]["error_code"] == 0, parts
    assert parts[(t, 1)]["error_code"] == CORRUPT_MESSAGE, parts
    # a payload bit flip (CRC left as computed before the flip)
    flipped = bytearray(wire.record_batch([(b"k", b"payload", [])]))
    flipped[-3] ^= 0x01
    parts = produce_v9(rb.port, {t: {1: bytes(flipped)}})
    assert parts[(t, 1)]["error_code"] == CORRUPT_MESSAGE, parts
    # nothing from the bad batches was stored
    msgs = consume(rb.bootstrap, t, 1, partitions=(0, 1), extra_wait=0.5)
    assert [(m.partition(), m.value()) for m in msgs] == [(0, b"good")]
    assert_serving(rb)


def test_produce_v9_batch_over_max_message_bytes(rb):
    t = unique_topic("raw-big")
    create_topic(rb.bootstrap, t, config={"max.message.bytes": "1000"})
    big = wire.record_batch([(None, b"x" * 2000, [])])
    small = wire.record_batch([(None, b"y" * 100, [])])
    parts = produce_v9(rb.port, {t: {0: big}})
    assert parts[(t, 0)]["error_code"] == MESSAGE_TOO_LARGE, parts
    parts = produce_v9(rb.port, {t: {0: small}})
    assert (parts[(t, 0)]["error_code"], parts[(t, 0)]["base_offset"]) == (0, 0), parts
    assert [m.value() for m in consume(rb.bootstrap, t, 1, extra_wait=0.5)] == [b"y" * 100]


def test_produce_v9_unknown_topic_and_partition(rb):
    t = unique_topic("raw-none")  # never created, never asked for in Metadata
    known = unique_topic("raw-known")
    create_topic(rb.bootstrap, known)
    batch = wire.record_batch([(None, b"v", [])])
    parts = produce_v9(rb.port, {t: {0: batch}, known: {7: batch, 0: batch}})
    assert parts[(t, 0)]["error_code"] == UNKNOWN_TOPIC_OR_PARTITION, parts
    assert parts[(known, 7)]["error_code"] == UNKNOWN_TOPIC_OR_PARTITION, parts
    assert parts[(known, 0)]["error_code"] == 0, parts
    with wire.connect(rb.port) as s:
        md = wire.decode_metadata_v1(wire.roundtrip(s, wire.metadata_v1_request(next_corr(), None)))
    assert t not in md["topics"], "Produce to an unknown topic created it"


def test_produce_acks0_no_response_and_order_kept(rb):
    t = unique_topic("raw-acks0")
    create_topic(rb.bootstrap, t)
    with wire.connect(rb.port) as s:
        c1, c2 = next_corr(), next_corr()
        s.sendall(wire.frame(wire.produce_v9_request(c1, {t: {0: wire.record_batch([(None, b"fire", [])])}}, acks=0)))
        s.sendall(wire.frame(wire.api_versions_request(0, c2)))
        c, err, _ = wire.decode_api_versions_v0(wire.recv_frame(s))
        assert c == c2, f"got a response for correlation id {c}; acks=0 produce must not be answered"
    assert [m.value() for m in consume(rb.bootstrap, t, 1)] == [b"fire"]


def test_produce_v2_answered_unsupported_version(rb):
    t = unique_topic("raw-v2")
    create_topic(rb.bootstrap, t)
    with wire.connect(rb.port) as s:
        corr = next_corr()
        body = struct.pack(">hi", -1, 5000) + struct.pack(">i", 1) + wire.string(t) + struct.pack(">i", 1) + \
            struct.pack(">i", 0) + struct.pack(">i", 0)  # empty message set
        data = wire.roundtrip(s, wire.header_v1(0, 2, corr) + body)
    r = wire.Reader(data)
    assert r.i32() == corr
    assert r.i32() == 1 and r.string() == t
    assert r.i32() == 1
    assert r.i32() == 0
    assert r.i16() == UNSUPPORTED_VERSION


def test_produce_v3_non_flexible(rb):
    t = unique_topic("raw-v3")
    create_topic(rb.bootstrap, t)
    with wire.connect(rb.port) as s:
        corr = next_corr()
        data = wire.roundtrip(s, wire.produce_v3_to_8_request(3, corr, {t: {0: wire.record_batch([(b"a", b"b", [])])}}))
    r = wire.Reader(data)
    assert r.i32() == corr
    assert r.i32() == 1 and r.string() == t and r.i32() == 1
    assert r.i32() == 0 and r.i16() == 0 and r.i64() == 0
    assert [m.value() for m in consume(rb.bootstrap, t, 1)] == [b"b"]


# ----------------------------------------------------------------------------- hand-built Metadata


def test_metadata_v1_decodes(rb):
    t = unique_topic("raw-md")
    create_topic(rb.bootstrap, t, partitions=3)
    with wire.connect(rb.port) as s:
        corr = next_corr()
        md = wire.decode_metadata_v1(wire.roundtrip(s, wire.metadata_v1_request(corr, [t])))
        assert md["correlation_id"] == corr
        assert len(md["brokers"]) == 1
        node = md["brokers"][0]
        assert (node["host"], node["port"]) == ("127.0.0.1", rb.port)
        assert md["controller_id"] == node["node_id"]
        assert list(md["topics"]) == [t]
        tm = md["topics"][t]
        assert tm["error_code"] == 0 and not tm["is_internal"]
        assert sorted(tm["partitions"]) == [0, 1, 2]
        for p in tm["partitions"].values():
            assert p == {"error_code": 0, "leader": node["node_id"], "replicas": [node["node_id"]],
                         "isr": [node["node_id"]]}
        # auto-creation on Metadata (1 partition by default)
        auto = unique_topic("raw-auto")
        md = wire.decode_metadata_v1(wire.roundtrip(s, wire.metadata_v1_request(next_corr(), [auto])))
        assert md["topics"][auto]["error_code"] in (0, 5), md["topics"][auto]  # 5: LEADER_NOT_AVAILABLE while creating
        md = wire.decode_metadata_v1(wire.roundtrip(s, wire.metadata_v1_request(next_corr(), [auto])))
        assert md["topics"][auto]["error_code"] == 0 and list(md["topics"][auto]["partitions"]) == [0]
        # invalid topic name -> INVALID_TOPIC_EXCEPTION (17), nothing created
        md = wire.decode_metadata_v1(wire.roundtrip(s, wire.metadata_v1_request(next_corr(), ["bad name!"])))
        assert md["topics"]["bad name!"]["error_code"] == 17, md["topics"]["bad name!"]


@pytest.mark.parametrize("all_topics", [True, False], ids=["all-topics-null", "named"])
def test_metadata_v12_decodes(rb, all_topics):
    """Metadata v12 (what librdkafka 2.x sends), incl. the all-topics form (null topic array)."""
    t = unique_topic("raw-md12")
    create_topic(rb.bootstrap, t, partitions=2)
    with wire.connect(rb.port) as s:
        corr = next_corr()
        try:
            data = wire.roundtrip(s, wire.metadata_v12_request(corr, None if all_topics else [t]))
        except ConnectionError as e:
            raise AssertionError(f"broker closed the connection on a valid Metadata v12 request: {e}\n"
                                 f"{rb.stderr_tail(5)}")
        md = wire.decode_metadata_v12(data)
    assert md["correlation_id"] == corr
    assert md["cluster_id"]
    assert [(b["host"], b["port"]) for b in md["brokers"]] == [("127.0.0.1", rb.port)]
    assert t in md["topics"]
    tm = md["topics"][t]
    assert tm["error_code"] == 0 and sorted(tm["partitions"]) == [0, 1]
    assert tm["topic_id"] != b"\x00" * 16, "topic id is zero"


def test_metadata_v12_librdkafka_all_topics_bytes(rb):
    """The exact all-topics Metadata v12 body librdkafka 2.16 (AdminClient.list_topics()) sends:
    null topic array followed by 3 bytes more than the v12 schema has. Apache Kafka ignores
    trailing bytes in a request body, so the broker must answer it, not close the connection."""
    corr = next_corr()
    req = wire.header_v2(wire.API_METADATA, 12, corr, "rdkafka") + bytes.fromhex("00000000010000")
    with wire.connect(rb.port) as s:
        try:
            data = wire.roundtrip(s, req)
        except ConnectionError as e:
            raise AssertionError(f"connection closed: {e}; broker log: {rb.stderr_tail(3)}")
    md = wire.decode_metadata_v12(data)
    assert md["correlation_id"] == corr and len(md["brokers"]) == 1
