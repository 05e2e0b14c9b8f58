"""KafkaClient with SASL: PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 against SASL listeners (the
fake cluster of leaderproxy.py authenticates like a Kafka broker, then forwards to Riverbank),
over plaintext and over TLS (SASL_SSL). Wrong credentials and mechanisms the listener does not
enable fail clearly; kcat (librdkafka's SASL) logs in to the same listeners as a control.
"""
from __future__ import annotations

import os
import ssl
import subprocess

import pytest

from clients import create_topic
from conftest import riverbank_binary, unique_topic
from leaderproxy import FakeCluster
from test_client_failover import read_partition
from test_client_tls import pki, server_context  # noqa: F401  (pki is a fixture)

USERS = {"alice": "wonder,land=pass", "bob": "builder"}


def rb(*args, stdin: bytes | None = None, password: str | None = None, timeout: float = 60):
    env = dict(os.environ)
    if password is not None:
        env["RIVERBANK_SASL_PASSWORD"] = password
    return subprocess.run([str(riverbank_binary()), *args], input=stdin, capture_output=True, timeout=timeout, env=env)


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_riverbank_produce_and_consume_with_sasl(broker, mechanism):
    cluster = FakeCluster(broker.port, sasl=USERS)
    try:
        t = unique_topic("sasl")
        create_topic(broker.bootstrap, t, partitions=1)
        auth = ["--sasl-mechanism", mechanism, "--sasl-username", "alice"]
        lines = [f"v{i}".encode() for i in range(300)]
        res = rb("produce", "--bootstrap", cluster.bootstrap, "--topic", t, *auth, stdin=b"\n".join(lines) + b"\n",
                 password=USERS["alice"])
        assert res.returncode == 0, res.stderr.decode(errors="replace")
        assert read_partition(broker.bootstrap, t, 0, 300) == lines
        res = rb("consume", "--bootstrap", cluster.bootstrap, "--topic", t, "--from-beginning", "--count", "300",
                 "--timeout", "30", *auth, "--sasl-password", USERS["alice"])
        assert res.returncode == 0, res.stderr.decode(errors="replace")
        assert res.stdout == b"\n".join(lines) + b"\n"
        assert cluster.sasl_results and all(r == (mechanism, "alice", True) for r in cluster.sasl_results)
    finally:
        cluster.close()


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-512"])
def test_wrong_password_fails_clearly(broker, mechanism):
    cluster = FakeCluster(broker.port, sasl=USERS)
    try:
        res = rb("produce", "--bootstrap", cluster.bootstrap, "--topic", unique_topic("sasl-bad"),
                 "--sasl-mechanism", mechanism, "--sasl-username", "alice", stdin=b"x\n", password="not it")
        assert res.returncode != 0
        err = res.stderr.decode(errors="replace")
        assert "authentication failed" in err, err
        passed = {k: v for node in (1, 2) for k, v in cluster.requests[node].items() if k != 18}
        assert passed == {}, f"only ApiVersions may pass before authentication: {passed}"
        assert (mechanism, "alice", False) in cluster.sasl_results
    finally:
        cluster.close()


def test_mechanism_not_enabled_names_the_offered_ones(broker):
    cluster = FakeCluster(broker.port, sasl=USERS, sasl_mechanisms=("SCRAM-SHA-512",))
    try:
        res = rb("produce", "--bootstrap", cluster.bootstrap, "--topic", unique_topic("sasl-mech"),
                 "--sasl-mechanism", "PLAIN", "--sasl-username", "bob", stdin=b"x\n", password=USERS["bob"])
        assert res.returncode != 0
        err = res.stderr.decode(errors="replace")
        assert "does not enable PLAIN" in err and "SCRAM-SHA-512" in err, err
    finally:
        cluster.close()


def test_sasl_ssl(broker, pki):  # noqa: F811
    cluster = FakeCluster(broker.port, tls=server_context(pki, require_client_cert=False), sasl=USERS)
    try:
        t = unique_topic("sasl-ssl")
        create_topic(broker.bootstrap, t, partitions=1)
        res = rb("produce", "--bootstrap", cluster.bootstrap, "--topic", t, "--tls-ca", str(pki / "ca.pem"),
                 "--sasl-mechanism", "SCRAM-SHA-256", "--sasl-username", "bob", stdin=b"over tls\n", password=USERS["bob"])
        assert res.returncode == 0, res.stderr.decode(errors="replace")
        assert read_partition(broker.bootstrap, t, 0, 1) == [b"over tls"]
        assert cluster.sasl_results == [("SCRAM-SHA-256", "bob", True)] * len(cluster.sasl_results)
    finally:
        cluster.close()


@pytest.mark.needs("kcat")
@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_kcat_logs_in_to_the_same_listeners(broker, mechanism):
    """Control: librdkafka's SASL implementation accepts these listeners too."""
    cluster = FakeCluster(broker.port, sasl=USERS)
    try:
        t = unique_topic("sasl-kcat")
        create_topic(broker.bootstrap, t, partitions=1)
        conf = ["-X", "security.protocol=SASL_PLAINTEXT", "-X", f"sasl.mechanisms={mechanism}",
                "-X", "sasl.username=alice", "-X", f"sasl.password={USERS['alice']}"]
        subprocess.run(["kcat", "-P", "-b", cluster.bootstrap, "-t", t, *conf], input=b"a\n", check=True, timeout=30)
        assert read_partition(broker.bootstrap, t, 0, 1) == [b"a"]
        assert (mechanism, "alice", True) in cluster.sasl_results
    finally:
        cluster.close()


def test_cli_validates_sasl_options():
    res = rb("produce", "--bootstrap", "127.0.0.1:9", "--topic", "t", "--sasl-mechanism", "GSSAPI",
             "--sasl-username", "u", stdin=b"")
    assert res.returncode != 0 and b"unknown SASL mechanism" in res.stderr
    res = rb("produce", "--bootstrap", "127.0.0.1:9", "--topic", "t", "--sasl-mechanism", "PLAIN", stdin=b"")
    assert res.returncode != 0 and b"go together" in res.stderr
    env_free = {k: v for k, v in os.environ.items() if k != "RIVERBANK_SASL_PASSWORD"}
    r = subprocess.run([str(riverbank_binary()), "produce", "--bootstrap", "127.0.0.1:9", "--topic", "t",
                        "--sasl-mechanism", "PLAIN", "--sasl-username", "u"], input=b"", capture_output=True, env=env_free,
                       timeout=30)
    assert r.returncode != 0 and b"needs a password" in r.stderr
