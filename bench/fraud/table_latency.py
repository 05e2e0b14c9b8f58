#!/usr/bin/env python3
"""How fast a table change reaches the fraud job on every partition: a fresh `riverbank run`
with jobs/fraud-scoring.yaml (no generator); per trial a card is put on `fraud-blocked-cards`,
the block is lifted (tombstone), and a new champion ruleset is published on `fraud-rules`,
while a transaction is sent to every partition of `transactions` every 2 ms. A change's figure
is, for the slowest partition, the time from the change's acknowledgement to the send of the
first transaction the job scored under it (every later one on that partition must be too) —
0 means no transaction sent after the acknowledgement was scored under the old table — and, as
an upper bound that includes the job's own latency, the time to the arrival at a consumer of
the first score under it.
Needs confluent-kafka (scripts/setup.sh --test installs it).

Usage: bench/fraud/table_latency.py [--trials 20] [--json FILE]; RIVERBANK_BIN as bench/fraud/run.py.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

from confluent_kafka import Consumer, Producer

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("RIVERBANK_BIN", REPO / ".build" / "release" / "riverbank"))
WORK = Path("/tmp/riverbank-table-latency")
PORT = 39292
BOOT = f"127.0.0.1:{PORT}"
TICK = 0.002


def tx(i, card, partition, now_ms):
    ts = datetime.fromtimestamp(now_ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds")
    return json.dumps({"transaction_id": f"lat-{i}", "customer_id": f"lat-p{partition}", "amount": 12.5, "currency": "EUR",
                       "merchant_id": "m-1", "merchant_category": "grocery", "channel": "pos", "card_number": card,
                       "timestamp": ts, "location": {"lat": 51.5, "lon": -0.12, "city": "London", "country": "GB"}})


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(p * len(xs) + 0.5)) - 1))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--json", help="append the figures as one JSON line to this file")
    args = ap.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    log = open(WORK / "riverbank.log", "w")
    stack = subprocess.Popen([str(BIN), "run", "--data-dir", str(WORK / "data"), "--listen", BOOT, "--topics-dir", str(REPO / "topics"),
                              "--metrics-listen", "off", "--job", str(REPO / "jobs" / "fraud-scoring.yaml")],
                             stdout=log, stderr=subprocess.STDOUT, cwd=WORK)
    try:
        p = Producer({"bootstrap.servers": BOOT, "linger.ms": 0, "acks": "all"})
        deadline = time.time() + 90
        while True:
            try:
                md = p.list_topics("transactions", timeout=2)
                parts = sorted(md.topics["transactions"].partitions)
                if parts:
                    break
            except Exception:
                pass
            if time.time() > deadline or stack.poll() is not None:
                raise SystemExit("the stack did not start: " + (WORK / "riverbank.log").read_text()[-2000:])
            time.sleep(0.2)
        c = Consumer({"bootstrap.servers": BOOT, "group.id": "table-latency", "auto.offset.reset": "latest",
                      "enable.auto.commit": False, "fetch.wait.max.ms": 5})
        c.subscribe(["fraud-scores"])
        n = 0
        sent = {}      # id -> (send time, partition)
        got = {}       # id -> score record
        arrived = {}   # id -> when its score reached this consumer

        def pump(until):
            while True:
                m = c.poll(max(0.0, min(0.001, until - time.time())))
                if m is not None and not m.error():
                    v = json.loads(m.value())
                    got[v["transaction_id"]] = v
                    arrived.setdefault(v["transaction_id"], time.time())
                if time.time() >= until:
                    return

        def burst(card, seconds):
            nonlocal n
            ids = []
            end = time.time() + seconds
            while time.time() < end:
                now = time.time()
                for part in parts:
                    i = f"lat-{n}"
                    p.produce("transactions", key=f"lat-p{part}".encode(), partition=part, value=tx(n, card, part, int(now * 1000)))
                    sent[i] = (now, part)
                    ids.append(i)
                    n += 1
                p.poll(0)
                pump(now + TICK)
            p.flush()
            pump(time.time() + 2)
            return ids

        # Warm up: until the job scores what is sent (the consumer is assigned, the job running).
        warm = time.time() + 60
        while time.time() < warm:
            ids = burst("4999000000000000", 0.5)
            if all(i in got for i in ids[-len(parts):]):
                break
        else:
            raise SystemExit("no scores within 60 s: " + (WORK / "riverbank.log").read_text()[-2000:])

        def effective(ids, t0, holds, what):
            """Per partition: the send time of the first transaction scored under the change."""
            worst, seen = 0.0, 0.0
            for part in parts:
                mine = [i for i in ids if sent[i][1] == part]
                missing = [i for i in mine if i not in got]
                if missing:
                    raise SystemExit(f"{what}: {len(missing)} transactions on partition {part} were not scored")
                first = next((k for k, i in enumerate(mine) if holds(got[i])), None)
                if first is None:
                    raise SystemExit(f"{what}: partition {part} never scored under the change within the burst")
                wrong = [i for i in mine[first:] if not holds(got[i])]
                if wrong:
                    raise SystemExit(f"{what}: partition {part}: {len(wrong)} later transactions scored as before")
                worst = max(worst, (sent[mine[first]][0] - t0) * 1000)
                seen = max(seen, (min(arrived[i] for i in mine[first:]) - t0) * 1000)
            return worst, seen

        results = {"block": [], "lift": [], "ruleset": []}
        visible = {k: [] for k in results}
        for trial in range(args.trials):
            card = f"49990000{trial:08d}"
            for what, topic, key, value, holds in (
                    ("block", "fraud-blocked-cards", card, json.dumps({"reason": "latency trial"}), lambda s: s.get("blocked_hit") is True),
                    ("lift", "fraud-blocked-cards", card, None, lambda s: s.get("blocked_hit") is False),
                    ("ruleset", "fraud-rules", "champion", json.dumps({"version": f"lat-{trial}"}),
                     lambda s, v=f"lat-{trial}": s.get("ruleset") == v)):
                p.produce(topic, key=key.encode(), value=value)
                p.flush()
                t0 = time.time()
                ids = burst(card, 1.0)
                e, v = effective(ids, t0, holds, f"trial {trial} {what}")
                results[what].append(e)
                visible[what].append(v)
            print(f"trial {trial}: " + ", ".join(f"{w} {results[w][-1]:.1f} ms (seen {visible[w][-1]:.1f} ms)" for w in results), flush=True)
        summary = {}
        for what, xs in results.items():
            vs = visible[what]
            summary[what] = {"median_ms": round(statistics.median(xs), 1), "p90_ms": round(pct(xs, 0.9), 1), "max_ms": round(max(xs), 1),
                             "seen_median_ms": round(statistics.median(vs), 1), "seen_max_ms": round(max(vs), 1)}
            print(f"{what}: median {summary[what]['median_ms']} ms, p90 {summary[what]['p90_ms']} ms, max {summary[what]['max_ms']} ms; "
                  f"first score under it seen after median {summary[what]['seen_median_ms']} ms, max {summary[what]['seen_max_ms']} ms "
                  f"over {len(xs)} trials, slowest of {len(parts)} partitions each", flush=True)
        if args.json:
            with open(args.json, "a") as f:
                f.write(json.dumps({"bench": "table-latency", "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                    "trials": args.trials, "partitions": len(parts), "tick_ms": TICK * 1000, **summary}) + "\n")
        c.close()
    finally:
        stack.terminate()
        stack.wait(timeout=30)


if __name__ == "__main__":
    main()
