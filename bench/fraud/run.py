#!/usr/bin/env python3
"""Fraud benchmark: end-to-end latency and sustained throughput of jobs/fraud-scoring.yaml on
the embedded default (`riverbank run`), generator and consumer on the same machine.

  bench/fraud/run.py                                 # rates 1000, 10000 and max, 60 s each
  bench/fraud/run.py --rates 1000 --duration 20      # a quick look

Per rate, on a fresh broker and job (data under the work dir):
  - `riverbank fraud watch --latency-topic fraud-scores` consumes fraud-alerts and fraud-scores
    and measures, for every scored transaction, its arrival at this consumer minus the
    producer's send time (the record timestamp of the transaction, carried as `produced_at`);
  - `riverbank generate --rate R --duration D` produces labelled transactions (rate 0: as fast
    as it can); its final line gives the rate it reached;
  - the runner's peak RSS and CPU time come from /proc.
A rate is "sustained" when the job scored every transaction and the p99 stayed bounded (the
scored count equals the produced count within the drain time). Every run is appended as a JSON
line to bench/fraud/results/runs-<UTC date>.jsonl; the table is printed for FRAUD_RESULTS.md.

Settings (environment): RIVERBANK_BIN (default <repo>/.build/release/riverbank), FRAUD_EXTRA_JOBS
(jobs run beside the scored one, default jobs/merchant-risk.yaml; '' for none), FRAUD_JOB
(default <repo>/jobs/fraud-scoring.yaml: another file for an A/B run), FRAUD_WORK
(default /tmp/riverbank-fraud-bench), FRAUD_PORT (default 39192).
"""
import argparse
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("RIVERBANK_BIN", REPO / ".build" / "release" / "riverbank"))
WORK = Path(os.environ.get("FRAUD_WORK", "/tmp/riverbank-fraud-bench"))
PORT = int(os.environ.get("FRAUD_PORT", "39192"))
JOB = Path(os.environ.get("FRAUD_JOB", REPO / "jobs" / "fraud-scoring.yaml"))
# Jobs run beside it, as scripts/run.sh does (comma-separated; '' for none).
EXTRA_JOBS = [Path(j) for j in os.environ.get("FRAUD_EXTRA_JOBS", str(REPO / "jobs" / "merchant-risk.yaml")).split(",") if j]
BOOT = f"127.0.0.1:{PORT}"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def proc_stats(pid):
    """(RSS MiB, CPU seconds) of a process."""
    try:
        rss = 0
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return rss, (int(f[11]) + int(f[12])) / tick
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0, 0


def start_stack(work):
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    logf = open(work / "riverbank.log", "w")
    p = subprocess.Popen([str(BIN), "run", "--data-dir", str(work / "data"), "--listen", BOOT, "--topics-dir", str(REPO / "topics"),
                          "--metrics-listen", "off", "--job", str(JOB)] + [a for j in EXTRA_JOBS for a in ("--job", str(j))],
                         stdout=logf, stderr=subprocess.STDOUT, cwd=work)
    deadline = time.time() + 60
    while time.time() < deadline:
        if "riverbank broker listening" in (work / "riverbank.log").read_text():
            break
        if p.poll() is not None:
            raise SystemExit("riverbank run exited:\n" + (work / "riverbank.log").read_text())
        time.sleep(0.1)
    # The job is deployed at start: give the runner its partitions before traffic.
    deadline = time.time() + 60
    while time.time() < deadline and "[Streams] starting" not in (work / "riverbank.log").read_text():
        time.sleep(0.2)
    time.sleep(2)
    return p


def one_run(rate, duration, customers, seed):
    work = WORK / f"rate-{rate}"
    stack = start_stack(work)
    peak = [0.0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], proc_stats(stack.pid)[0])
            time.sleep(0.5)
    threading.Thread(target=sample, daemon=True).start()
    cpu0 = proc_stats(stack.pid)[1]
    watch_json = work / "watch.json"
    drain = 15
    watch = subprocess.Popen([str(BIN), "fraud", "watch", "--bootstrap", BOOT, "--latency-topic", "fraud-scores",
                              "--duration", str(duration + drain), "--json", str(watch_json), "--lines-per-second", "0",
                              "--summary-every", "5"], stdout=open(work / "watch.log", "w"), stderr=subprocess.STDOUT)
    time.sleep(2)
    t0 = time.time()
    gen = subprocess.run([str(BIN), "generate", "--bootstrap", BOOT, "--rate", str(rate), "--duration", f"{duration}s",
                          "--customers", str(customers), "--seed", str(seed)], capture_output=True, text=True)
    gen_secs = time.time() - t0
    if gen.returncode != 0:
        log(gen.stdout, gen.stderr)
        raise SystemExit(f"generate failed ({gen.returncode})")
    watch.wait(timeout=duration + drain + 60)
    cpu = proc_stats(stack.pid)[1] - cpu0
    stop.set()
    figures = json.loads(watch_json.read_text()) if watch_json.exists() else {}
    m = re.findall(r"(\d+) transactions", gen.stderr + gen.stdout)
    sent = int(m[-1]) if m else None
    stack.send_signal(signal.SIGTERM)
    try:
        stack.wait(timeout=60)
    except subprocess.TimeoutExpired:
        stack.kill()
    row = {
        "at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "target_rate": rate, "duration_s": duration, "customers": customers, "sent": sent,
        "generator_rate": round(sent / gen_secs) if sent else None,
        "scored": int(figures.get("scored_count", 0)),
        "p50_ms": figures.get("scored_latency_p50_ms"), "p99_ms": figures.get("scored_latency_p99_ms"),
        "p999_ms": figures.get("scored_latency_p999_ms"), "max_ms": figures.get("scored_latency_max_ms"),
        "alert_p99_ms": figures.get("alert_latency_p99_ms"), "alerts": int(figures.get("alerts", 0)),
        "precision": figures.get("precision"), "recall": figures.get("recall"),
        "runner_peak_rss_mib": round(peak[0]), "runner_cpu_s": round(cpu, 1),
        "generator_tail": (gen.stderr.strip().splitlines() or [""])[-1],
    }
    row["sustained"] = bool(sent) and row["scored"] >= sent
    row["job"] = JOB.name
    row["extra_jobs"] = [j.name for j in EXTRA_JOBS]
    row["build"] = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rates", default="1000,10000,0", help="transactions/s; 0 = as fast as the generator can")
    ap.add_argument("--duration", type=int, default=60)
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    if not BIN.exists():
        raise SystemExit(f"{BIN} missing: swift build -c release --product riverbank")
    out = REPO / "bench" / "fraud" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"runs-{datetime.date.today().isoformat()}.jsonl"
    rows = []
    for r in [int(x) for x in a.rates.split(",")]:
        log(f"== rate {r or 'max'} for {a.duration}s")
        row = one_run(r, a.duration, a.customers, a.seed)
        log(json.dumps(row))
        with open(path, "a") as f:
            f.write(json.dumps(row) + "\n")
        rows.append(row)
    print("| target tx/s | sent | reached tx/s | scored | p50 ms | p99 ms | p999 ms | max ms | runner RSS MiB | runner CPU s | sustained |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for x in rows:
        print(f"| {x['target_rate'] or 'max'} | {x['sent']} | {x['generator_rate']} | {x['scored']} | {x['p50_ms']} | {x['p99_ms']} | "
              f"{x['p999_ms']} | {x['max_ms']} | {x['runner_peak_rss_mib']} | {x['runner_cpu_s']} | {x['sustained']} |")


if __name__ == "__main__":
    main()
