"""The fraud job end to end: `riverbank run --job jobs/fraud-scoring.yaml` with the topics of
topics/, transactions produced by confluent-kafka (librdkafka), alerts read with kcat and
confluent-kafka. A card-testing burst at night followed by a purchase on the other side of the
world must alert with its evidence; a genuine customer must not; the card number must never
appear in an output; a malformed event goes to transactions-dlq and scoring goes on."""
import json
import re
import subprocess
import time
from datetime import datetime, timedelta, timezone

import pytest
from confluent_kafka import Producer

from conftest import REPO, BrokerProcess, riverbank_binary, wait_for
from test_streams import read_topic

pytestmark = [pytest.mark.riverbank_only, pytest.mark.deadline(180)]

LONDON = {"lat": 51.5072, "lon": -0.1276, "city": "London", "country": "GB"}
TOKYO = {"lat": 35.6762, "lon": 139.6503, "city": "Tokyo", "country": "JP"}
CARD = "4000123412349876"


def tx(i, customer, when, amount, location, category="grocery", card=CARD):
    return {
        "transaction_id": f"t-{i}", "customer_id": customer, "amount": amount, "currency": "GBP",
        "merchant_id": f"m-{i % 7}", "merchant_category": category, "channel": "pos", "card_number": card,
        "timestamp": when.isoformat(timespec="milliseconds"), "location": location,
    }


