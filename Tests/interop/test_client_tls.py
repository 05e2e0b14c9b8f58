"""KafkaClient over TLS: `riverbank produce` / `consume` against SSL listeners (the fake two-node
cluster of leaderproxy.py terminating TLS in front of a Riverbank broker), with the broker's
certificate checked against a CA, with mutual TLS, and refusing an untrusted broker. kcat
(librdkafka/OpenSSL) talks to the same listeners as a control.
"""
from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest

from clients import create_topic
from conftest import riverbank_binary, unique_topic
from leaderproxy import FakeCluster
from test_client_failover import read_partition

pytestmark = pytest.mark.needs("openssl")


def _openssl(*args, cwd: Path):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    """A CA, a broker certificate for 127.0.0.1/localhost and a client certificate signed by it,
    and an unrelated CA."""
    d = tmp_path_factory.mktemp("pki")
    for ca in ("ca", "other-ca"):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{ca}.key", "-out", f"{ca}.pem",
                 "-days", "2", "-subj", f"/CN=riverbank test {ca}", cwd=d)
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, ext in (("broker", ["-extfile", "san.ext"]), ("client", [])):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={name}", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.pem", "-days", "2", *ext, cwd=d)
    return d


def server_context(pki: Path, require_client_cert: bool) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki / "broker.pem", pki / "broker.key")
    if require_client_cert:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(pki / "ca.pem")
    return ctx


def rb(*args, stdin: bytes | None = None, timeout: float = 60):
    return subprocess.run([str(riverbank_binary()), *args], input=stdin, capture_output=True, timeout=timeout)


@pytest.mark.parametrize("mutual", [False, True], ids=["server-auth", "mutual-tls"])
def test_riverbank_produce_and_consume_over_tls(broker, pki, mutual):
    cluster = FakeCluster(broker.port, tls=server_context(pki, require_client_cert=mutual))
    try:
        t = unique_topic("tls")
        create_topic(broker.bootstrap, t, partitions=1)
        tls = ["--tls-ca", str(pki / "ca.pem")]
        if mutual:
            tls += ["--tls-cert", str(pki / "client.pem"), "--tls-key", str(pki / "client.key")]
        lines = [f"k{i}:value {i}".encode() for i in range(500)]
        res = rb("produce", "--bootstrap", cluster.bootstrap, "--topic", t, "--key-separator", ":", "--compression", "lz4",
                 *tls, stdin=b"\n".join(lines) + b"\n")
        assert res.returncode == 0, res.stderr.decode(errors="replace")
        assert read_partition(broker.bootstrap, t, 0, 500) == [l.split(b":", 1)[1] for l in lines]
        res = rb("consume", "--bootstrap", cluster.bootstrap, "--topic", t, "--from-beginning", "--count", "500",
                 "--format", "%k:%v", "--timeout", "30", *tls)
        assert res.returncode == 0, res.stderr.decode(errors="replace")
        assert res.stdout == b"\n".join(lines) + b"\n"
        assert cluster.requests[1].get(0, 0) > 0 and not cluster.tls_failures
    finally:
        cluster.close()


def test_untrusted_broker_certificate_is_refused(broker, pki):
    cluster = FakeCluster(broker.port, tls=server_context(pki, require_client_cert=False))
    try:
        t = unique_topic("tls-bad")
        create_topic(broker.bootstrap, t, partitions=1)
        res = rb("produce", "--bootstrap", cluster.bootstrap, "--topic", t, "--tls-ca", str(pki / "other-ca.pem"),
                 stdin=b"secret\n", timeout=120)
        assert res.returncode != 0
        err = res.stderr.decode(errors="replace")
        assert "TLS" in err and "CERTIFICATE_VERIFY_FAILED" in err and "riverbank: error:" in err, err
        assert cluster.requests[1] == {} and cluster.requests[2] == {}, "nothing may pass an untrusted connection"
    finally:
        cluster.close()


def test_mutual_tls_without_a_client_certificate_is_refused(broker, pki):
    cluster = FakeCluster(broker.port, tls=server_context(pki, require_client_cert=True))
    try:
        res = rb("produce", "--bootstrap", cluster.bootstrap, "--topic", unique_topic("tls-nocert"),
                 "--tls-ca", str(pki / "ca.pem"), stdin=b"x\n", timeout=120)
        assert res.returncode != 0
        assert cluster.tls_failures, "the listener saw no failed handshake"
    finally:
        cluster.close()


def test_cli_rejects_half_a_client_certificate(pki):
    res = rb("produce", "--bootstrap", "127.0.0.1:9", "--topic", "t", "--tls-cert", str(pki / "client.pem"), stdin=b"")
    assert res.returncode != 0 and b"--tls-cert and --tls-key go together" in res.stderr


@pytest.mark.needs("kcat")
def test_kcat_uses_the_same_tls_listeners(broker, pki):
    """Control: an OpenSSL-based client agrees with the listeners the tests above use."""
    cluster = FakeCluster(broker.port, tls=server_context(pki, require_client_cert=True))
    try:
        t = unique_topic("tls-kcat")
        create_topic(broker.bootstrap, t, partitions=1)
        conf = ["-X", "security.protocol=SSL", "-X", f"ssl.ca.location={pki / 'ca.pem'}",
                "-X", f"ssl.certificate.location={pki / 'client.pem'}", "-X", f"ssl.key.location={pki / 'client.key'}"]
        subprocess.run(["kcat", "-P", "-b", cluster.bootstrap, "-t", t, *conf], input=b"a\nb\n", check=True, timeout=30)
        out = subprocess.run(["kcat", "-C", "-b", cluster.bootstrap, "-t", t, "-o", "beginning", "-e", "-q", *conf],
                             capture_output=True, check=True, timeout=30).stdout
        assert out == b"a\nb\n"
    finally:
        cluster.close()


def test_broker_certificate_for_another_name_is_refused(broker, pki, tmp_path):
    """A certificate from the trusted CA but for another host fails the hostname check
    (--tls-no-verify-hostname would accept it)."""
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "other.key", "-out", "other.csr", "-subj", "/CN=other",
             cwd=pki)
    (pki / "other.ext").write_text("subjectAltName=DNS:other.example\n")
    _openssl("x509", "-req", "-in", "other.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "other.pem",
             "-days", "2", "-extfile", "other.ext", cwd=pki)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki / "other.pem", pki / "other.key")
    cluster = FakeCluster(broker.port, tls=ctx)
    try:
        t = unique_topic("tls-name")
        create_topic(broker.bootstrap, t, partitions=1)
        res = rb("produce", "--bootstrap", cluster.bootstrap, "--topic", t, "--tls-ca", str(pki / "ca.pem"), stdin=b"x\n",
                 timeout=120)
        assert res.returncode != 0 and b"failedToValidateHostname" in res.stderr, res.stderr
        res = rb("produce", "--bootstrap", cluster.bootstrap, "--topic", t, "--tls-ca", str(pki / "ca.pem"),
                 "--tls-no-verify-hostname", stdin=b"x\n")
        assert res.returncode == 0, res.stderr.decode(errors="replace")
    finally:
        cluster.close()
