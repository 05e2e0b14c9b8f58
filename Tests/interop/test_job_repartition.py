"""A job file whose window is keyed by something the input is not partitioned by (an amount
band over transactions keyed by customer, after a customer-keyed OVER in arrival order):
`riverbank job run` repartitions the rows through
`<job>.<operator>.repartition` to a second stage, so each window is one whole result rather than
one partial result per partition. Input produced by confluent-kafka (librdkafka) over four
partitions, output read back with it and checked against a brute-force GROUP BY; then the job is
killed with SIGKILL at random moments while the input grows, and the windows are still exact."""
import json
import random
import signal
import subprocess
import time
from datetime import datetime

import pytest

from conftest import riverbank_binary, unique_topic
from test_streams import make_rows, produce_rows, read_topic

MINUTE = 60_000

JOB = """
name: {name}
version: 1
sources:
  tx:
    topic: {source}
    schema:
      tx_id: BIGINT NOT NULL
      customer_id: BIGINT NOT NULL
      amount: DOUBLE NOT NULL
      ts_ms: BIGINT NOT NULL
    event-time: ts_ms
    out-of-orderness: 5s
    partitioned-by: customer_id
operators:
  # Customer-keyed state in arrival order first (it replays the same after a crash, so a
  # repartition may follow it), then the band window.
  - name: seen
    over: tx
    key: customer_id
    order: arrival
    measures:
      prev_cnt: {{ expr: COUNT(*), frame: unbounded, exclude-current: true }}
  - name: banded
    map: seen
    keep-input: true
    select:
      band: CAST(FLOOR(amount / 25) AS BIGINT)
  - name: per_band
    window: banded
    key: band
    tumbling: 1m
    select:
      band: band
      cnt: COUNT(*)
      total: SUM(amount)
      repeat: SUM(IF(prev_cnt > 0, 1, 0))
sinks:
  - {{ name: out, from: per_band, topic: {sink}, key: band }}
parallelism: 2
checkpoint-interval: 500ms
"""


def oracle(rows):
    """Per band and minute: rows, amount, rows of a customer seen before (in produce order,
    which is each partition's order, so arrival order)."""
    want, seen = {}, set()
    for r in rows:
        k = (int(r["amount"] // 25), r["ts_ms"] // MINUTE * MINUTE)
        c, s, rep = want.get(k, (0, 0.0, 0))
        want[k] = (c + 1, s + r["amount"], rep + (r["customer_id"] in seen))
        seen.add(r["customer_id"])
    return want


def windows(msgs):
    got, repeats = {}, 0
    for m in msgs:
        v = json.loads(m.value())
        assert m.key() == str(v["band"]).encode()
        start = datetime.fromisoformat(v["window_start"].replace("Z", "+00:00"))
        k = (v["band"], int(start.timestamp() * 1000))
        val = (v["cnt"], round(v["total"], 6), v["repeat"])
        if k in got:  # at-least-once output after a kill: a repeat carries the same result
            assert got[k] == val, f"window {k} emitted with two values: {got[k]} and {val}"
            repeats += 1
        got[k] = val
    return got, repeats


def check(got, rows):
    want = oracle(rows)
    assert set(got) == set(want), f"missing {len(set(want) - set(got))}, extra {len(set(got) - set(want))}"
    bad = [k for k, (c, s, rep) in want.items() if got[k][0] != c or abs(got[k][1] - s) > 1e-6 or got[k][2] != rep]
    assert not bad, f"{len(bad)} windows differ, e.g. {[(k, got[k], want[k]) for k in bad[:3]]}"


def job_file(tmp_path, name, source, sink):
    f = tmp_path / f"{name}.yaml"
    f.write_text(JOB.format(name=name, source=source, sink=sink))
    return f


def run_cmd(bootstrap, f, *extra):
    return [str(riverbank_binary().absolute()), "job", "run", str(f), "--bootstrap", bootstrap, "--quiet", *extra]


@pytest.mark.deadline(240)
def test_a_window_keyed_by_another_field_is_whole_after_a_repartition(broker, tmp_path):
    rows = make_rows(40_000, 1_500, seed=31)
    source, sink, name = unique_topic("tx"), unique_topic("bands"), unique_topic("rp")
    produce_rows(broker.bootstrap, source, rows, partitions=4)
    f = job_file(tmp_path, name, source, sink)
    r = subprocess.run(run_cmd(broker.bootstrap, f, "--bounded"), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "40000 records in" in r.stdout and "0 dead-lettered" in r.stdout, r.stdout
    msgs = read_topic(broker.bootstrap, sink)
    got, repeats = windows(msgs)
    assert repeats == 0, "a clean run emits each window once"
    check(got, rows)
    # The rows crossed the repartition topic: every one of them, over four partitions.
    crossed = read_topic(broker.bootstrap, f"{name}.per_band.repartition")
    assert {m.partition() for m in crossed} == {0, 1, 2, 3}
    assert sum(1 for m in crossed if m.key() is not None) == len(rows)


@pytest.mark.deadline(420)
def test_the_repartitioned_job_survives_sigkill_at_random_moments(broker, tmp_path):
    rnd = random.Random(37)
    rows = make_rows(60_000, 1_500, seed=41)
    source, sink, name = unique_topic("tx"), unique_topic("bands"), unique_topic("rpk")
    parts = 4
    cut = [0, 15_000, 30_000, 45_000, 60_000]
    produce_rows(broker.bootstrap, source, rows[:cut[1]], partitions=parts)
    f = job_file(tmp_path, name, source, sink)
    kills = 0
    for i in range(1, len(cut)):
        p = subprocess.Popen(run_cmd(broker.bootstrap, f), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            time.sleep(rnd.uniform(0.3, 4.0))  # some before the first checkpoint
            if i + 1 < len(cut):
                produce_rows(broker.bootstrap, source, rows[cut[i]:cut[i + 1]], create=False)
            time.sleep(rnd.uniform(0.2, 2.5))
        finally:
            p.send_signal(signal.SIGKILL)
            p.wait(10)
            kills += 1
    r = subprocess.run(run_cmd(broker.bootstrap, f, "--bounded"), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    got, _ = windows(read_topic(broker.bootstrap, sink))
    assert kills == 4
    check(got, rows)
