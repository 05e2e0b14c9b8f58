"""`riverbank run`: the whole of Riverbank in one process (one ServiceGroup, one signal path).

SIGTERM/SIGINT drain the broker (in-flight requests answered, connections closed by the
clients after the broker's FIN) and close every log cleanly: exit code 0, a `.clean-shutdown`
marker in every partition directory, and no recovery at the next start."""
from __future__ import annotations

import signal
import textwrap
import threading
import time
import urllib.request

import pytest
from confluent_kafka import TopicPartition

import wire
from clients import DeliveryLog, _produce, consume, consumer, flush_all, producer
from conftest import BrokerProcess, free_port, unique_topic, wait_for

pytestmark = [pytest.mark.riverbank_only, pytest.mark.deadline(120)]

UNCLEAN = "not shut down cleanly"


def write_def(d, filename, text):
    d.mkdir(parents=True, exist_ok=True)
    (d / filename).write_text(textwrap.dedent(text))


def last_start_log(b: BrokerProcess) -> str:
    """The stderr of the most recent start only."""
    return b.stderr_text().rsplit("===== start #", 1)[-1]


def log_dirs(data_dir):
    """Every partition log directory: topic partitions and the consumer-offsets log."""
    return sorted(p.parent for p in data_dir.rglob("*.log"))


def metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_run_serves_clients_and_shuts_down_cleanly(tmp_path, sig):
    tdir = tmp_path / "topics"
    t = unique_topic("run")
    write_def(tdir, "t.yaml", f"name: {t}\npartitions: 3\n")
    mport = free_port()
    b = BrokerProcess(tmp_path / "run", subcommand="run", topics_dir=tdir,
                      extra_args=["--metrics-listen", f"127.0.0.1:{mport}"])
    try:
        b.start()
        assert wire.all_topics(b.port)[t] == 3

        n = 300
        p = producer(b.bootstrap, acks="all")
        log = DeliveryLog()
        for i in range(n):
            _produce(p, t, key=b"c-%d" % (i % 17), value=b"run-%04d" % i, on_delivery=log)
        flush_all(p, log, expected=n)
        assert len(consume(b.bootstrap, t, n, partitions=(0, 1, 2))) == n
        assert f"riverbank_produced_records_total {n}" in metrics(mport)

        # A consumer long-polling (parked fetches) and a producer connected at the signal.
        c = consumer(b.bootstrap, **{"fetch.wait.max.ms": 1000})
        c.assign([TopicPartition(t, part, 0) for part in range(3)])
        stop = threading.Event()

        def poll():
            while not stop.is_set():
                c.poll(0.1)

        th = threading.Thread(target=poll, daemon=True)
        th.start()
        time.sleep(1.5)
        t0 = time.monotonic()
        b.proc.send_signal(sig)
        rc = b.wait_exit(timeout=15)
        took = time.monotonic() - t0
        stop.set()
        th.join(timeout=10)
        c.close()
        assert rc == 0, f"exit code {rc} on {sig.name}\n{b.stderr_tail()}"
        err = last_start_log(b)
        assert "broker stopped" in err, err
        assert "still in flight" not in err, "the drain ran into its timeout"
        assert took < 5, f"shutdown took {took:.1f}s"
        dirs = log_dirs(b.data_dir)
        # three partitions, the consumer-offsets and transaction-state logs, and the job runner's
        # two topics (deployed jobs, their status)
        assert len(dirs) == 7, dirs
        assert any(d.parent.name == "transaction-state" for d in dirs), dirs
        assert {d.name for d in dirs} >= {"_riverbank.jobs-0", "_riverbank.job-status-0"}, dirs
        unclean = [d.name for d in dirs if not (d / ".clean-shutdown").exists()]
        assert not unclean, f"no .clean-shutdown marker in {unclean}"

        b.start()
        assert UNCLEAN not in last_start_log(b), last_start_log(b)
        msgs = consume(b.bootstrap, t, n, partitions=(0, 1, 2))
        assert sorted(m.value() for m in msgs) == sorted(b"run-%04d" % i for i in range(n))
        assert b.stop() == 0
    finally:
        b.cleanup()


def test_run_takes_topics_from_the_working_directory(tmp_path):
    """Without --topics-dir, `run` applies ./topics when that folder exists."""
    work = tmp_path / "work"
    t = unique_topic("run-cwd")
    write_def(work / "topics", "t.yaml", f"name: {t}\npartitions: 2\n")
    b = BrokerProcess(tmp_path / "run", subcommand="run", cwd=work, extra_args=["--metrics-listen", "off"])
    try:
        b.start()
        assert wire.all_topics(b.port).get(t) == 2
        assert b.stop() == 0
    finally:
        b.cleanup()


def test_broker_alone_still_shuts_down_cleanly(fresh_broker):
    """`riverbank broker` runs the same Service in its own ServiceGroup."""
    b = fresh_broker
    t = unique_topic("alone")
    p = producer(b.bootstrap, acks="all")
    log = DeliveryLog()
    _produce(p, t, value=b"v", on_delivery=log)
    flush_all(p, log, expected=1)
    assert b.stop() == 0
    assert all((d / ".clean-shutdown").exists() for d in log_dirs(b.data_dir))
    b.start()
    assert UNCLEAN not in last_start_log(b)
    wait_for(lambda: len(consume(b.bootstrap, t, 1)) == 1, message="the record after the restart")
