"""Hand-rolled Kafka wire encoding for the raw-socket tests: frames, request headers,
RecordBatch v2 (CRC-32C), Produce v9 / Metadata v1 / ApiVersions requests and decoders."""
from __future__ import annotations

import socket
import struct
import time

try:
    from crc32c import crc32c as _crc32c
except ImportError:  # pragma: no cover - fallback table implementation
    _TABLE = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        _TABLE.append(c)

    def _crc32c(data: bytes) -> int:
        c = 0xFFFFFFFF
        for b in data:
            c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
        return c ^ 0xFFFFFFFF


def crc32c(data: bytes) -> int:
    return _crc32c(data) & 0xFFFFFFFF


API_PRODUCE, API_FETCH, API_LIST_OFFSETS, API_METADATA, API_API_VERSIONS = 0, 1, 2, 3, 18


# ----------------------------------------------------------------------------- primitives

def uvarint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def varint(n: int) -> bytes:  # zig-zag
    return uvarint((n << 1) ^ (n >> 63))


def string(s: str | None) -> bytes:
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def compact_string(s: str | None) -> bytes:
    if s is None:
        return uvarint(0)
    b = s.encode()
    return uvarint(len(b) + 1) + b


def compact_bytes(b: bytes | None) -> bytes:
    if b is None:
        return uvarint(0)
    return uvarint(len(b) + 1) + b


TAGS_NONE = b"\x00"


class Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ValueError(f"short read: need {n} at {self.pos}, have {len(self.data) - self.pos}")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def i8(self):
        return struct.unpack(">b", self.take(1))[0]

    def i16(self):
        return struct.unpack(">h", self.take(2))[0]

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def i64(self):
        return struct.unpack(">q", self.take(8))[0]

    def uvarint(self):
        shift = result = 0
        while True:
            b = self.take(1)[0]
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7

    def string(self):
        n = self.i16()
        return None if n < 0 else self.take(n).decode()

    def compact_string(self):
        n = self.uvarint() - 1
        return None if n < 0 else self.take(n).decode()

    def compact_array_len(self):
        return self.uvarint() - 1

    def skip_tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())

    def remaining(self) -> int:
        return len(self.data) - self.pos


# ----------------------------------------------------------------------------- framing

def frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


def header_v1(api_key: int, version: int, correlation_id: int, client_id: str | None = "interop-raw") -> bytes:
    return struct.pack(">hhi", api_key, version, correlation_id) + string(client_id)


def header_v2(api_key: int, version: int, correlation_id: int, client_id: str | None = "interop-raw") -> bytes:
    return header_v1(api_key, version, correlation_id, client_id) + TAGS_NONE


def connect(port: int, timeout: float = 5.0) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.settimeout(timeout)
    return s


