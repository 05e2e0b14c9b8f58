"""Fraud feedback to merchant risk, and merchant risk into scoring without a look into the future.

1. jobs/merchant-risk.yaml over fraud reports produced by confluent-kafka (librdkafka), keyed by
   customer over four partitions, a little out of order: every report's per-merchant counts over
   24 hours, 7 and 30 days of report time, against a brute-force count.
2. The whole pipeline as an evaluation replays it: `riverbank generate` writes transactions and
   the bank's delayed reports, the merchant-risk job turns every report into a version, and only
   then is jobs/fraud-scoring.yaml deployed, with the whole versioned table in memory before its
   first transaction. Each score's merchant features must be those of the reports made before
   that transaction (computed here from fraud-feedback as read by confluent-kafka), never later.
"""
import bisect
import json
import random
import re
import subprocess
import time
from datetime import datetime, timedelta, timezone

import pytest
from confluent_kafka import Producer

from conftest import REPO, BrokerProcess, riverbank_binary, unique_topic, wait_for
from clients import create_topic
from test_streams import read_topic

HOUR = 3_600_000
DAY = 24 * HOUR
BASE = datetime(2026, 10, 1, tzinfo=timezone.utc)


def ms(text):
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def iso(millis):
    return (BASE + timedelta(milliseconds=millis - int(BASE.timestamp() * 1000))).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def reports(n, seed):
    rnd = random.Random(seed)
    base = int(BASE.timestamp() * 1000)
    out = []
    for i in range(n):
        # A few merchants take most reports (a breach), the rest are scattered; every 4 minutes
        # of report time, up to 50 s out of order (the job allows 1 minute).
        m = f"m-{rnd.randrange(5)}" if rnd.random() < 0.5 else f"m-{rnd.randrange(5, 60)}"
        t = base + i * 240_000 - rnd.randint(0, 50_000)
        out.append({"transaction_id": f"t-{i}", "customer_id": f"c-{rnd.randrange(300)}", "merchant_id": m,
                    "amount": round(rnd.uniform(5, 500), 2), "currency": "EUR", "fraud_time": iso(t - rnd.randint(2 * HOUR, 5 * DAY)),
                    "reported_at": iso(t), "source": "customer-dispute"})
    return out


