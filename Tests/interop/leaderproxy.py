"""A fake two-broker cluster in front of one real broker, for leader-move and TLS tests of clients.

Nodes 1 and 2 are TCP proxies to the same Riverbank broker. The proxies rewrite what a client
needs to believe in a multi-node cluster and let a test move partition leadership:

* ApiVersions answers are capped (Metadata v1, Produce v8, Fetch v11: non-flexible versions this
  module can rewrite and answer by hand);
* Metadata answers list both nodes and the leader of each partition from `leaders` (default 1);
* a Produce or Fetch that reaches a node that does not lead one of its partitions is answered by
  the proxy with NOT_LEADER_OR_FOLLOWER for every partition in it (nothing is forwarded, so
  nothing is written: retrying elsewhere is safe), as a live old leader does after a move;
* `kill(node)` closes the node's connections and refuses new ones, as a crashed leader does;
* with `tls` (a server-side ssl.SSLContext) both nodes are TLS listeners (client certificates
  required or not, as the context says) in front of the plaintext broker.

Since both nodes forward to the same log, a client that follows the move keeps reading and
writing the same partitions, and duplicates or gaps show up in the data.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import socket
import ssl
import struct
import threading

from wire import Reader, recv_exact, string

API_PRODUCE, API_FETCH, API_METADATA, API_API_VERSIONS = 0, 1, 3, 18
API_SASL_HANDSHAKE, API_SASL_AUTHENTICATE = 17, 36
SASL_AUTHENTICATION_FAILED, UNSUPPORTED_SASL_MECHANISM, ILLEGAL_SASL_STATE = 58, 33, 34
CAPS = {API_METADATA: 1, API_PRODUCE: 8, API_FETCH: 11}
NOT_LEADER_OR_FOLLOWER = 6


def _i16(v): return struct.pack(">h", v)
def _i32(v): return struct.pack(">i", v)
def _i64(v): return struct.pack(">q", v)


def _uvarint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


class FakeCluster:
    def __init__(self, upstream_port: int, host: str = "127.0.0.1", tls=None, sasl: dict | None = None,
                 sasl_mechanisms=("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")):
        """`tls`: an ssl.SSLContext (server side) to make both nodes TLS listeners; `sasl`:
        {user: password} to require SASL (PLAIN / SCRAM, as Kafka does) before anything else."""
        self.tls = tls
        self.sasl = sasl
        self.sasl_mechanisms = list(sasl_mechanisms)
        self.sasl_results: list[tuple[str, str, bool]] = []  # (mechanism, user, ok)
        self.tls_failures: list[str] = []
        self.upstream = (host, upstream_port)
        self.host = host
        self.leaders: dict[tuple[str, int], int] = {}
        self.dead: set[int] = set()
        self.lock = threading.Lock()
        self.requests: dict[int, dict[int, int]] = {1: {}, 2: {}}  # node -> api key -> count
        self.not_leader_answers = 0
        self.listeners: dict[int, socket.socket] = {}
        self.conns: dict[int, list[socket.socket]] = {1: [], 2: []}
        for node in (1, 2):
            ls = socket.socket()
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind((host, 0))
            ls.listen(16)
            self.listeners[node] = ls
            threading.Thread(target=self._accept, args=(node,), daemon=True).start()

    def port(self, node: int) -> int:
        return self.listeners[node].getsockname()[1]

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port(1)},{self.host}:{self.port(2)}"

    def leader(self, topic: str, partition: int) -> int:
        return self.leaders.get((topic, partition), 1)

    def move(self, topic: str, partition: int, node: int) -> None:
        with self.lock:
            self.leaders[(topic, partition)] = node

    def kill(self, node: int) -> None:
        with self.lock:
            self.dead.add(node)
            conns, self.conns[node] = self.conns[node], []
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()

    def close(self) -> None:
        for node in (1, 2):
            self.kill(node)
            self.listeners[node].close()

    # ------------------------------------------------------------------ plumbing

    def _accept(self, node: int) -> None:
        ls = self.listeners[node]
        while True:
            try:
                client, _ = ls.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(node, client), daemon=True).start()

    def _serve(self, node: int, client: socket.socket) -> None:
        if self.tls is not None:
            try:
                client = self.tls.wrap_socket(client, server_side=True)
            except (ssl.SSLError, OSError) as e:
                with self.lock:
                    self.tls_failures.append(str(e))
                client.close()
                return
        with self.lock:
            if node in self.dead:
                client.close()
                return
            self.conns[node].append(client)
        up = socket.create_connection(self.upstream)
        pending: dict[int, tuple[int, int]] = {}
        plock = threading.Lock()
        send_lock = threading.Lock()  # both directions may answer the client
        threading.Thread(target=self._client_to_broker, args=(node, client, up, pending, plock, send_lock),
                         daemon=True).start()
        threading.Thread(target=self._broker_to_client, args=(client, up, pending, plock, send_lock),
                         daemon=True).start()

    @staticmethod
    def _read_frame(s: socket.socket) -> bytes | None:
        try:
            (n,) = struct.unpack(">i", recv_exact(s, 4))
            return recv_exact(s, n)
        except (AssertionError, OSError, struct.error):
            return None

    @staticmethod
    def _send_frame(sock: socket.socket, payload: bytes, lock: threading.Lock | None = None) -> bool:
        """Writes one size-prefixed frame; False once the peer is gone."""
        try:
            if lock is None:
                sock.sendall(_i32(len(payload)) + payload)
            else:
                with lock:
                    sock.sendall(_i32(len(payload)) + payload)
            return True
        except OSError:
            return False

    @staticmethod
    def _close(*socks: socket.socket) -> None:
        for s in socks:
            try:
                s.close()
            except OSError:
                pass

    def _client_to_broker(self, node, client, up, pending, plock, send_lock) -> None:
        auth = SaslServer(self) if self.sasl is not None else None
        while True:
            req = self._read_frame(client)
            if req is None:
                break
            api_key, version, corr = struct.unpack(">hhi", req[:8])
            if auth is not None and not auth.done and api_key != API_API_VERSIONS:
                answer, keep = auth.handle(api_key, version, corr, req)
                if answer is not None and not self._send_frame(client, answer, send_lock):
                    break
                if not keep:
                    break  # Kafka closes the connection on a failed or out-of-order exchange
                continue
            with self.lock:
                self.requests[node][api_key] = self.requests[node].get(api_key, 0) + 1
            if api_key in (API_PRODUCE, API_FETCH):
                answer = self._not_leader_answer(node, api_key, version, corr, req)
                if answer is not None:
                    with self.lock:
                        self.not_leader_answers += 1
                    if not self._send_frame(client, answer, send_lock):
                        break
                    continue
            with plock:
                pending[corr] = (api_key, version)
            if not self._send_frame(up, req):
                break
        self._close(client, up)

    def _broker_to_client(self, client, up, pending, plock, send_lock) -> None:
        while True:
            resp = self._read_frame(up)
            if resp is None:
                break
            (corr,) = struct.unpack(">i", resp[:4])
            with plock:
                api_key, version = pending.pop(corr, (None, None))
            if api_key == API_API_VERSIONS:
                resp = self._cap_api_versions(resp, version)
            elif api_key == API_METADATA:
                resp = self._rewrite_metadata(resp)
            if not self._send_frame(client, resp, send_lock):
                break
        self._close(client, up)

    # ------------------------------------------------------------------ rewriting

    def _cap_api_versions(self, resp: bytes, version: int) -> bytes:
        r = Reader(resp)
        corr, err = r.i32(), r.i16()
        out = bytearray(_i32(corr) + _i16(err))
        extra = [(API_SASL_HANDSHAKE, 0, 1), (API_SASL_AUTHENTICATE, 0, 1)] if self.sasl is not None else []
        if version >= 3:
            n = r.compact_array_len()
            keys = []
            for _ in range(n):
                k, lo, hi = r.i16(), r.i16(), r.i16()
                r.skip_tags()
                keys.append((k, lo, min(hi, CAPS.get(k, hi))))
            keys = [k for k in keys if k[0] not in (API_SASL_HANDSHAKE, API_SASL_AUTHENTICATE)] + extra
            out += _uvarint(len(keys) + 1)
            for k, lo, hi in keys:
                out += _i16(k) + _i16(lo) + _i16(hi) + b"\x00"
            out += _i32(r.i32()) + b"\x00"  # throttle, no tagged fields
        else:
            n = r.i32()
            keys = [(r.i16(), r.i16(), r.i16()) for _ in range(n)]
            keys = [(k, lo, min(hi, CAPS.get(k, hi))) for k, lo, hi in keys
                    if k not in (API_SASL_HANDSHAKE, API_SASL_AUTHENTICATE)] + extra
            out += _i32(len(keys))
            for k, lo, hi in keys:
                out += _i16(k) + _i16(lo) + _i16(hi)
            out += resp[r.pos:]
        return bytes(out)

    def _rewrite_metadata(self, resp: bytes) -> bytes:
        r = Reader(resp)
        corr = r.i32()
        for _ in range(r.i32()):
            r.i32(), r.string(), r.i32(), r.string()
        r.i32()  # controller
        out = bytearray(_i32(corr) + _i32(2))
        for node in (1, 2):
            out += _i32(node) + string(self.host) + _i32(self.port(node)) + string(None)
        out += _i32(1)
        n = r.i32()
        out += _i32(n)
        for _ in range(n):
            err, name, internal = r.i16(), r.string(), r.i8()
            out += _i16(err) + string(name) + bytes([internal & 0xFF])
            m = r.i32()
            out += _i32(m)
            for _ in range(m):
                perr, idx, _leader = r.i16(), r.i32(), r.i32()
                for _ in range(r.i32()):
                    r.i32()
                for _ in range(r.i32()):
                    r.i32()
                leader = self.leader(name, idx)
                out += _i16(perr) + _i32(idx) + _i32(leader) + _i32(1) + _i32(leader) + _i32(1) + _i32(leader)
        return bytes(out)

    def _not_leader_answer(self, node: int, api_key: int, version: int, corr: int, req: bytes) -> bytes | None:
        """The proxy's own answer when this node leads none / not all of the request's partitions."""
        r = Reader(req[8:])
        r.string()  # client id (request header v1)
        topics: list[tuple[str, list[int]]] = []
        if api_key == API_PRODUCE:
            if version >= 3:
                r.string()  # transactional id
            r.i16(), r.i32()  # acks, timeout
            for _ in range(r.i32()):
                name = r.string()
                parts = []
                for _ in range(r.i32()):
                    parts.append(r.i32())
                    n = r.i32()
                    if n > 0:
                        r.take(n)
                topics.append((name, parts))
        else:
            r.i32(), r.i32(), r.i32()  # replica id, max wait, min bytes
            if version >= 3:
                r.i32()
            if version >= 4:
                r.i8()
            if version >= 7:
                r.i32(), r.i32()
            for _ in range(r.i32()):
                name = r.string()
                parts = []
                for _ in range(r.i32()):
                    parts.append(r.i32())
                    if version >= 9:
                        r.i32()
                    r.i64()
                    if version >= 5:
                        r.i64()
                    r.i32()
                topics.append((name, parts))
        if all(self.leader(t, p) == node for t, ps in topics for p in ps) and node not in self.dead:
            return None
        out = bytearray(_i32(corr))
        if api_key == API_PRODUCE:
            if version == 0:
                return None
            out += _i32(len(topics))
            for name, parts in topics:
                out += string(name) + _i32(len(parts))
                for p in parts:
                    out += _i32(p) + _i16(NOT_LEADER_OR_FOLLOWER) + _i64(-1)
                    if version >= 2:
                        out += _i64(-1)
                    if version >= 5:
                        out += _i64(-1)
                    if version >= 8:
                        out += _i32(0) + string(None)
            out += _i32(0)  # throttle
        else:
            out += _i32(0)  # throttle
            if version >= 7:
                out += _i16(0) + _i32(0)
            out += _i32(len(topics))
            for name, parts in topics:
                out += string(name) + _i32(len(parts))
                for p in parts:
                    out += _i32(p) + _i16(NOT_LEADER_OR_FOLLOWER) + _i64(-1) + _i64(-1)
                    if version >= 5:
                        out += _i64(-1)
                    out += _i32(-1)  # aborted transactions: null
                    if version >= 11:
                        out += _i32(-1)  # preferred read replica
                    out += _i32(-1)  # records: null
        return bytes(out)


class SaslServer:
    """The broker side of SASL for one connection: SaslHandshake v0/v1 then SaslAuthenticate
    v0/v1 rounds (PLAIN, or SCRAM-SHA-256/512 per RFC 5802 with 4096 iterations)."""

    def __init__(self, cluster: FakeCluster):
        self.cluster = cluster
        self.mechanism: str | None = None
        self.done = False
        self.scram: dict | None = None

    def _record(self, user: str, ok: bool):
        with self.cluster.lock:
            self.cluster.sasl_results.append((self.mechanism or "?", user, ok))

    def handle(self, api_key: int, version: int, corr: int, req: bytes) -> tuple[bytes | None, bool]:
        r = Reader(req[8:])
        r.string()  # client id
        if api_key == API_SASL_HANDSHAKE and self.mechanism is None:
            mech = r.string()
            ok = mech in self.cluster.sasl_mechanisms
            body = _i16(0 if ok else UNSUPPORTED_SASL_MECHANISM) + _i32(len(self.cluster.sasl_mechanisms)) + \
                b"".join(string(m) for m in self.cluster.sasl_mechanisms)
            if ok:
                self.mechanism = mech
            return _i32(corr) + body, ok
        if api_key != API_SASL_AUTHENTICATE or self.mechanism is None or version > 1:
            return None, False
        (n,) = struct.unpack(">i", r.take(4))
        token = r.take(n)
        reply, err, msg = self._step(token)
        body = _i16(err) + string(msg) + _i32(len(reply)) + reply
        if version >= 1:
            body += _i64(0)
        return _i32(corr) + body, err == 0

    def _step(self, token: bytes) -> tuple[bytes, int, str | None]:
        users = self.cluster.sasl
        if self.mechanism == "PLAIN":
            parts = token.split(b"\0")
            user, password = (parts[1].decode(), parts[2].decode()) if len(parts) == 3 else ("", "")
            ok = users.get(user) == password and password != ""
            self._record(user, ok)
            self.done = ok
            return b"", 0 if ok else SASL_AUTHENTICATION_FAILED, None if ok else "Invalid username or password"
        h = hashlib.sha256 if self.mechanism == "SCRAM-SHA-256" else hashlib.sha512
        if self.scram is None:
            text = token.decode()
            if not text.startswith("n,,"):
                return b"", SASL_AUTHENTICATION_FAILED, "bad gs2 header"
            bare = text[3:]
            attrs = dict(p.split("=", 1) for p in bare.split(","))
            user = attrs["n"].replace("=2C", ",").replace("=3D", "=")
            salt, iterations = os.urandom(16), 4096
            password = users.get(user, os.urandom(8).hex())  # unknown users fail at the proof
            salted = hashlib.pbkdf2_hmac(h().name, password.encode(), salt, iterations)
            nonce = attrs["r"] + base64.b64encode(os.urandom(12)).decode()
            first = f"r={nonce},s={base64.b64encode(salt).decode()},i={iterations}"
            self.scram = {"user": user, "bare": bare, "first": first, "nonce": nonce, "salted": salted}
            return first.encode(), 0, None
        s = self.scram
        text = token.decode()
        without_proof, _, proof_b64 = text.rpartition(",p=")
        attrs = dict(p.split("=", 1) for p in without_proof.split(","))
        auth_message = f"{s['bare']},{s['first']},{without_proof}".encode()
        client_key = hmac.new(s["salted"], b"Client Key", h).digest()
        stored_key = h(client_key).digest()
        signature = hmac.new(stored_key, auth_message, h).digest()
        proof = base64.b64decode(proof_b64)
        recovered = bytes(a ^ b for a, b in zip(proof, signature))
        # Kafka's ScramSaslServer only checks that the final nonce *ends with* the combined one
        # (librdkafka repeats the client nonce in front of it), so this does the same.
        ok = attrs.get("r", "").endswith(s["nonce"]) and attrs.get("c") == "biws" and len(proof) == len(signature) and \
            hmac.compare_digest(h(recovered).digest(), stored_key)
        self._record(s["user"], ok)
        if not ok:
            return b"", SASL_AUTHENTICATION_FAILED, "Authentication failed during authentication due to invalid credentials with SASL mechanism " + self.mechanism
        self.done = True
        server_key = hmac.new(s["salted"], b"Server Key", h).digest()
        return ("v=" + base64.b64encode(hmac.new(server_key, auth_message, h).digest()).decode()).encode(), 0, None