def recv_exact(s: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


def recv_frame(s: socket.socket) -> bytes:
    (size,) = struct.unpack(">i", recv_exact(s, 4))
    assert 0 <= size < 64 * 1024 * 1024, f"implausible response size {size}"
    return recv_exact(s, size)


def roundtrip(s: socket.socket, request: bytes) -> bytes:
    s.sendall(frame(request))
    return recv_frame(s)


def wait_closed(s: socket.socket, timeout: float = 5.0) -> bytes:
    """Asserts the peer closes the connection within `timeout`; returns bytes read before EOF."""
    s.settimeout(0.5)
    got = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return bytes(got)
        if not chunk:
            return bytes(got)
        got += chunk
    raise AssertionError(f"broker did not close the connection within {timeout}s (read {len(got)} bytes)")


# ----------------------------------------------------------------------------- ApiVersions

def api_versions_request(version: int, correlation_id: int) -> bytes:
    if version >= 3:
        return header_v2(API_API_VERSIONS, version, correlation_id) + compact_string("interop") + \
            compact_string("1.0") + TAGS_NONE
    return header_v1(API_API_VERSIONS, version, correlation_id)


def decode_api_versions_v0(data: bytes):
    """ApiVersions response v0 (header v0): (correlation_id, error_code, {key: (min, max)})."""
    r = Reader(data)
    corr = r.i32()
    err = r.i16()
    n = r.i32()
    keys = {}
    for _ in range(n):
        k, lo, hi = r.i16(), r.i16(), r.i16()
        keys[k] = (lo, hi)
    return corr, err, keys


def decode_api_versions_v3(data: bytes):
    """ApiVersions response v3/v4 (header v0, flexible body)."""
    r = Reader(data)
    corr = r.i32()
    err = r.i16()
    keys = {}
    for _ in range(r.compact_array_len()):
        k, lo, hi = r.i16(), r.i16(), r.i16()
        r.skip_tags()
        keys[k] = (lo, hi)
    throttle = r.i32()
    r.skip_tags()
    return corr, err, keys, throttle


# ----------------------------------------------------------------------------- RecordBatch v2

def record(offset_delta: int, key: bytes | None, value: bytes | None, headers=(), ts_delta: int = 0) -> bytes:
    body = bytearray()
    body += b"\x00"  # attributes
    body += varint(ts_delta)
    body += varint(offset_delta)
    body += varint(-1) if key is None else varint(len(key)) + key
    body += varint(-1) if value is None else varint(len(value)) + value
    body += varint(len(headers))
    for hk, hv in headers:
        hkb = hk.encode()
        body += varint(len(hkb)) + hkb
        body += varint(-1) if hv is None else varint(len(hv)) + hv
    return varint(len(body)) + bytes(body)


def record_batch(records, base_timestamp: int | None = None, producer_id: int = -1, producer_epoch: int = -1,
                 base_sequence: int = -1, attributes: int = 0, corrupt_crc: bool = False) -> bytes:
    """records: list of (key, value, headers). Returns a complete uncompressed RecordBatch v2."""
    if base_timestamp is None:
        base_timestamp = int(time.time() * 1000)
    recs = b"".join(record(i, k, v, h) for i, (k, v, h) in enumerate(records))
    after_crc = struct.pack(">hiqqqhii", attributes, len(records) - 1, base_timestamp, base_timestamp,
                            producer_id, producer_epoch, base_sequence, len(records)) + recs
    crc = crc32c(after_crc)
    if corrupt_crc:
        crc ^= 0xDEADBEEF
    # batchLength counts from partitionLeaderEpoch to the end.
    batch_len = 4 + 1 + 4 + len(after_crc)
    return struct.pack(">qiibI", 0, batch_len, -1, 2, crc) + after_crc


# ----------------------------------------------------------------------------- Produce v9

def produce_v9_request(correlation_id: int, topics: dict, acks: int = -1, timeout_ms: int = 10000,
                       transactional_id: str | None = None) -> bytes:
    """topics: {name: {partition: batch_bytes}}."""
    body = bytearray()
    body += compact_string(transactional_id)
    body += struct.pack(">hi", acks, timeout_ms)
    body += uvarint(len(topics) + 1)
    for name, parts in topics.items():
        body += compact_string(name)
        body += uvarint(len(parts) + 1)
        for idx, batch in parts.items():
            body += struct.pack(">i", idx)
            body += compact_bytes(batch)
            body += TAGS_NONE
        body += TAGS_NONE
    body += TAGS_NONE
    return header_v2(API_PRODUCE, 9, correlation_id) + bytes(body)


def decode_produce_v9(data: bytes):
    """Returns (correlation_id, {(topic, partition): {error_code, base_offset, ...}})."""
    r = Reader(data)
    corr = r.i32()
    r.skip_tags()  # response header v1
    out = {}
    for _ in range(r.compact_array_len()):
        name = r.compact_string()
        for _ in range(r.compact_array_len()):
            idx = r.i32()
            p = {"error_code": r.i16(), "base_offset": r.i64(), "log_append_time_ms": r.i64(),
                 "log_start_offset": r.i64()}
            errs = []
            for _ in range(r.compact_array_len()):
                errs.append((r.i32(), r.compact_string()))
                r.skip_tags()
            p["record_errors"] = errs
            p["error_message"] = r.compact_string()
            r.skip_tags()
            out[(name, idx)] = p
        r.skip_tags()
    r.i32()  # throttle
    r.skip_tags()
    return corr, out


def produce_v3_to_8_request(version: int, correlation_id: int, topics: dict, acks: int = -1,
                            timeout_ms: int = 10000) -> bytes:
    """Non-flexible Produce (v3..v8); v0-v2 lack transactional_id, we add it only for v3+."""
    body = bytearray()
    if version >= 3:
        body += string(None)
    body += struct.pack(">hi", acks, timeout_ms)
    body += struct.pack(">i", len(topics))
    for name, parts in topics.items():
        body += string(name)
        body += struct.pack(">i", len(parts))
        for idx, batch in parts.items():
            body += struct.pack(">i", idx) + struct.pack(">i", len(batch)) + batch
    return header_v1(API_PRODUCE, version, correlation_id) + bytes(body)


# ----------------------------------------------------------------------------- Metadata v1

def metadata_v1_request(correlation_id: int, topics: list[str] | None) -> bytes:
    body = struct.pack(">i", -1) if topics is None else struct.pack(">i", len(topics)) + b"".join(
        string(t) for t in topics)
    return header_v1(API_METADATA, 1, correlation_id) + body


def decode_metadata_v1(data: bytes):
    r = Reader(data)
    corr = r.i32()
    brokers = []
    for _ in range(r.i32()):
        brokers.append({"node_id": r.i32(), "host": r.string(), "port": r.i32(), "rack": r.string()})
    controller = r.i32()
    topics = {}
    for _ in range(r.i32()):
        err = r.i16()
        name = r.string()
        internal = r.i8()
        parts = {}
        for _ in range(r.i32()):
            perr, idx, leader = r.i16(), r.i32(), r.i32()
            replicas = [r.i32() for _ in range(r.i32())]
            isr = [r.i32() for _ in range(r.i32())]
            parts[idx] = {"error_code": perr, "leader": leader, "replicas": replicas, "isr": isr}
        topics[name] = {"error_code": err, "is_internal": bool(internal), "partitions": parts}
    assert r.remaining() == 0, f"{r.remaining()} trailing bytes in Metadata v1 response"
    return {"correlation_id": corr, "brokers": brokers, "controller_id": controller, "topics": topics}


def all_topics(port: int) -> dict:
    """{topic: partition count} from a Metadata v1 request for all topics (never auto-creates)."""
    with connect(port) as s:
        md = decode_metadata_v1(roundtrip(s, metadata_v1_request(424242, None)))
    return {name: len(t["partitions"]) for name, t in md["topics"].items() if t["error_code"] == 0}


def metadata_v12_request(correlation_id: int, topics: list[str] | None, allow_auto_create: bool = True) -> bytes:
    body = bytearray()
    if topics is None:
        body += uvarint(0)
    else:
        body += uvarint(len(topics) + 1)
        for t in topics:
            body += b"\x00" * 16 + compact_string(t) + TAGS_NONE  # topic_id (zero), name
    body += bytes([1 if allow_auto_create else 0]) + b"\x00" + TAGS_NONE
    return header_v2(API_METADATA, 12, correlation_id) + bytes(body)


def decode_metadata_v12(data: bytes):
    r = Reader(data)
    corr = r.i32()
    r.skip_tags()
    throttle = r.i32()
    brokers = []
    for _ in range(r.compact_array_len()):
        brokers.append({"node_id": r.i32(), "host": r.compact_string(), "port": r.i32(), "rack": r.compact_string()})
        r.skip_tags()
    cluster_id = r.compact_string()
    controller = r.i32()
    topics = {}
    for _ in range(r.compact_array_len()):
        err = r.i16()
        name = r.compact_string()
        topic_id = r.take(16)
        internal = r.i8()
        parts = {}
        for _ in range(r.compact_array_len()):
            perr, idx, leader, epoch = r.i16(), r.i32(), r.i32(), r.i32()
            replicas = [r.i32() for _ in range(r.compact_array_len())]
            isr = [r.i32() for _ in range(r.compact_array_len())]
            offline = [r.i32() for _ in range(r.compact_array_len())]
            r.skip_tags()
            parts[idx] = {"error_code": perr, "leader": leader, "replicas": replicas, "isr": isr}
        r.i32()  # topic authorized operations
        r.skip_tags()
        topics[name] = {"error_code": err, "topic_id": topic_id, "is_internal": bool(internal), "partitions": parts}
    r.skip_tags()
    assert r.remaining() == 0, f"{r.remaining()} trailing bytes in Metadata v12 response"
    return {"correlation_id": corr, "brokers": brokers, "cluster_id": cluster_id, "controller_id": controller,
            "topics": topics}


# ----------------------------------------------------------------------------- Fetch v11

def fetch_v11_request(correlation_id: int, topic: str, partition: int, offset: int, max_wait_ms: int = 100,
                      max_bytes: int = 1 << 20) -> bytes:
    """One partition, non-flexible Fetch v11 (topic by name, no fetch session)."""
    body = struct.pack(">iiiibii", -1, max_wait_ms, 1, max_bytes, 0, 0, -1)
    body += struct.pack(">i", 1) + string(topic) + struct.pack(">i", 1)
    body += struct.pack(">iiqqi", partition, -1, offset, -1, max_bytes)
    body += struct.pack(">i", 0)  # forgotten topics
    body += string("")  # rack id
    return header_v1(API_FETCH, 11, correlation_id) + body


def decode_fetch_v11(data: bytes):
    """Returns [(topic, partition, error_code, high_watermark, log_start_offset, records_length, records)];
    records_length is -1 for a null record set."""
    r = Reader(data)
    r.i32()  # correlation id
    r.i32()  # throttle
    r.i16()  # top-level error
    r.i32()  # session id
    out = []
    for _ in range(r.i32()):
        topic = r.string()
        for _ in range(r.i32()):
            p, err, hw, _lso, log_start = r.i32(), r.i16(), r.i64(), r.i64(), r.i64()
            n_aborted = r.i32()
            for _ in range(max(0, n_aborted)):
                r.i64(), r.i64()
            r.i32()  # preferred read replica
            length = r.i32()
            records = r.take(length) if length > 0 else b""
            out.append((topic, p, err, hw, log_start, length, records))
    return out


def batch_attributes(records: bytes) -> list[int]:
    """The attributes of each whole batch in a record set."""
    out, pos = [], 0
    while pos + 61 <= len(records):
        length = struct.unpack_from(">i", records, pos + 8)[0]
        out.append(struct.unpack_from(">h", records, pos + 21)[0])
        pos += 12 + length
    return out


# ----------------------------------------------------------------------------- transactions (raw wire)
# Flexible requests use request header v2; their responses header v1 (a tag section after
# the correlation id). Layouts follow Apache Kafka's clients/src/main/resources/common/message.

API_OFFSET_FETCH, API_INIT_PRODUCER_ID, API_ADD_PARTITIONS_TO_TXN, API_END_TXN = 9, 22, 24, 26
API_DESCRIBE_PRODUCERS, API_DESCRIBE_TRANSACTIONS, API_LIST_TRANSACTIONS = 61, 65, 66

ATTR_TRANSACTIONAL, ATTR_CONTROL = 0x10, 0x20


def _compact_array(items, encode) -> bytes:
    return uvarint(len(items) + 1) + b"".join(encode(x) for x in items)


def _flexible_response(data: bytes) -> Reader:
    """Reader positioned after a response header v1 (correlation id + tags); `.corr` holds the id."""
    r = Reader(data)
    r.corr = r.i32()
    r.skip_tags()
    return r


def init_producer_id_request(correlation_id: int, transactional_id: str | None, timeout_ms: int,
                             producer_id: int = -1, producer_epoch: int = -1, version: int = 4) -> bytes:
    """InitProducerId v2..v5 (flexible)."""
    assert 2 <= version <= 5
    body = compact_string(transactional_id) + struct.pack(">i", timeout_ms)
    if version >= 3:
        body += struct.pack(">qh", producer_id, producer_epoch)
    return header_v2(API_INIT_PRODUCER_ID, version, correlation_id) + body + TAGS_NONE


def decode_init_producer_id(data: bytes) -> dict:
    r = _flexible_response(data)
    out = {"throttle_ms": r.i32(), "error_code": r.i16(), "producer_id": r.i64(), "producer_epoch": r.i16()}
    r.skip_tags()
    assert r.remaining() == 0, f"{r.remaining()} trailing bytes in InitProducerId response"
    return out


def add_partitions_to_txn_v3_request(correlation_id: int, transactional_id: str, producer_id: int,
                                     producer_epoch: int, topics: dict) -> bytes:
    """AddPartitionsToTxn v3 (the client form, flexible); topics: {name: [partition, ...]}."""
    body = compact_string(transactional_id) + struct.pack(">qh", producer_id, producer_epoch)
    body += _compact_array(list(topics.items()), lambda t: compact_string(t[0]) + _compact_array(
        t[1], lambda p: struct.pack(">i", p)) + TAGS_NONE)
    return header_v2(API_ADD_PARTITIONS_TO_TXN, 3, correlation_id) + body + TAGS_NONE


def decode_add_partitions_to_txn_v3(data: bytes) -> dict:
    """{(topic, partition): error_code}."""
    r = _flexible_response(data)
    r.i32()  # throttle
    out = {}
    for _ in range(r.compact_array_len()):
        name = r.compact_string()
        for _ in range(r.compact_array_len()):
            p, err = r.i32(), r.i16()
            r.skip_tags()
            out[(name, p)] = err
        r.skip_tags()
    r.skip_tags()
    assert r.remaining() == 0, f"{r.remaining()} trailing bytes in AddPartitionsToTxn response"
    return out


def end_txn_v3_request(correlation_id: int, transactional_id: str, producer_id: int, producer_epoch: int,
                       committed: bool) -> bytes:
    body = compact_string(transactional_id) + struct.pack(">qhb", producer_id, producer_epoch, 1 if committed else 0)
    return header_v2(API_END_TXN, 3, correlation_id) + body + TAGS_NONE


def decode_end_txn_v3(data: bytes) -> int:
    """The error code."""
    r = _flexible_response(data)
    r.i32()  # throttle
    err = r.i16()
    r.skip_tags()
    assert r.remaining() == 0, f"{r.remaining()} trailing bytes in EndTxn response"
    return err


def describe_transactions_request(correlation_id: int, transactional_ids: list[str]) -> bytes:
    body = _compact_array(transactional_ids, compact_string)
    return header_v2(API_DESCRIBE_TRANSACTIONS, 0, correlation_id) + body + TAGS_NONE


def decode_describe_transactions(data: bytes) -> dict:
    """{transactional_id: {error_code, state, timeout_ms, start_time_ms, producer_id, producer_epoch, topics}};
    topics is {name: [partitions]}."""
    r = _flexible_response(data)
    r.i32()  # throttle
    out = {}
    for _ in range(r.compact_array_len()):
        s = {"error_code": r.i16()}
        tid = r.compact_string()
        s.update(state=r.compact_string(), timeout_ms=r.i32(), start_time_ms=r.i64(), producer_id=r.i64(),
                 producer_epoch=r.i16())
        topics = {}
        for _ in range(r.compact_array_len()):
            name = r.compact_string()
            topics[name] = [r.i32() for _ in range(r.compact_array_len())]
            r.skip_tags()
        s["topics"] = topics
        r.skip_tags()
        out[tid] = s
    r.skip_tags()
    assert r.remaining() == 0, f"{r.remaining()} trailing bytes in DescribeTransactions response"
    return out


def list_transactions_request(correlation_id: int, version: int = 0, states=(), producer_ids=(),
                              duration_ms: int = -1, pattern: str | None = None) -> bytes:
    """ListTransactions v0..v2: v1 adds DurationFilter, v2 TransactionalIdPattern (KIP-1152)."""
    body = _compact_array(list(states), compact_string)
    body += _compact_array(list(producer_ids), lambda p: struct.pack(">q", p))
    if version >= 1:
        body += struct.pack(">q", duration_ms)
    if version >= 2:
        body += compact_string(pattern)
    return header_v2(API_LIST_TRANSACTIONS, version, correlation_id) + body + TAGS_NONE


def decode_list_transactions(data: bytes) -> dict:
    """{error_code, unknown_state_filters, transactions: {transactional_id: (producer_id, state)}}."""
    r = _flexible_response(data)
    r.i32()  # throttle
    err = r.i16()
    unknown = [r.compact_string() for _ in range(r.compact_array_len())]
    txns = {}
    for _ in range(r.compact_array_len()):
        tid, pid, state = r.compact_string(), r.i64(), r.compact_string()
        r.skip_tags()
        txns[tid] = (pid, state)
    r.skip_tags()
    assert r.remaining() == 0, f"{r.remaining()} trailing bytes in ListTransactions response"
    return {"error_code": err, "unknown_state_filters": unknown, "transactions": txns}


def describe_producers_request(correlation_id: int, topics: dict) -> bytes:
    """topics: {name: [partition, ...]}."""
    body = _compact_array(list(topics.items()), lambda t: compact_string(t[0]) + _compact_array(
        t[1], lambda p: struct.pack(">i", p)) + TAGS_NONE)
    return header_v2(API_DESCRIBE_PRODUCERS, 0, correlation_id) + body + TAGS_NONE


def decode_describe_producers(data: bytes) -> dict:
    """{(topic, partition): {error_code, error_message, producers: {producer_id: {...}}}}."""
    r = _flexible_response(data)
    r.i32()  # throttle
    out = {}
    for _ in range(r.compact_array_len()):
        name = r.compact_string()
        for _ in range(r.compact_array_len()):
            idx, err, msg = r.i32(), r.i16(), r.compact_string()
            producers = {}
            for _ in range(r.compact_array_len()):
                pid = r.i64()
                producers[pid] = {"producer_epoch": r.i32(), "last_sequence": r.i32(), "last_timestamp": r.i64(),
                                  "coordinator_epoch": r.i32(), "current_txn_start_offset": r.i64()}
                r.skip_tags()
            r.skip_tags()
            out[(name, idx)] = {"error_code": err, "error_message": msg, "producers": producers}
        r.skip_tags()
    r.skip_tags()
    assert r.remaining() == 0, f"{r.remaining()} trailing bytes in DescribeProducers response"
    return out


def offset_fetch_v8_request(correlation_id: int, group: str, topics: dict | None, require_stable: bool) -> bytes:
    """OffsetFetch v8 (one group; topics {name: [partitions]} or None for all)."""
    def enc_topics(ts):
        if ts is None:
            return uvarint(0)
        return _compact_array(list(ts.items()), lambda t: compact_string(t[0]) + _compact_array(
            t[1], lambda p: struct.pack(">i", p)) + TAGS_NONE)
    body = uvarint(2) + compact_string(group) + enc_topics(topics) + TAGS_NONE
    body += bytes([1 if require_stable else 0])
    return header_v2(API_OFFSET_FETCH, 8, correlation_id) + body + TAGS_NONE


def decode_offset_fetch_v8(data: bytes) -> dict:
    """{group: {"error_code": e, "partitions": {(topic, partition): (committed_offset, error_code)}}}."""
    r = _flexible_response(data)
    r.i32()  # throttle
    out = {}
    for _ in range(r.compact_array_len()):
        group = r.compact_string()
        parts = {}
        for _ in range(r.compact_array_len()):
            name = r.compact_string()
            for _ in range(r.compact_array_len()):
                idx, off, _epoch = r.i32(), r.i64(), r.i32()
                r.compact_string()  # metadata
                parts[(name, idx)] = (off, r.i16())
                r.skip_tags()
            r.skip_tags()
        out[group] = {"error_code": r.i16(), "partitions": parts}
        r.skip_tags()
    r.skip_tags()
    assert r.remaining() == 0, f"{r.remaining()} trailing bytes in OffsetFetch v8 response"
    return out


def fetch_v11_isolated_request(correlation_id: int, topic: str, partition: int, offset: int,
                               isolation_level: int, max_wait_ms: int = 100, max_bytes: int = 1 << 20) -> bytes:
    """Fetch v11 like `fetch_v11_request`, with an isolation level (0 read_uncommitted, 1 read_committed)."""
    body = struct.pack(">iiiibii", -1, max_wait_ms, 1, max_bytes, isolation_level, 0, -1)
    body += struct.pack(">i", 1) + string(topic) + struct.pack(">i", 1)
    body += struct.pack(">iiqqi", partition, -1, offset, -1, max_bytes)
    body += struct.pack(">i", 0)  # forgotten topics
    body += string("")  # rack id
    return header_v1(API_FETCH, 11, correlation_id) + body


def decode_fetch_v11_partition(data: bytes) -> dict:
    """The single partition of a Fetch v11 response: {error_code, high_watermark, last_stable_offset,
    log_start_offset, aborted: [(producer_id, first_offset)], records}."""
    r = Reader(data)
    r.i32(), r.i32(), r.i16(), r.i32()  # correlation id, throttle, error, session id
    assert r.i32() == 1, "expected one topic"
    r.string()
    assert r.i32() == 1, "expected one partition"
    _p, err, hw, lso, log_start = r.i32(), r.i16(), r.i64(), r.i64(), r.i64()
    n = r.i32()
    aborted = [(r.i64(), r.i64()) for _ in range(max(0, n))]
    r.i32()  # preferred read replica
    length = r.i32()
    records = r.take(length) if length > 0 else b""
    return {"error_code": err, "high_watermark": hw, "last_stable_offset": lso, "log_start_offset": log_start,
            "aborted": aborted if n >= 0 else None, "records": records}


def parse_batches(records: bytes) -> list[dict]:
    """Every whole RecordBatch v2 of a record set (records uncompressed or not; control records decoded).

    Each: base_offset, last_offset, attributes, producer_id, producer_epoch, base_sequence, count,
    transactional, control, and for a control batch `control_type` (0 abort, 1 commit)."""
    out, pos = [], 0
    while pos + 61 <= len(records):
        base_offset, length = struct.unpack_from(">qi", records, pos)
        if pos + 12 + length > len(records):
            break
        attrs, last_delta = struct.unpack_from(">hi", records, pos + 21)
        pid, epoch, base_seq, count = struct.unpack_from(">qhii", records, pos + 43)
        b = {"base_offset": base_offset, "last_offset": base_offset + last_delta, "attributes": attrs,
             "producer_id": pid, "producer_epoch": epoch, "base_sequence": base_seq, "count": count,
             "transactional": bool(attrs & ATTR_TRANSACTIONAL), "control": bool(attrs & ATTR_CONTROL)}
        if b["control"] and attrs & 0x07 == 0:
            # one record: length, attributes, ts delta, offset delta, key (version int16, type int16)
            rr = Reader(records[pos + 61:pos + 12 + length])
            _zigzag(rr)  # record length
            rr.take(1)  # record attributes
            _zigzag(rr), _zigzag(rr)  # timestamp delta, offset delta
            klen = _zigzag(rr)
            key = rr.take(klen)
            b["control_type"] = struct.unpack(">hh", key)[1]
        out.append(b)
        pos += 12 + length
    return out


def _zigzag(r: Reader) -> int:
    n = r.uvarint()
    return (n >> 1) ^ -(n & 1)
