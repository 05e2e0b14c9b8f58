#!/usr/bin/env python3
"""Detection quality of the fraud job on generated traffic, reproducibly.

One run: a fresh `riverbank run` (broker + job runner, its own data dir and port) with
jobs/merchant-risk.yaml; `riverbank generate` writes --count transactions of --seed as fast as
it can, with the bank's delayed fraud reports among them; once the merchant-risk job has turned
the reports into `fraud-merchant-risk` (its count stable), the scoring job is deployed and
scores every transaction; then `riverbank fraud evaluate` writes its JSON report.

Scoring starts after the feedback is in on purpose: it is a replay, the case where a table of
the future could leak labels. The scoring job loads the whole versioned table first and must
still see, for each transaction, only the reports made before it. (Live, the reports come
hours after the fraud and the merchant-risk job's lag is milliseconds: the same versions are
in the table by the time they apply.)

  python3 bench/fraud/quality.py --seed 3 --out bench/fraud/results/quality-seed3.json
  python3 bench/fraud/quality.py --seed 1 --train models/x.json     # also train a model on it
  --no-feedback: no reports, no merchant-risk job (the job's merchant features stay empty).
"""
import argparse, json, os, re, shutil, signal, subprocess, sys, tempfile, time

from confluent_kafka import Consumer, TopicPartition

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def log(msg):
    print(f"[quality {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def topic_count(bootstrap, topic):
    """Records in a topic: the sum of its partitions' high watermarks (nothing is deleted here)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "quality-count", "enable.auto.commit": False})
    try:
        md = c.list_topics(topic, timeout=10)
        t = md.topics.get(topic)
        if t is None or t.error is not None:
            return 0
        total = 0
        for p in t.partitions:
            _, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            total += max(hi, 0)
        return total
    finally:
        c.close()


def wait_stable(bootstrap, topic, target, quiet_s, timeout_s, what):
    """Until the topic holds `target` records, or its count has not moved for quiet_s."""
    start = time.time()
    last, since = -1, time.time()
    while time.time() - start < timeout_s:
        n = topic_count(bootstrap, topic)
        if n != last:
            last, since = n, time.time()
            log(f"{what}: {n}/{target}")
        if n >= target or (n > 0 and time.time() - since >= quiet_s):
            return n
        time.sleep(1)
    raise SystemExit(f"quality: {what} stuck at {last}/{target} after {timeout_s} s")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(ROOT, ".build/release/riverbank"))
    ap.add_argument("--job", default=os.path.join(ROOT, "jobs/fraud-scoring.yaml"))
    ap.add_argument("--risk-job", default=os.path.join(ROOT, "jobs/merchant-risk.yaml"))
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--count", type=int, default=400_000)
    ap.add_argument("--customers", type=int, default=10_000)
    ap.add_argument("--start-time", default="2026-11-01T00:00:00Z")
    ap.add_argument("--port", type=int, default=29093)
    ap.add_argument("--no-feedback", action="store_true")
    ap.add_argument("--out", help="fraud evaluate's JSON report")
    ap.add_argument("--train", action="append", default=[], help="also train a model on this run's scores and labels into this file (repeatable)")
    ap.add_argument("--train-features", action="append", default=[],
                    help="--features for the --train of the same place ('' or absent: fraud train's own)")
    ap.add_argument("--keep", action="store_true", help="keep the data dir")
    a = ap.parse_args()

    data = tempfile.mkdtemp(prefix="riverbank-quality-")
    bootstrap = f"127.0.0.1:{a.port}"
    runlog = open(os.path.join(data, "run.log"), "w")
    cmd = [a.bin, "run", "--data-dir", os.path.join(data, "data"), "--listen", bootstrap, "--topics-dir",
           os.path.join(ROOT, "topics"), "--metrics-listen", "off"]
    if not a.no_feedback:
        cmd += ["--job", a.risk_job]
    run = subprocess.Popen(cmd, stdout=runlog, stderr=subprocess.STDOUT, cwd=ROOT)
    t0 = time.time()
    try:
        for _ in range(600):
            if "riverbank broker listening" in open(os.path.join(data, "run.log")).read():
                break
            if run.poll() is not None:
                raise SystemExit("quality: riverbank run exited:\n" + open(os.path.join(data, "run.log")).read())
            time.sleep(0.1)
        gen = [a.bin, "generate", "--bootstrap", bootstrap, "--rate", "0", "--count", str(a.count), "--customers",
               str(a.customers), "--seed", str(a.seed), "--start-time", a.start_time, "--quiet"]
        if a.no_feedback:
            gen += ["--feedback-topic", ""]
        log("generating: " + " ".join(gen[1:]))
        g = subprocess.run(gen, capture_output=True, text=True, cwd=ROOT)
        sys.stderr.write(g.stderr)
        if g.returncode != 0:
            raise SystemExit("quality: generate failed")
        m = re.search(r"fraud reports: (\d+) sent", g.stderr)
        reports = int(m.group(1)) if m else 0
        risk_versions = 0
        if not a.no_feedback:
            risk_versions = wait_stable(bootstrap, "fraud-merchant-risk", reports, 20, 900, "merchant-risk versions")
        t_scoring = time.time()
        d = subprocess.run([a.bin, "job", "deploy", a.job, "--bootstrap", bootstrap], capture_output=True, text=True, cwd=ROOT)
        sys.stderr.write(d.stdout + d.stderr)
        if d.returncode != 0:
            raise SystemExit("quality: deploy failed")
        scored = wait_stable(bootstrap, "fraud-scores", a.count, 120, 1800, "scored")
        scoring_s = time.time() - t_scoring
        if scored < a.count:
            raise SystemExit(f"quality: only {scored} of {a.count} transactions scored")
        if a.out:
            e = subprocess.run([a.bin, "fraud", "evaluate", "--bootstrap", bootstrap, "--json", a.out], capture_output=True, text=True, cwd=ROOT)
            sys.stderr.write(e.stderr)
            print(e.stdout)
            if e.returncode != 0:
                raise SystemExit("quality: evaluate failed")
            with open(a.out) as f:
                rulesets = json.load(f)
            report = {"rulesets": rulesets}
            report["run"] = {"seed": a.seed, "count": a.count, "customers": a.customers, "start_time": a.start_time,
                             "job": os.path.relpath(a.job, ROOT), "feedback": not a.no_feedback, "reports_sent": reports,
                             "risk_versions": risk_versions, "scoring_seconds": round(scoring_s, 1),
                             "date": time.strftime("%Y-%m-%d")}
            with open(a.out, "w") as f:
                json.dump(report, f, indent=1)
        for i, path in enumerate(a.train):
            tr = [a.bin, "fraud", "train", "--bootstrap", bootstrap, "--validation", "0", "--output", path]
            features = a.train_features[i] if i < len(a.train_features) else ""
            if features:
                tr += ["--features", features]
            log("training: " + " ".join(tr[1:]))
            t = subprocess.run(tr, capture_output=True, text=True, cwd=ROOT)
            sys.stderr.write(t.stderr)
            print(t.stdout)
            if t.returncode != 0:
                raise SystemExit("quality: train failed")
        log(f"done in {time.time() - t0:.0f} s (reports {reports}, merchant-risk versions {risk_versions})")
    finally:
        run.send_signal(signal.SIGTERM)
        try:
            run.wait(60)
        except subprocess.TimeoutExpired:
            run.kill()
        if not a.keep:
            shutil.rmtree(data, ignore_errors=True)
        else:
            log(f"data kept in {data}")


if __name__ == "__main__":
    main()