@pytest.mark.deadline(240)
def test_merchant_counts_match_a_brute_force_count_over_report_time(broker, tmp_path):
    rows = reports(3_000, seed=5)
    source, sink = unique_topic("feedback"), unique_topic("risk")
    create_topic(broker.bootstrap, source, partitions=4)
    p = Producer({"bootstrap.servers": broker.bootstrap, "enable.idempotence": True})
    for r in rows:
        p.produce(source, key=r["customer_id"], value=json.dumps(r))
    # One record that is no report (no merchant): dead-lettered, the job goes on.
    p.produce(source, key="c-x", value=json.dumps({"transaction_id": "bad", "customer_id": "c-x"}))
    assert p.flush(30) == 0
    stats = tmp_path / "stats.json"
    r = subprocess.run([str(riverbank_binary().absolute()), "job", "run", str(REPO / "jobs" / "merchant-risk.yaml"),
                        "--bootstrap", broker.bootstrap, "--bounded", "--quiet", "--name", unique_topic("mr"),
                        "--source", f"reports={source}", "--sink", f"risk={sink}", "--stats", str(stats)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert json.loads(stats.read_text())["dead_lettered"] == 1, stats.read_text()
    by_merchant = {}
    for row in rows:
        by_merchant.setdefault(row["merchant_id"], []).append(ms(row["reported_at"]))
    for ts in by_merchant.values():
        ts.sort()
    out = [json.loads(m.value()) | {"_key": m.key().decode()} for m in read_topic(broker.bootstrap, sink)]
    assert len(out) == len(rows), f"{len(out)} versions for {len(rows)} reports"
    by_tx = {row["transaction_id"]: row for row in rows}
    bad = []
    for v in out:
        row = by_tx[v["last_transaction_id"]]
        t = ms(row["reported_at"])
        assert v["_key"] == row["merchant_id"] == v["merchant_id"] and ms(v["valid_from"]) == t
        ts = by_merchant[row["merchant_id"]]
        hi = bisect.bisect_right(ts, t)
        want = tuple(hi - bisect.bisect_left(ts, t - span) for span in (DAY, 7 * DAY, 30 * DAY))
        if (v["reports_24h"], v["reports_7d"], v["reports_30d"]) != want:
            bad.append((v["last_transaction_id"], (v["reports_24h"], v["reports_7d"], v["reports_30d"]), want))
    assert not bad, f"{len(bad)} versions differ, e.g. {bad[:3]}"
    # Within a merchant the versions are written in report-time order (event-time OVER).
    last = {}
    for v in out:
        assert ms(v["valid_from"]) >= last.get(v["merchant_id"], 0)
        last[v["merchant_id"]] = ms(v["valid_from"])


def topic_count(bootstrap, topic):
    return len(read_topic(bootstrap, topic))


@pytest.mark.riverbank_only
@pytest.mark.deadline(300)
def test_a_replayed_score_sees_only_the_reports_made_before_its_transaction(tmp_path):
    b = BrokerProcess(tmp_path / "run", subcommand="run", topics_dir=REPO / "topics",
                      extra_args=["--metrics-listen", "off", "--job", str(REPO / "jobs" / "merchant-risk.yaml")])
    b.start()
    try:
        bin_ = str(riverbank_binary().absolute())
        g = subprocess.run([bin_, "generate", "--bootstrap", b.bootstrap, "--rate", "0", "--count", "60000", "--customers", "2000",
                            "--seed", "9", "--start-time", "2026-10-01T00:00:00Z", "--quiet"],
                           capture_output=True, text=True, timeout=120)
        assert g.returncode == 0, g.stderr
        sent = int(re.search(r"fraud reports: (\d+) sent", g.stderr).group(1))
        assert sent > 300, g.stderr
        feedback = [json.loads(m.value()) for m in read_topic(b.bootstrap, "fraud-feedback")]
        assert len(feedback) == sent
        # The merchant-risk job has turned (nearly) every report into a version: the last
        # minute's wait for a watermark that only more reports would move.
        wait_for(lambda: topic_count(b.bootstrap, "fraud-merchant-risk") >= sent - 20, timeout=120, interval=1,
                 message="merchant-risk versions")
        d = subprocess.run([bin_, "job", "deploy", str(REPO / "jobs" / "fraud-scoring.yaml"), "--bootstrap", b.bootstrap],
                           capture_output=True, text=True, timeout=120)
        assert d.returncode == 0, d.stdout + d.stderr
        wait_for(lambda: topic_count(b.bootstrap, "fraud-scores") >= 60_000, timeout=180, interval=2, message="every transaction scored")
        scores = [json.loads(m.value()) for m in read_topic(b.bootstrap, "fraud-scores")]
        txs = {json.loads(m.value())["transaction_id"]: json.loads(m.value()) for m in read_topic(b.bootstrap, "transactions")}
    finally:
        b.stop()
    reports_at = {}
    for f in feedback:
        reports_at.setdefault(f["merchant_id"], []).append(ms(f["reported_at"]))
    for ts in reports_at.values():
        ts.sort()
    last_report = max(max(ts) for ts in reports_at.values())
    checked = hits = leaked = 0
    bad = []
    for s in scores:
        t = ms(s["event_time"])
        if t > last_report - HOUR:  # the last reports may still wait for the watermark
            continue
        ts = reports_at.get(txs[s["transaction_id"]]["merchant_id"], [])
        k = bisect.bisect_right(ts, t)  # reports made by the transaction's time
        if k == 0:
            want = (0, 0, None)
        else:
            v = ts[k - 1]
            age = (t - v) // HOUR
            day = k - bisect.bisect_left(ts, v - DAY)
            week = k - bisect.bisect_left(ts, v - 7 * DAY)
            want = (day if age < 24 else 0, week if age < 168 else 0, age if v >= t - 30 * DAY else None)
        got = (s["merchant_reports_24h"], s["merchant_reports_7d"], s["merchant_report_age_h"])
        checked += 1
        hits += got[0] > 0
        # What a table of latest values would have given: reports made after the transaction.
        leaked += len(ts) > k and ts[-1] > t
        if got != want:
            bad.append((s["transaction_id"], got, want))
    assert checked > 50_000 and hits > 1_000 and leaked > 2_000, (checked, hits, leaked)
    assert not bad, f"{len(bad)} of {checked} scores differ from the reports made before them, e.g. {bad[:3]}"
