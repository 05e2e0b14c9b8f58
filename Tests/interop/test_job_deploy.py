"""Deployed jobs: `riverbank run` (broker and job runner in one process) and the `riverbank job`
verbs against it — deploy, list, status, stop, redeploy (resumes from the last checkpoint),
upgrade (state diff; a change that cannot keep state is refused unless --from-scratch),
replay into a comparison topic and diff — with confluent-kafka (librdkafka) producing the
input and reading the output, checked against test_streams.py's brute-force computation."""
import json
import signal
import subprocess

import pytest

from conftest import REPO, BrokerProcess, riverbank_binary, unique_topic, wait_for
from test_streams import HOUR, make_rows, oracle_a, produce_rows, read_topic

pytestmark = [pytest.mark.riverbank_only, pytest.mark.deadline(240)]


def rb(*args, timeout=120):
    return subprocess.run([str(riverbank_binary().absolute()), "job", *args], capture_output=True, text=True, timeout=timeout)


def job_file(tmp_path, name, source, sink, extra_select=""):
    text = (REPO / "jobs" / "hourly-spend.yaml").read_text()
    text = text.replace("name: hourly-spend", f"name: {name}").replace("topic: transactions-bench", f"topic: {source}")
    text = text.replace("topic: hourly-spend", f"topic: {sink}")
    if extra_select:
        text = text.replace("      avg_amount: AVG(amount)\n", f"      avg_amount: AVG(amount)\n{extra_select}")
    f = tmp_path / f"{name}-{len(extra_select)}.yaml"
    f.write_text(text)
    return f


