"""Exactly-once output from the stream engine (`delivery: exactly-once`): each worker's output
between two checkpoints is one Kafka transaction, committed with the checkpoint that follows
it. Job C (an alert per transaction above 3x the customer's previous average: output all
along the input, so a kill always lands among outputs) is killed with SIGKILL at random
moments and restarted each time; its output read with isolation.level=read_committed by
librdkafka (confluent-kafka) and kafka-python holds every alert of the brute-force
computation exactly once — none missing, none twice — while read_uncommitted shows the
aborted duplicates that the transactions kept out. (At least once, the same run repeats
alerts: the check fails.) The fraud job itself, killed 3-8 times while traffic arrives,
has one score per transaction and each alert once (at least once: 15,133 scored twice)."""
import json
import os
import random
import signal
import subprocess
import time

import pytest
from confluent_kafka import Consumer, TopicPartition

from conftest import REPO, riverbank_binary, unique_topic
from test_streams import HOUR, make_rows, oracle_a, oracle_c, produce_rows

pytestmark = [pytest.mark.riverbank_only]


def read_all(bootstrap, topic, isolation, timeout=30.0):
    """Every record of the topic as `isolation` shows it (confluent-kafka)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique_topic("g"), "enable.auto.commit": False,
                  "enable.partition.eof": True, "isolation.level": isolation})
    md = c.list_topics(topic, timeout=10)
    tps = [TopicPartition(topic, p, 0) for p in md.topics[topic].partitions]
    c.assign(tps)
    left = {tp.partition for tp in tps}
    out = []
    deadline = time.time() + timeout
    while left and time.time() < deadline:
        for m in c.consume(1000, 0.5):
            if m.error():
                if m.error().code() == -191:  # _PARTITION_EOF
                    left.discard(m.partition())
                    continue
                raise RuntimeError(m.error())
            out.append(m)
    c.close()
    assert not left, f"could not read {topic} to its end ({isolation})"
    return [(m.key(), m.value()) for m in out]


def read_committed_kafka_python(bootstrap, topic, expected, timeout=60.0):
    from kafka import KafkaConsumer, TopicPartition as KTP
    c = KafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed", enable_auto_commit=False,
                      auto_offset_reset="earliest", consumer_timeout_ms=3000)
    parts = sorted(c.partitions_for_topic(topic))
    c.assign([KTP(topic, p) for p in parts])
    out = []
    deadline = time.time() + timeout
    while len(out) < expected and time.time() < deadline:
        for batch in c.poll(timeout_ms=500).values():
            out.extend((r.key, r.value) for r in batch)
    # Nothing beyond the expected count arrives either.
    time.sleep(1)
    for batch in c.poll(timeout_ms=1000).values():
        out.extend((r.key, r.value) for r in batch)
    c.close()
    return out


def windows(records):
    """(customer, window start) -> (count, sum), with the number of times each appeared."""
    got, seen = {}, {}
    for key, value in records:
        v = json.loads(value)
        assert v["window_end"] == v["window_start"] + HOUR
        k = (v["customer_id"], v["window_start"])
        seen[k] = seen.get(k, 0) + 1
        got[k] = (v["cnt"], round(v["sum"], 6))
    return got, seen


def check_alerts_exactly_once(records, rows):
    ids = [json.loads(v)["tx_id"] for _, v in records]
    twice = len(ids) - len(set(ids))
    assert twice == 0, f"{twice} alerts appear more than once"
    want = oracle_c(rows)
    assert set(ids) == want, f"missing {len(want - set(ids))}, extra {len(set(ids) - want)}"


def check_exactly_once(records, rows):
    got, seen = windows(records)
    want = oracle_a(rows)
    twice = [k for k, n in seen.items() if n > 1]
    assert not twice, f"{len(twice)} windows appear more than once, e.g. {twice[:3]}"
    assert set(got) == set(want), f"missing {len(set(want) - set(got))}, extra {len(set(got) - set(want))}"
    bad = [k for k, (c, s) in want.items() if got[k][0] != c or abs(got[k][1] - s) > 1e-6]
    assert not bad, f"{len(bad)} windows differ, e.g. {bad[:3]}"


@pytest.mark.slow
@pytest.mark.deadline(420)
def test_killed_at_random_moments_the_output_holds_every_alert_exactly_once(broker):
    rows = make_rows(600_000, 3_000, seed=41)
    topic = unique_topic("tx")
    produce_rows(broker.bootstrap, topic, rows)
    out = unique_topic("eos")
    stats = broker.workdir / f"{out}.stats.json"
    cmd = [str(riverbank_binary().absolute()), "streams", "bench", "C", "--bootstrap", broker.bootstrap,
           "--topic", topic, "--output", out, "--quiet", "--checkpoint-interval-ms", "200", "--parallelism", "2",
           "--delivery", "exactly-once", "--stats", str(stats)]
    rnd = random.Random(11)
    kills = 0
    probe = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": unique_topic("probe")})
    ck_topic = f"bench-c-{out}.checkpoints"

    def meta_records():
        # Partition 0 of the checkpoint topic: intents, manifests and transaction markers.
        try:
            return probe.get_watermark_offsets(TopicPartition(ck_topic, 0), timeout=5)[1]
        except Exception:  # noqa: BLE001 - the topic does not exist before the first run
            return 0

    for attempt in range(40):
        before = meta_records()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        if kills >= 8:
            proc.wait(timeout=300)
            break
        # At a random moment after this run committed a checkpoint (per worker an intent, a
        # manifest and a commit marker), so that each restart has progress to resume: inside
        # the next transaction, during a checkpoint's upload or its commit.
        deadline = time.time() + 60
        while meta_records() < before + 6 and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(rnd.uniform(0, 0.5))
        if proc.poll() is not None:
            break  # finished before the kill
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        kills += 1
    else:
        pytest.fail("the job never finished")
    probe.close()
    assert proc.returncode == 0, proc.stderr.read()[-3000:]
    assert kills >= 3, "too few kills to mean anything (the job is faster than the kill delays)"
    st = json.loads(stats.read_text())
    assert st["n_in"] < len(rows), st  # the last run resumed from a checkpoint

    committed = read_all(broker.bootstrap, out, "read_committed")
    check_alerts_exactly_once(committed, rows)
    # An independent client agrees.
    check_alerts_exactly_once(read_committed_kafka_python(broker.bootstrap, out, expected=len(committed)), rows)
    # What the kills left behind is in the log, aborted: read_uncommitted sees repeats.
    uncommitted = read_all(broker.bootstrap, out, "read_uncommitted")
    assert len(uncommitted) > len(committed), "no aborted output: the kills never landed inside a transaction"


@pytest.mark.deadline(180)
def test_an_exactly_once_job_file_commits_its_output_and_needs_checkpoints(broker, tmp_path):
    rows = make_rows(20_000, 1_500, seed=43)
    topic = unique_topic("tx")
    produce_rows(broker.bootstrap, topic, rows)
    text = (REPO / "jobs" / "hourly-spend.yaml").read_text()
    assert "delivery:" not in text
    eos = tmp_path / "hourly-eos.yaml"
    eos.write_text(text + "\ndelivery: exactly-once\n")
    out = unique_topic("eos-file")
    r = subprocess.run([str(riverbank_binary().absolute()), "job", "run", str(eos), "--bootstrap", broker.bootstrap,
                        "--source", f"tx={topic}", "--sink", f"out={out}", "--quiet", "--bounded",
                        "--name", unique_topic("job")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    check_exactly_once(read_all(broker.bootstrap, out, "read_committed"), rows)

    # Without a checkpoint interval there is nothing to commit with: refused at validation,
    # with the line.
    bad = tmp_path / "no-checkpoints.yaml"
    bad.write_text("\n".join(l for l in eos.read_text().splitlines() if not l.startswith("checkpoint-interval")) + "\n")
    v = subprocess.run([str(riverbank_binary().absolute()), "job", "validate", str(bad)], capture_output=True, text=True)
    assert v.returncode != 0
    assert "exactly-once" in (v.stdout + v.stderr) and "checkpoint-interval" in (v.stdout + v.stderr)


def ids(bootstrap, topic, isolation, field):
    return [json.loads(v)[field] for _, v in read_all(bootstrap, topic, isolation)]


@pytest.mark.slow
@pytest.mark.deadline(420)
def test_the_fraud_job_killed_with_sigkill_scores_every_transaction_exactly_once(broker_factory, tmp_path):
    """The fraud job (jobs/fraud-scoring.yaml: delivery exactly-once) under a kill -9 loop:
    every transaction has exactly one score in fraud-scores and every alert is in
    fraud-alerts once, read committed; the aborted repeats are visible read uncommitted."""
    b = broker_factory(topics_dir=REPO / "topics")
    binary = str(riverbank_binary().absolute())
    n = 36_000
    # Traffic arrives while the job is killed and restarted (3,000 tx/s for 12 s).
    gen = subprocess.Popen([binary, "generate", "--bootstrap", b.bootstrap, "--count", str(n), "--customers", "3000",
                            "--seed", "5", "--rate", "3000", "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           text=True, cwd=REPO)
    text = (REPO / "jobs" / "fraud-scoring.yaml").read_text()
    assert "\ndelivery: exactly-once" in text and "\ncheckpoint-interval: 10s" in text
    job = tmp_path / "fraud-scoring.yaml"
    job.write_text(text.replace("\ncheckpoint-interval: 10s", "\ncheckpoint-interval: 1s"))  # more kills per minute
    cmd = [binary, "job", "run", str(job), "--bootstrap", b.bootstrap, "--quiet"]
    probe = Consumer({"bootstrap.servers": b.bootstrap, "group.id": unique_topic("probe")})

    def meta_records():
        try:
            return probe.get_watermark_offsets(TopicPartition("fraud-scoring.checkpoints", 0), timeout=5)[1]
        except Exception:  # noqa: BLE001 - not created before the first run
            return 0

    rnd = random.Random(3)
    kills = 0
    while gen.poll() is None and kills < 8:
        before = meta_records()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, cwd=REPO)
        deadline = time.time() + 90
        while meta_records() < before + 6 and proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(rnd.uniform(0, 0.8))
        if proc.poll() is not None:
            pytest.fail("the unbounded job exited: " + proc.stderr.read()[-2000:])
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        kills += 1
    probe.close()
    assert gen.wait(timeout=120) == 0, gen.stderr.read()[-2000:]
    last = subprocess.run(cmd + ["--bounded"], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert last.returncode == 0, last.stderr[-3000:]

    scored = ids(b.bootstrap, "fraud-scores", "read_committed", "transaction_id")
    assert len(scored) == len(set(scored)), f"{len(scored) - len(set(scored))} transactions scored twice"
    assert len(scored) == n, f"{len(scored)} of {n} transactions scored"
    alerts = ids(b.bootstrap, "fraud-alerts", "read_committed", "alert_id")
    assert alerts and len(alerts) == len(set(alerts)), f"{len(alerts) - len(set(alerts))} alerts twice"
    assert kills >= 3, kills
    assert len(ids(b.bootstrap, "fraud-scores", "read_uncommitted", "transaction_id")) > n, "no kill landed inside a transaction"
