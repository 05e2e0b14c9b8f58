"""`riverbank job run FILE`: the shipped benchmark job files, planned into the stream engine and
run against a broker process, with confluent-kafka (librdkafka) producing the input and reading
the output. Each output is checked against the brute-force computations of test_streams.py
over the same rows; then a job file killed with SIGKILL and restarted resumes from its
checkpoint with every window exactly as the uninterrupted computation has it."""
import json
import signal
import subprocess
import time

import pytest

from conftest import REPO, riverbank_binary, unique_topic, wait_for
from test_streams import HOUR, make_rows, oracle_a, oracle_b, oracle_c, produce_rows, read_topic


def job_cmd(bootstrap, file, source, sink, *extra):
    return [str(riverbank_binary().absolute()), "job", "run", str(REPO / "jobs" / file), "--bootstrap", bootstrap,
            "--source", f"tx={source}", "--sink", f"out={sink}", "--quiet", *extra]


def run_file(bootstrap, file, source, sink, *extra, timeout=600):
    r = subprocess.run(job_cmd(bootstrap, file, source, sink, "--bounded", "--name", unique_topic("job"), *extra),
                       capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return r.stdout


def windows_a(msgs):
    got = {}
    for m in msgs:
        v = json.loads(m.value())
        start = v["window_start"]
        assert v["window_end"] == start + HOUR
        assert m.key() == str(v["customer_id"]).encode()
        k = (v["customer_id"], start)
        val = (v["cnt"], round(v["sum"], 6), round(v["avg"], 6))
        if k in got:  # at-least-once: a repeat carries the same result
            assert got[k] == val, f"window {k} emitted with two values"
        got[k] = val
    return got


def check_a(got, rows):
    want = oracle_a(rows)
    assert set(got) == set(want), f"missing {len(set(want) - set(got))}, extra {len(set(got) - set(want))}"
    bad = [k for k, (c, s) in want.items()
           if got[k][0] != c or abs(got[k][1] - s) > 1e-6 or abs(got[k][2] - s / c) > 1e-6]
    assert not bad, f"{len(bad)} windows differ, e.g. {bad[:3]}"


def data(broker, n=20_000):
    rows = make_rows(n, 1_500, seed=23)
    topic = unique_topic("tx")
    produce_rows(broker.bootstrap, topic, rows)
    return topic, rows


@pytest.mark.deadline(180)
def test_the_tumbling_job_file_matches_brute_force(broker):
    topic, rows = data(broker)
    out = unique_topic("a")
    stdout = run_file(broker.bootstrap, "hourly-spend.yaml", topic, out)
    assert "20000 records in" in stdout and "0 dead-lettered" in stdout, stdout
    msgs = read_topic(broker.bootstrap, out)
    assert len(msgs) == len(oracle_a(rows))
    check_a(windows_a(msgs), rows)


@pytest.mark.deadline(240)
def test_the_hopping_and_over_job_files_match_brute_force(broker):
    topic, rows = data(broker)
    out_b, out_c = unique_topic("b"), unique_topic("c")
    run_file(broker.bootstrap, "velocity.yaml", topic, out_b, "--parallelism", "2")
    got = {}
    for m in read_topic(broker.bootstrap, out_b):
        v = json.loads(m.value())
        assert v["window_end"] - v["window_start"] == HOUR
        got[(v["customer_id"], v["window_start"])] = v["cnt"]
    assert got == oracle_b(rows)

    run_file(broker.bootstrap, "big-spenders.yaml", topic, out_c)
    msgs = read_topic(broker.bootstrap, out_c)
    ids = [json.loads(m.value())["tx_id"] for m in msgs]
    assert len(ids) == len(set(ids))
    want = oracle_c(rows)
    assert set(ids) == want, f"missing {len(want - set(ids))}, extra {len(set(ids) - want)}"
    for m in msgs[:20]:
        v = json.loads(m.value())
        assert v["prev_cnt"] > 0 and v["amount"] > 3 * v["prev_avg"] - 1e-9


@pytest.mark.deadline(240)
def test_a_job_file_killed_with_sigkill_resumes_from_its_checkpoint(broker):
    rows = make_rows(60_000, 1_500, seed=29)
    topic = unique_topic("tx")
    half = len(rows) // 2
    produce_rows(broker.bootstrap, topic, rows[:half])
    out = unique_topic("a")
    name = unique_topic("job")
    # The file checkpoints every second; the job runs unbounded until killed.
    p = subprocess.Popen(job_cmd(broker.bootstrap, "hourly-spend.yaml", topic, out, "--name", name),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: _exists(broker, out) and len(read_topic(broker.bootstrap, out, timeout=5)) > 0,
                 timeout=60, interval=0.5, message="first output of the job file")
        time.sleep(2.5)  # at least one checkpoint after the first half is read
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait(10)
    before = len(read_topic(broker.bootstrap, out))
    produce_rows(broker.bootstrap, topic, rows[half:], create=False)
    r = subprocess.run(job_cmd(broker.bootstrap, "hourly-spend.yaml", topic, out, "--name", name, "--bounded"),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    msgs = read_topic(broker.bootstrap, out)
    assert len(msgs) > before
    # It resumed from its checkpoint rather than starting over: it read the second half only.
    n_in = int(r.stdout.split(" records in")[0].rsplit(" ", 1)[1])
    assert n_in == len(rows) - half, r.stdout
    check_a(windows_a(msgs), rows)


def _exists(broker, topic):
    from confluent_kafka.admin import AdminClient
    md = AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(timeout=5)
    return topic in md.topics