def status(b, name):
    r = rb("status", name, "--bootstrap", b.bootstrap, "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout) if r.stdout.startswith("{") else None


def windows(msgs):
    got = {}
    for m in msgs:
        v = json.loads(m.value())
        k = (v["customer_id"], v["window_start"])
        assert v["window_end"] == v["window_start"] + HOUR
        val = (v["cnt"], round(v["sum"], 6))
        assert got.get(k, val) == val, f"window {k} emitted with two values"
        got[k] = val
    return got


def test_deploy_status_stop_redeploy_upgrade_replay_and_diff(tmp_path):
    b = BrokerProcess(tmp_path / "run", subcommand="run", extra_args=["--metrics-listen", "off"])
    b.start()
    try:
        rows = make_rows(40_000, 800, seed=31)
        half = len(rows) // 2
        src, out, name = unique_topic("tx"), unique_topic("hourly"), unique_topic("job")
        produce_rows(b.bootstrap, src, rows[:half])
        f = job_file(tmp_path, name, src, out)

        # A typo is caught before anything is deployed.
        broken = tmp_path / "broken.yaml"
        broken.write_text(f.read_text().replace("SUM(amount)", "SUM(amout)"))
        r = rb("deploy", str(broken), "--bootstrap", b.bootstrap)
        assert r.returncode == 1 and "amout" in r.stdout and "^" in r.stdout, r.stdout
        assert name not in rb("list", "--bootstrap", b.bootstrap).stdout

        r = rb("deploy", str(f), "--bootstrap", b.bootstrap, "--wait-output")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "running on runner" in r.stdout and "first output" in r.stdout, r.stdout
        wait_for(lambda: (status(b, name) or {}).get("recordsIn") == half, timeout=60, interval=0.5,
                 message="the job read the first half")
        s = status(b, name)
        assert s["state"] == "running" and s["deadLettered"] == 0 and s["late"] == 0, s
        assert all(p["position"] == p["end"] for p in s["partitions"]), s["partitions"]
        listed = rb("list", "--bootstrap", b.bootstrap).stdout
        assert name in listed and "running" in listed, listed
        text = rb("status", name, "--bootstrap", b.bootstrap).stdout
        assert f"records         {half} in" in text and "watermark       20" in text, text

        # Stop: a last checkpoint; a redeploy resumes from it and reads only what is new.
        wait_for(lambda: (status(b, name) or {}).get("checkpoints", 0) > 0, timeout=30, message="a checkpoint")
        r = rb("stop", name, "--bootstrap", b.bootstrap)
        assert r.returncode == 0 and "last checkpoint" in r.stdout, r.stdout + r.stderr
        assert "stopped" in rb("list", "--bootstrap", b.bootstrap).stdout
        produce_rows(b.bootstrap, src, rows[half:], create=False)
        r = rb("deploy", str(f), "--bootstrap", b.bootstrap)
        assert r.returncode == 0, r.stdout + r.stderr
        wait_for(lambda: (status(b, name) or {}).get("recordsIn") == len(rows) - half, timeout=60, interval=0.5,
                 message="the redeployed job read the second half only")
        assert status(b, name)["restoredTasks"] == 2

        # Every window that the watermark has passed is there, each exactly as the oracle has it.
        want = oracle_a(rows)
        done = max(r["ts_ms"] for r in rows) - 5_000 - 10_000
        complete = {k for k in want if k[1] + HOUR <= done}
        got = wait_for(lambda: (lambda g: g if complete <= set(g) else None)(windows(read_topic(b.bootstrap, out))),
                       timeout=60, interval=1, message="every complete window")
        bad = [k for k, v in got.items() if k not in want or v[0] != want[k][0] or abs(v[1] - want[k][1]) > 1e-6]
        assert not bad, bad[:3]

        # Upgrade: another aggregate is other state: the diff says so and it is refused...
        f2 = job_file(tmp_path, name, src, out, extra_select="      top: MAX(amount)\n")
        r = rb("upgrade", str(f2), "--bootstrap", b.bootstrap)
        assert r.returncode == 1 and "CHANGED   hourly" in r.stdout and "refused" in r.stdout, r.stdout
        assert status(b, name)["generation"] == 3
        # ...unless it starts from scratch: stopped, checkpoints dropped, the new version reads it all.
        r = rb("upgrade", str(f2), "--bootstrap", b.bootstrap, "--from-scratch")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "dropped the checkpoints" in r.stdout and "running on runner" in r.stdout, r.stdout
        wait_for(lambda: (status(b, name) or {}).get("recordsIn") == len(rows), timeout=60, interval=0.5,
                 message="the new version read everything")
        assert status(b, name)["restoredTasks"] == 0

        # Replay the whole history into a comparison topic, and diff it with the live output.
        replay = unique_topic("replay")
        r = subprocess.run([str(riverbank_binary().absolute()), "job", "replay", str(f), "--bootstrap", b.bootstrap,
                            "--from", "2025-12-31T23:00:00Z", "--output", replay, "--quiet"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and f"replay: {len(rows)} records in" in r.stdout, r.stdout + r.stderr
        rep = windows(read_topic(b.bootstrap, replay))
        assert set(rep) == set(want)  # bounded: every window fires at the end
        d = rb("diff", out, replay, "--bootstrap", b.bootstrap)
        assert d.returncode == 2 and "changed 0" in d.stdout and "removed 0" in d.stdout, d.stdout
    finally:
        # SIGTERM: jobs stop first, each with a last checkpoint, then the broker; exit 0.
        b.proc.send_signal(signal.SIGTERM)
        assert b.wait_exit(60) == 0, b.stderr_tail()
        b.cleanup()


def test_two_runners_run_a_job_once_and_the_survivor_takes_over_after_sigkill(tmp_path):
    b = BrokerProcess(tmp_path / "broker")
    b.start()
    runners = {}
    try:
        for rid in ("ra", "rb"):
            runners[rid] = subprocess.Popen([str(riverbank_binary().absolute()), "runner", "--bootstrap", b.bootstrap, "--id", rid,
                                             "--state-dir", str(tmp_path / rid)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        rows = make_rows(30_000, 600, seed=37)
        half = len(rows) // 2
        src, out, name = unique_topic("tx"), unique_topic("hourly"), unique_topic("job")
        produce_rows(b.bootstrap, src, rows[:half])
        f = job_file(tmp_path, name, src, out)
        r = rb("deploy", str(f), "--bootstrap", b.bootstrap)
        assert r.returncode == 0, r.stdout + r.stderr
        wait_for(lambda: (status(b, name) or {}).get("recordsIn") == half, timeout=60, interval=0.5, message="first half read")
        wait_for(lambda: (status(b, name) or {}).get("checkpoints", 0) > 0, timeout=30, message="a checkpoint")
        owner = status(b, name)["runner"]
        other = "rb" if owner == "ra" else "ra"
        # Exactly one of the two runs it.
        assert runners[other].poll() is None
        runners[owner].send_signal(signal.SIGKILL)
        runners[owner].wait(10)
        produce_rows(b.bootstrap, src, rows[half:], create=False)
        # The survivor takes it over after the lease's session timeout (6 s), from the checkpoint.
        s = wait_for(lambda: (lambda s: s if s and s["runner"] == other and s["state"] == "running" else None)(status(b, name)),
                     timeout=60, interval=0.5, message="takeover by the other runner")
        assert s["restoredTasks"] == 2, s
        want = oracle_a(rows)
        done = max(r["ts_ms"] for r in rows) - 5_000 - 10_000
        complete = {k for k in want if k[1] + HOUR <= done}
        got = wait_for(lambda: (lambda g: g if complete <= set(g) else None)(windows(read_topic(b.bootstrap, out))),
                       timeout=60, interval=1, message="every complete window after the takeover")
        bad = [k for k, v in got.items() if k not in want or v[0] != want[k][0] or abs(v[1] - want[k][1]) > 1e-6]
        assert not bad, bad[:3]
    finally:
        for p in runners.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                assert p.wait(60) == 0
        b.stop()
        b.cleanup()