def test_a_fraud_burst_alerts_with_evidence_and_a_genuine_customer_does_not(tmp_path):
    b = BrokerProcess(tmp_path / "run", subcommand="run", topics_dir=REPO / "topics",
                      extra_args=["--metrics-listen", "off", "--job", str(REPO / "jobs" / "fraud-scoring.yaml")])
    b.start()
    try:
        utc = timezone.utc
        night = datetime(2026, 11, 20, 2, 0, tzinfo=utc)      # 02:00 in London
        day = datetime(2026, 11, 20, 11, 0, tzinfo=utc)
        events = []
        # A genuine customer: three daytime groceries, hours apart.
        for k in range(3):
            events.append(tx(100 + k, "c-good", day + timedelta(hours=3 * k), 20.0 + k, LONDON, card="4000999988887777"))
        # The attack: ten card tests within 20 minutes at night, then a big buy in Tokyo 10 minutes later.
        for k in range(10):
            events.append(tx(k, "c-bad", night + timedelta(minutes=2 * k), 1.0 + k, LONDON))
        events.append(tx(10, "c-bad", night + timedelta(minutes=30), 2400.0, TOKYO, category="electronics"))

        p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "enable.idempotence": True})
        for e in events:
            p.produce("transactions", key=e["customer_id"], value=json.dumps(e))
        p.produce("transactions", key="c-bad", value=b'{"transaction_id": "t-x", "customer_id": "c-bad", "amount": "lots"}')
        p.produce("transactions", key="c-junk", value=b"\xff not json")
        assert p.flush(30) == 0

        wait_for(lambda: len(read_topic(b.bootstrap, "fraud-scores")) >= len(events), timeout=90, interval=0.5,
                 message="every transaction scored")
        scores = {json.loads(m.value())["transaction_id"]: json.loads(m.value()) for m in read_topic(b.bootstrap, "fraud-scores")}
        assert set(scores) == {e["transaction_id"] for e in events}
        assert not any(scores[f"t-{100 + k}"]["alert"] for k in range(3)), "a genuine customer was flagged"

        # kcat (librdkafka, its own client) sees the same alerts as any fraud-ops tool would.
        out = subprocess.run(["kcat", "-C", "-b", b.bootstrap, "-t", "fraud-alerts", "-e", "-o", "beginning",
                              "-f", "%k\t%s\n"], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        alerts = {}
        for line in out.stdout.splitlines():
            key, value = line.split("\t", 1)
            a = json.loads(value)
            assert key == a["customer_id"] == "c-bad"
            alerts[a["transaction_id"]] = a
        tokyo = alerts.get("t-10")
        assert tokyo, f"no alert for the Tokyo purchase: {sorted(alerts)}"
        assert "impossible-travel" in tokyo["rules"] and "km/h" in tokyo["evidence"], tokyo
        assert tokyo["risk_score"] > 0.8 and tokyo["alert_id"] == "alert-t-10"
        assert tokyo["card"] == "**** 9876" and tokyo["city"] == "Tokyo"
        assert tokyo["source_topic"] == "transactions" and isinstance(tokyo["source_offset"], int)
        assert tokyo["job"] == "fraud-scoring" and tokyo["ruleset"]
        # The burst itself: more than 5 in the hour from the sixth on, at night.
        assert [scores[f"t-{k}"]["velocity_hit"] for k in range(10)] == [False] * 5 + [True] * 5
        assert all(scores[f"t-{k}"]["night_hit"] for k in range(10))
        assert "transactions in 60 min > 5" in tokyo["evidence"], tokyo

        # The card number never leaves the job.
        for topic in ("fraud-alerts", "fraud-scores"):
            for m in read_topic(b.bootstrap, topic):
                assert CARD.encode() not in m.value()

        dlq = read_topic(b.bootstrap, "transactions-dlq")
        assert len(dlq) == 2, [m.value() for m in dlq]
        reasons = [dict(m.headers() or []).get("riverbank.dead-letter.reason", b"").decode() for m in dlq]
        assert any("amount" in r for r in reasons) and all(reasons), reasons
        assert {m.value() for m in dlq} >= {b"\xff not json"}, "the raw bytes are kept"
    finally:
        b.stop()


def test_generated_traffic_is_scored_and_evaluate_matches_an_independent_count(tmp_path):
    """`riverbank generate` (labelled traffic) through the job; `riverbank fraud evaluate`'s
    precision, recall and per-pattern figures equal the ones counted here from the topics."""
    b = BrokerProcess(tmp_path / "run", subcommand="run", topics_dir=REPO / "topics",
                      extra_args=["--metrics-listen", "off", "--job", str(REPO / "jobs" / "fraud-scoring.yaml")])
    b.start()
    try:
        rb = str(riverbank_binary().absolute())
        n = 20_000
        g = subprocess.run([rb, "generate", "--bootstrap", b.bootstrap, "--rate", "0", "--count", str(n), "--customers", "1000",
                            "--seed", "5", "--quiet"], capture_output=True, text=True, timeout=120)
        assert g.returncode == 0, g.stderr
        wait_for(lambda: len(read_topic(b.bootstrap, "fraud-scores")) >= n, timeout=120, interval=1, message="all scored")
        scores = {}
        for m in read_topic(b.bootstrap, "fraud-scores"):
            v = json.loads(m.value())
            scores[v["transaction_id"]] = v
        labels = {json.loads(m.value())["transaction_id"]: json.loads(m.value())["pattern"]
                  for m in read_topic(b.bootstrap, "transactions-labels")}
        assert len(scores) == n and 0.01 * n < len(labels) < 0.03 * n

        report = tmp_path / "report.json"
        e = subprocess.run([rb, "fraud", "evaluate", "--bootstrap", b.bootstrap, "--json", str(report)],
                           capture_output=True, text=True, timeout=120)
        assert e.returncode == 0, e.stderr
        assert "per pattern" in e.stdout and "ruleset bank" in e.stdout, e.stdout
        reports = {r["ruleset"]: r for r in json.loads(report.read_text())}
        for ruleset, field in (("recommended", "risk_score"), ("bank", "bank_score")):
            r = reports[ruleset]
            alerted = {t for t, v in scores.items() if v[field] > 0.8}
            tp = len(alerted & labels.keys())
            assert r["transactions"] == n and r["frauds"] == len(labels)
            assert r["quality"]["alerts"] == len(alerted) and r["quality"]["true_positives"] == tp
            assert r["quality"]["false_negatives"] == len(labels) - tp
            for p in r["patterns"]:
                ids = [t for t, pat in labels.items() if pat == p["pattern"]]
                assert p["frauds"] == len(ids) and p["caught"] == len(alerted.intersection(ids)), p
        # The recommended ruleset catches something real (it is measured in bench/FRAUD_RESULTS.md).
        assert reports["recommended"]["quality"]["true_positives"] > 0
    finally:
        b.stop()


def test_rulesets_published_by_the_cli_and_by_kcat_take_effect_in_the_running_job_and_evaluate_compares_them(tmp_path):
    """A challenger published with `riverbank fraud ruleset publish` and a champion written by
    kcat reach the running job without a restart: the same transactions sent again are scored
    under the new versions, the challenger's alerts go to fraud-alerts-shadow, `fraud evaluate`
    compares the two on the same transactions; a bad ruleset file is refused with every reason."""
    b = BrokerProcess(tmp_path / "run", subcommand="run", topics_dir=REPO / "topics",
                      extra_args=["--metrics-listen", "off", "--job", str(REPO / "jobs" / "fraud-scoring.yaml")])
    b.start()
    try:
        rb = str(riverbank_binary().absolute())
        n = 4000
        g = subprocess.run([rb, "generate", "--bootstrap", b.bootstrap, "--rate", "0", "--count", str(n), "--customers", "400",
                            "--seed", "9", "--quiet"], capture_output=True, text=True, timeout=120)
        assert g.returncode == 0, g.stderr

        def scores():
            return {v["transaction_id"]: v for v in (json.loads(m.value()) for m in read_topic(b.bootstrap, "fraud-scores"))}

        first = wait_for(lambda: (lambda s: s if len(s) >= n else None)(scores()), timeout=120, interval=1, message="all scored")
        assert {v["ruleset"] for v in first.values()} == {"recommended-2"}
        assert all(v["shadow_score"] is None and v["shadow_ruleset"] is None for v in first.values())

        bad = tmp_path / "bad.yaml"
        bad.write_text("w_velocity: 3\nalert_treshold: 0.5\nburst_count: 2.5\n")
        c = subprocess.run([rb, "fraud", "ruleset", "check", str(bad)], capture_output=True, text=True, timeout=30)
        assert c.returncode != 0 and all(w in c.stderr for w in ("version", "w_velocity", "alert_treshold", "burst_count")), c.stderr

        challenger = tmp_path / "cautious.yaml"
        challenger.write_text("version: cautious-1\nalert_threshold: 0.6\n")
        pub = subprocess.run([rb, "fraud", "ruleset", "publish", str(challenger), "--slot", "challenger", "--bootstrap", b.bootstrap],
                             capture_output=True, text=True, timeout=30)
        assert pub.returncode == 0 and "cautious-1 is the challenger" in pub.stdout, pub.stdout + pub.stderr
        k = subprocess.run(["kcat", "-P", "-b", b.bootstrap, "-t", "fraud-rules", "-K", "|"],
                           input='champion|{"version":"kcat-1","alert_threshold":0.7}\n', capture_output=True, text=True, timeout=30)
        assert k.returncode == 0, k.stderr

        # Probes until the job scores under both (a table change is not synchronous with its ack).
        p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all"})
        when = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
        probe = [0]

        def under_new_rulesets():
            probe[0] += 1
            p.produce("transactions", key="probe", value=json.dumps(tx(900_000 + probe[0], "probe", when, 10.0, LONDON)))
            p.flush(10)
            time.sleep(0.2)
            s = scores()
            return any(v["ruleset"] == "kcat-1" and v["shadow_ruleset"] == "cautious-1" for t, v in s.items() if v["customer_id"] == "probe")

        wait_for(under_new_rulesets, timeout=30, interval=0.1, message="the probes scored under kcat-1 and cautious-1")

        # The same transactions again, for new customers (fresh history: the same features).
        txs = [json.loads(m.value()) for m in read_topic(b.bootstrap, "transactions") if m.key() != b"probe"]
        labels = [json.loads(m.value()) for m in read_topic(b.bootstrap, "transactions-labels")]
        for t in txs:
            t["transaction_id"] += "-b"
            t["customer_id"] += "-b"
            p.produce("transactions", key=t["customer_id"], value=json.dumps(t))
        for l in labels:
            l["transaction_id"] += "-b"
            l["customer_id"] += "-b"
            p.produce("transactions-labels", key=l["customer_id"], value=json.dumps(l))
        assert p.flush(30) == 0
        every = wait_for(lambda: (lambda s: s if sum(t.endswith("-b") for t in s) >= n else None)(scores()), timeout=120,
                         interval=1, message="the copies scored")
        copies = {t: v for t, v in every.items() if t.endswith("-b")}
        assert len(copies) == n
        for t, v in copies.items():
            assert v["ruleset"] == "kcat-1" and v["shadow_ruleset"] == "cautious-1", v
            # Only the thresholds changed: the same score as the first time, decided anew.
            assert v["risk_score"] == first[t[:-2]]["risk_score"] == v["shadow_score"], (v, first[t[:-2]])
            assert v["alert"] == (v["risk_score"] > 0.7) and v["shadow_alert"] == (v["shadow_score"] > 0.6), v
        assert any(v["shadow_alert"] and not v["alert"] for v in copies.values()), "the challenger alerts on more"

        shadowed = {t: v for t, v in every.items() if v["shadow_score"] is not None}
        shadow = {json.loads(m.value())["transaction_id"]: json.loads(m.value()) for m in read_topic(b.bootstrap, "fraud-alerts-shadow")}
        assert set(shadow) == {t for t, v in shadowed.items() if v["shadow_alert"]}
        assert all(a["ruleset"] == "cautious-1" and a["champion_ruleset"] == "kcat-1" for a in shadow.values())
        alerts = {json.loads(m.value())["transaction_id"]: json.loads(m.value()) for m in read_topic(b.bootstrap, "fraud-alerts")}
        assert {t for t in alerts if t.endswith("-b")} == {t for t, v in copies.items() if v["alert"]}
        assert all(alerts[t]["ruleset"] == "kcat-1" for t in alerts if t.endswith("-b"))

        report = tmp_path / "report.json"
        e = subprocess.run([rb, "fraud", "evaluate", "--bootstrap", b.bootstrap, "--json", str(report)],
                           capture_output=True, text=True, timeout=120)
        assert e.returncode == 0, e.stderr
        assert "challenger vs champion on" in e.stdout, e.stdout
        reports = {r["ruleset"]: r for r in json.loads(report.read_text())}
        champ, chall = reports["champion (the challenger's transactions)"], reports["challenger (shadow)"]
        assert champ["transactions"] == chall["transactions"] == len(shadowed)
        assert chall["quality"]["alerts"] == sum(v["shadow_alert"] for v in shadowed.values())
        assert champ["quality"]["alerts"] == sum(v["alert"] for v in shadowed.values())
        assert chall["versions"] == ["cautious-1"] and champ["versions"] == ["kcat-1"]
        assert sorted(reports["recommended"]["versions"]) == ["kcat-1", "recommended-2"]

        show = subprocess.run([rb, "fraud", "ruleset", "show", "--bootstrap", b.bootstrap], capture_output=True, text=True, timeout=60)
        assert show.returncode == 0 and "kcat-1" in show.stdout and "cautious-1" in show.stdout, show.stdout + show.stderr
        r = subprocess.run([rb, "fraud", "ruleset", "retire", "--bootstrap", b.bootstrap], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr

        def shadow_ended():
            probe[0] += 1
            p.produce("transactions", key="probe", value=json.dumps(tx(900_000 + probe[0], "probe", when, 10.0, LONDON)))
            p.flush(10)
            time.sleep(0.2)
            return scores().get(f"t-{900_000 + probe[0]}", {"shadow_ruleset": "?"})["shadow_ruleset"] is None

        wait_for(shadow_ended, timeout=30, interval=0.1, message="no challenger after retire")
    finally:
        b.stop()


def test_a_backtest_replays_history_with_the_live_champion_and_the_rulesets_file_beside_it(tmp_path):
    """`riverbank fraud backtest FILE`: the job replayed over the same transactions under its own
    name must decide as the live job did (the live champion, published before the traffic), and
    score the file's ruleset beside it; its evaluation is the live scores' champion figures
    beside the challenger's, and its topics are gone afterwards unless --keep."""
    b = BrokerProcess(tmp_path / "run", subcommand="run", topics_dir=REPO / "topics",
                      extra_args=["--metrics-listen", "off", "--job", str(REPO / "jobs" / "fraud-scoring.yaml")])
    b.start()
    try:
        rb = str(riverbank_binary().absolute())
        live = tmp_path / "live.yaml"
        live.write_text("version: live-7\nalert_threshold: 0.7\nw_night: 0.4\n")
        p = subprocess.run([rb, "fraud", "ruleset", "publish", str(live), "--bootstrap", b.bootstrap], capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        time.sleep(3)  # the running job's table has it before the first transaction
        n = 15_000
        g = subprocess.run([rb, "generate", "--bootstrap", b.bootstrap, "--rate", "0", "--count", str(n), "--customers", "800",
                            "--seed", "12", "--quiet"], capture_output=True, text=True, timeout=120)
        assert g.returncode == 0, g.stderr
        wait_for(lambda: len(read_topic(b.bootstrap, "fraud-scores")) >= n, timeout=120, interval=1, message="all scored")
        live_scores = {v["transaction_id"]: v for v in (json.loads(m.value()) for m in read_topic(b.bootstrap, "fraud-scores"))}
        assert {v["ruleset"] for v in live_scores.values()} == {"live-7"}

        strict = tmp_path / "strict.yaml"
        strict.write_text("version: strict-1\nalert_threshold: 0.95\n")
        report = tmp_path / "backtest.json"
        r = subprocess.run([rb, "fraud", "backtest", str(strict), "--job", str(REPO / "jobs" / "fraud-scoring.yaml"),
                            "--bootstrap", b.bootstrap, "--json", str(report), "--keep", "--quiet"],
                           capture_output=True, text=True, timeout=300, cwd=REPO)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        assert f"replayed {n} records" in r.stderr, r.stderr
        kept = re.search(r"kept: (fraud-backtest-[0-9a-f]+)\.rules", r.stderr).group(1)
        replayed = {v["transaction_id"]: v for v in (json.loads(m.value()) for m in read_topic(b.bootstrap, f"{kept}.scores"))}
        assert set(replayed) == set(live_scores)
        differ = [t for t, v in replayed.items()
                  if (v["risk_score"], v["alert"], v["ruleset"]) != (live_scores[t]["risk_score"], live_scores[t]["alert"], "live-7")]
        assert not differ, f"{len(differ)} replayed decisions differ from the live ones, e.g. {differ[:3]}"
        # The file's ruleset beside it: its own threshold on its own score.
        assert all(v["shadow_ruleset"] == "strict-1" and v["shadow_alert"] == (v["shadow_score"] > 0.95) for v in replayed.values())
        assert sum(v["shadow_alert"] for v in replayed.values()) < sum(v["alert"] for v in replayed.values())
        reports = json.loads(report.read_text())
        names = [x["ruleset"] for x in reports]
        assert names[2:] == ["champion (the challenger's transactions)", "challenger (shadow)"], names
        assert reports[0]["versions"] == ["live-7"] and reports[3]["versions"] == ["strict-1"]
        assert reports[0]["quality"]["alerts"] == sum(v["alert"] for v in live_scores.values())
        assert reports[3]["quality"]["alerts"] == sum(v["shadow_alert"] for v in replayed.values())
        assert "challenger vs champion on" in r.stdout

        # Without --keep nothing of the backtest stays on the cluster.
        r = subprocess.run([rb, "fraud", "backtest", str(strict), "--job", str(REPO / "jobs" / "fraud-scoring.yaml"),
                            "--bootstrap", b.bootstrap, "--quiet"], capture_output=True, text=True, timeout=300, cwd=REPO)
        assert r.returncode == 0, r.stderr[-2000:]
        left = subprocess.run(["kcat", "-L", "-b", b.bootstrap], capture_output=True, text=True, timeout=30).stdout
        backtest_topics = set(re.findall(r'topic "(fraud-backtest-[0-9a-f]+)\.', left))
        assert backtest_topics == {kept}, backtest_topics
    finally:
        b.stop()


def test_a_backtest_from_a_time_warms_the_history_up_first_and_evaluates_from_that_time_on(tmp_path):
    """Traffic sent in two halves a minute apart (record times set by confluent-kafka): a backtest
    from the second half's start with a warm-up replays the first half too and evaluates only
    the second, deciding there as the live job did; without the warm-up its customers start
    with no history, and some decisions differ."""
    b = BrokerProcess(tmp_path / "run", subcommand="run", topics_dir=REPO / "topics",
                      extra_args=["--metrics-listen", "off", "--job", str(REPO / "jobs" / "fraud-scoring.yaml")])
    b.start()
    try:
        rb = str(riverbank_binary().absolute())
        txf, lf = tmp_path / "tx.jsonl", tmp_path / "labels.jsonl"
        g = subprocess.run([rb, "generate", "--rate", "0", "--count", "12000", "--customers", "500", "--seed", "21",
                            "--output", str(txf), "--labels-output", str(lf), "--quiet"], capture_output=True, text=True, timeout=120)
        assert g.returncode == 0, g.stderr
        txs = [json.loads(line) for line in txf.read_text().splitlines()]
        t0 = int(time.time() * 1000) - 3_600_000
        half = len(txs) // 2
        p = Producer({"bootstrap.servers": b.bootstrap, "enable.idempotence": True, "linger.ms": 5})
        for i, t in enumerate(txs):
            p.produce("transactions", key=t["customer_id"], value=json.dumps(t), timestamp=t0 + (0 if i < half else 60_000) + i // 1000)
            p.poll(0)
        for line in lf.read_text().splitlines():
            p.produce("transactions-labels", key=json.loads(line)["customer_id"], value=line)
        assert p.flush(30) == 0
        wait_for(lambda: len(read_topic(b.bootstrap, "fraud-scores")) >= len(txs), timeout=120, interval=1, message="all scored")
        live = {v["transaction_id"]: v for v in (json.loads(m.value()) for m in read_topic(b.bootstrap, "fraud-scores"))}
        second = {t["transaction_id"] for t in txs[half:]}
        start = datetime.fromtimestamp((t0 + 30_000) / 1000, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        strict = tmp_path / "strict.yaml"
        strict.write_text("version: strict-2\nalert_threshold: 0.9\n")

        def backtest(*extra):
            report = tmp_path / f"bt{len(extra)}.json"
            r = subprocess.run([rb, "fraud", "backtest", str(strict), "--job", str(REPO / "jobs" / "fraud-scoring.yaml"), "--bootstrap",
                                b.bootstrap, "--from", start, "--json", str(report), "--keep", "--quiet", *extra],
                               capture_output=True, text=True, timeout=300, cwd=REPO)
            assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
            kept = re.search(r"kept: (fraud-backtest-[0-9a-f]+)\.rules", r.stderr).group(1)
            scores = {v["transaction_id"]: v for v in (json.loads(m.value()) for m in read_topic(b.bootstrap, f"{kept}.scores"))}
            return json.loads(report.read_text()), scores, r.stderr

        reports, scores, err = backtest("--warm-up", "1h")
        assert f"replayed {len(txs)} records" in err, err
        assert reports[0]["transactions"] == len(second), reports[0]["transactions"]
        assert reports[0]["quality"]["alerts"] == sum(live[t]["alert"] for t in second)
        assert all(scores[t]["risk_score"] == live[t]["risk_score"] for t in second)

        reports, scores, err = backtest()
        assert f"replayed {len(txs) - half} records" in err, err
        assert set(scores) == second and reports[0]["transactions"] == len(second)
        differ = sum(scores[t]["risk_score"] != live[t]["risk_score"] for t in second)
        assert differ > 100, f"only {differ} scores changed without the first half's history"
    finally:
        b.stop()
