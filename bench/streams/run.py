#!/usr/bin/env python3
"""Streams benchmark: the Riverbank engine against Apache Flink 2.3 and the Kafka-native peers.

  bench/streams/setup.sh                  # once: Debian packages, Flink venv, peers' venvs
  bench/streams/run.py --prepare-only     # once: datasets (rows, references, Flink's files)
  bench/streams/run.py                    # the full matrix, 1 repeat, then bench/STREAMS_RESULTS.md
  bench/streams/run.py --quick            # 200,000 rows everywhere (a few minutes)
  bench/streams/run.py --repeat 3 --only riverbank --jobs A,C

What one invocation (a "session") does:
  1. datasets, made only when missing (niced): the peers' rows (gen_produce.py gen) for every row
     count used, their pandas references (A/C: peers' verify.py, B: verify_streams.py) and the
     Flink anchor's csv/json files (run_flink_anchor.py gen-data, same generator and seed);
  2. a fresh Riverbank broker (the peers' broker.sh, data under the work dir) and the topics
     (gen_produce.py produce + check): tx10m (10 M rows, jobs A and C) and tx2m (2 M rows, job B
     and the peers), each 2 partitions plus one end marker per partition;
  3. per repeat: Riverbank `streams bench` on A, B, C at each parallelism (under GNU time -v,
     every output topic verified), Flink on the same rows (A json 10 M, B csv 2 M, C csv 10 M;
     a fresh JVM each run, blackhole sink), the peers on job A over the 2 M topic (runner.py);
  4. every run is appended as one JSON line to bench/streams/results/runs-<UTC date>.jsonl, then
     report.py renders bench/STREAMS_RESULTS.md.

Settings (environment):
  RIVERBANK_BIN         the riverbank executable with `streams bench` (default
                        <repo>/.build/release/riverbank, else /work/main/.build/release/riverbank)
  RIVERBANK_BROKER_BIN  the riverbank executable that runs the broker (default RIVERBANK_BIN)
  STREAMS_WORK          work dir (default ${TMPDIR:-/tmp}/riverbank-streams-bench)
  STREAMS_SHARED        the shared benchmark tree (default <repo>/../shared)
  STREAMS_RESULTS       where the runs-<date>.jsonl files go (default bench/streams/results)
  PEERS_PORT            broker port (default 39092), on 127.0.0.1
"""
import argparse
import datetime
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def git_root():
    try:
        return subprocess.run(["git", "-C", HERE, "rev-parse", "--show-toplevel"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return os.path.abspath(os.path.join(HERE, "..", ".."))


ROOT = git_root()
SHARED = os.path.abspath(os.environ.get("STREAMS_SHARED") or os.path.join(ROOT, "..", "shared"))
PEERS_SRC = os.path.join(SHARED, "bench", "peers")
FLINK_SRC = os.path.join(SHARED, "bench", "flink")
WORK = os.path.abspath(os.environ.get("STREAMS_WORK") or
                       os.path.join(os.environ.get("TMPDIR") or "/tmp", "riverbank-streams-bench"))
PEERS_DIR = os.path.join(WORK, "peers")
FLINK_DIR = os.path.join(WORK, "flink")
FLINK_PY = os.path.join(FLINK_DIR, "venv", "bin", "python")
FLINK_ANCHOR = os.path.join(FLINK_DIR, "run_flink_anchor.py")     # symlink: data/ results/ go here
BASE_PY = os.path.join(PEERS_DIR, "venv-baseline", "bin", "python")
RB_RUNS = os.path.join(WORK, "runs")
RESULTS_DIR = os.path.abspath(os.environ.get("STREAMS_RESULTS") or os.path.join(HERE, "results"))
HOST = "127.0.0.1"
PORT = os.environ.get("PEERS_PORT") or "39092"
BOOTSTRAP = f"{HOST}:{PORT}"


def default_rb_bin():
    for c in (os.path.join(ROOT, ".build", "release", "riverbank"), "/work/main/.build/release/riverbank"):
        if os.path.exists(c):
            return c
    return os.path.join(ROOT, ".build", "release", "riverbank")


RB_BIN = os.environ.get("RIVERBANK_BIN") or default_rb_bin()
BROKER_BIN = os.environ.get("RIVERBANK_BROKER_BIN") or RB_BIN
TIME_BIN = os.environ.get("PEERS_TIME") or shutil.which("time") or "/usr/bin/time"


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def topic_name(rows):
    if rows % 1_000_000 == 0:
        return f"tx{rows // 1_000_000}m"
    if rows % 1000 == 0:
        return f"tx{rows // 1000}k"
    return f"tx{rows}"


def peers_env(rows, topic=None, **extra):
    env = dict(os.environ, PEERS_DIR=PEERS_DIR, PEERS_ROWS=str(rows), PEERS_HOST=HOST, PEERS_PORT=PORT,
               PEERS_BOOTSTRAP=BOOTSTRAP, STREAMS_PEERS_SRC=PEERS_SRC, PYTHONUNBUFFERED="1",
               RIVERBANK_BIN=BROKER_BIN, PYTHONDONTWRITEBYTECODE="1")   # nothing written into the shared tree
    env["PEERS_TOPIC"] = topic or topic_name(rows)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def sh(cmd, env=None, nice=False, check=True, quiet=False, **kw):
    """Run a preparation command (optionally niced so that a build elsewhere keeps the CPU)."""
    if nice:
        cmd = ["nice", "-n", "19"] + cmd
    r = subprocess.run(cmd, env=env, text=True, capture_output=True, **kw)
    if not quiet:
        for line in (r.stdout or "").splitlines():
            log("   " + line)
    if check and r.returncode != 0:
        sys.stderr.write(r.stdout[-3000:] + r.stderr[-3000:])
        raise SystemExit(f"run.py: command failed (rc {r.returncode}): {' '.join(cmd)}")
    return r


def time_v(err):
    """Peak RSS (MiB) and CPU s (user + sys) from GNU time -v output."""
    def tv(label):
        m = re.search(re.escape(label) + r":\s*([0-9.:]+)", err or "")
        return m.group(1) if m else None
    out = {}
    if tv("Maximum resident set size (kbytes)"):
        out["peak_rss_mib"] = round(int(tv("Maximum resident set size (kbytes)")) / 1024, 1)
        out["user_s"] = float(tv("User time (seconds)"))
        out["sys_s"] = float(tv("System time (seconds)"))
        out["cpu_s"] = round(out["user_s"] + out["sys_s"], 2)
    return out


def proc_cpu(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
        fl = s[s.rindex(")") + 2:].split()
        return (int(fl[11]) + int(fl[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, TypeError):
        return None


def broker_pid():
    try:
        return int(open(os.path.join(PEERS_DIR, "broker.pid")).read().strip())
    except (OSError, ValueError):
        return None


def run_group(cmd, env, timeout, stdout_path):
    """Run CMD in a process group of its own; on timeout or Ctrl-C kill that group (and only it)."""
    with open(stdout_path, "w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        try:
            _, err = proc.communicate(timeout=timeout)
            return proc.returncode, err, False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            _, err = proc.communicate()
            return None, err, True
        except BaseException:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
            raise


# --------------------------------------------------------------------------------------------
# preparation
# --------------------------------------------------------------------------------------------
def check_installed(a):
    missing = []
    if not os.path.isdir(PEERS_SRC) or not os.path.exists(os.path.join(FLINK_SRC, "run_flink_anchor.py")):
        raise SystemExit(f"run.py: shared tree not found at {SHARED} (set STREAMS_SHARED)")
    if not os.path.exists(BASE_PY):
        missing.append(BASE_PY)
    if "flink" in a.only and not os.path.exists(FLINK_PY):
        missing.append(FLINK_PY)
    if "peers" in a.only:
        for p in a.peers:
            if not os.path.exists(os.path.join(PEERS_DIR, f"venv-{p}", "bin", "python")):
                missing.append(os.path.join(PEERS_DIR, f"venv-{p}"))
    if not os.path.exists(TIME_BIN):
        missing.append("GNU time (apt-get install time)")
    if missing:
        raise SystemExit("run.py: missing (run bench/streams/setup.sh with the same STREAMS_WORK): "
                         + ", ".join(missing))
    if not os.path.islink(FLINK_ANCHOR) and not os.path.exists(FLINK_ANCHOR):
        os.symlink(os.path.join(FLINK_SRC, "run_flink_anchor.py"), FLINK_ANCHOR)


def datasets(a):
    """(rows, topic) pairs the selected runs read from the broker, and Flink file sets."""
    topics, files = {}, set()
    for job in a.jobs:
        rows = a.rows_b if job == "B" else a.rows_ac
        if "riverbank" in a.only:
            topics[rows] = topic_name(rows)
        if "flink" in a.only:
            fmt = "json" if job == "A" else "csv"
            for p in a.parallelisms:
                files.add((fmt, rows, p))
    if "peers" in a.only and a.peers:
        topics[a.peers_rows] = topic_name(a.peers_rows)
    if "riverbank" in a.only and "peers" in a.only and "A" in a.jobs:
        topics[a.peers_rows] = topic_name(a.peers_rows)       # Riverbank A p1 beside the peers
    return topics, files


def prepare(a):
    topics, files = datasets(a)
    need_ref = {}
    for job in a.jobs:
        if job in ("A", "C"):
            need_ref.setdefault(a.rows_ac, set()).add("AC")
        else:
            need_ref.setdefault(a.rows_b, set()).add("B")
    if "peers" in a.only:
        need_ref.setdefault(a.peers_rows, set()).add("AC")
    rows_all = sorted(set(topics) | set(need_ref))
    data = os.path.join(PEERS_DIR, "data")
    for rows in rows_all:
        if not os.path.exists(os.path.join(data, f"tx_{rows}.pkl")) or \
                not os.path.exists(os.path.join(data, f"tx_{rows}.jsonl")):
            log(f"prepare: generating {rows:,} rows (peers' gen_produce.py gen)")
            sh([BASE_PY, os.path.join(PEERS_SRC, "gen_produce.py"), "gen"], env=peers_env(rows), nice=True)
        kinds = need_ref.get(rows, set())
        if "AC" in kinds and not os.path.exists(os.path.join(data, f"reference_{rows}.pkl")):
            log(f"prepare: reference A/C for {rows:,} rows (peers' verify.py reference)")
            sh([BASE_PY, os.path.join(PEERS_SRC, "verify.py"), "reference"], env=peers_env(rows), nice=True)
        if "B" in kinds and not os.path.exists(os.path.join(data, f"reference_B_{rows}.pkl")):
            log(f"prepare: reference B for {rows:,} rows (verify_streams.py reference B)")
            sh([BASE_PY, os.path.join(HERE, "verify_streams.py"), "reference", "B"], env=peers_env(rows), nice=True)
    # Flink's files: gen-data writes every requested part count of one format at once
    want = {}
    for fmt, rows, p in sorted(files):
        d = os.path.join(FLINK_DIR, "data", f"{fmt}_{rows}_p{p}")
        if not (os.path.isdir(d) and len(os.listdir(d)) == p):
            want.setdefault((fmt, rows), set()).add(p)
    for (fmt, rows), parts in sorted(want.items()):
        log(f"prepare: Flink {fmt} files for {rows:,} rows, parts {sorted(parts)} (run_flink_anchor.py gen-data)")
        sh([FLINK_PY, FLINK_ANCHOR, "gen-data", "--rows", str(rows), "--formats", fmt,
            "--parts", ",".join(str(p) for p in sorted(parts))], nice=True, cwd=FLINK_DIR)
    return topics


def broker_sh(cmd, check=True):
    return sh(["bash", os.path.join(PEERS_SRC, "broker.sh"), cmd],
              env=peers_env(0, PEERS_BROKER_DATA=os.path.join(WORK, "broker-data")), check=check)


def start_broker(a, topics):
    if not os.access(BROKER_BIN, os.X_OK):
        raise SystemExit(f"run.py: broker executable {BROKER_BIN} missing (set RIVERBANK_BROKER_BIN or RIVERBANK_BIN)")
    data = os.path.join(WORK, "broker-data")
    broker_sh("stop")
    if not a.reuse_broker and os.path.isdir(data):
        shutil.rmtree(data)
    log(f"broker: {BROKER_BIN} on {BOOTSTRAP}, data {data}")
    broker_sh("start")
    for rows, topic in sorted(topics.items()):
        gp = os.path.join(PEERS_SRC, "gen_produce.py")
        env = peers_env(rows, topic)
        if a.reuse_broker and sh([BASE_PY, gp, "check"], env=env, check=False, quiet=True).returncode == 0:
            log(f"broker: topic {topic} already holds {rows:,} rows + 2 end markers (--reuse-broker)")
            continue
        log(f"broker: producing {rows:,} rows to {topic}")
        sh([BASE_PY, gp, "produce", "check"], env=env)


# --------------------------------------------------------------------------------------------
# runs
# --------------------------------------------------------------------------------------------
def verify_output(job, rows, topic, out_topic):
    r = subprocess.run([BASE_PY, os.path.join(HERE, "verify_streams.py"), "check", job, out_topic],
                       env=peers_env(rows, topic), capture_output=True, text=True, timeout=3600)
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    if r.returncode != 0 or not lines:
        return {"error": (r.stderr or r.stdout)[-1500:]}
    return json.loads(lines[-1])


def rb_has_streams():
    if not os.access(RB_BIN, os.X_OK):
        return f"{RB_BIN} is not an executable (set RIVERBANK_BIN)"
    # (an argument parser may answer --help with its top-level help for an unknown subcommand,
    # so look for the subcommand's own options)
    r = subprocess.run([RB_BIN, "streams", "bench", "--help"], capture_output=True, text=True, timeout=60)
    text = (r.stdout or "") + (r.stderr or "")
    if r.returncode != 0 or "--bootstrap" not in text or "--parallelism" not in text:
        return f"{RB_BIN} has no `streams bench` subcommand (its --help does not list --bootstrap/--parallelism)"
    return None


JOB_FILES = {"A": "hourly-spend.yaml", "B": "velocity.yaml", "C": "big-spenders.yaml"}


def run_riverbank(a, s, job, p, rows, topic, rep, section="main", from_file=False):
    """One run of a benchmark job: written against the Swift API, or (from_file) its job file
    in jobs/ planned by the Jobs module (engine riverbank-file)."""
    name = f"rb{'-file' if from_file else ''}-{job}-p{p}-{topic}-r{rep}-{time.strftime('%H%M%S')}"
    out_topic = f"out-{name}"
    os.makedirs(RB_RUNS, exist_ok=True)
    stats = os.path.join(RB_RUNS, f"{name}.stats.json")
    cmd = [RB_BIN, "streams", "bench", job, "--bootstrap", BOOTSTRAP, "--topic", topic, "--output", out_topic,
           "--parallelism", str(p), "--stats", stats]
    if a.checkpoint_interval_ms is not None:
        cmd += ["--checkpoint-interval-ms", str(a.checkpoint_interval_ms)]
    if from_file:
        cmd += ["--job-file", os.path.join(ROOT, "jobs", JOB_FILES[job])]
    log(f"riverbank{' (job file)' if from_file else ''} {job} p{p} {rows:,} rows ({topic}) rep {rep}: {' '.join(cmd[1:])}")
    bpid = broker_pid()
    cpu_b0 = proc_cpu(bpid)
    t0 = time.time()
    env = dict(os.environ, PEERS_T0=repr(t0), PEERS_STATS=stats)
    rc, err, timed_out = run_group([TIME_BIN, "-v"] + cmd, env, a.timeout, os.path.join(RB_RUNS, f"{name}.log"))
    t_end = time.time()
    cpu_b1 = proc_cpu(bpid)
    with open(os.path.join(RB_RUNS, f"{name}.log"), "a") as f:
        f.write("\n--- stderr ---\n" + (err or ""))
    engine = "riverbank-file" if from_file else "riverbank"
    rec = base_rec(s, "riverbank", engine, job, p, rows, rep, section, source=f"kafka:{topic}")
    if from_file:
        rec["job_file"] = JOB_FILES[job]
    if a.checkpoint_interval_ms:
        rec["checkpoint_interval_ms"] = a.checkpoint_interval_ms
    rec.update({"name": name, "output_topic": out_topic, "rc": rc, "timed_out": timed_out,
                "wall_s": round(t_end - t0, 3), "cmd": cmd, **time_v(err)})
    rec["broker_cpu_s"] = round(cpu_b1 - cpu_b0, 2) if cpu_b0 is not None and cpu_b1 is not None else None
    st = None
    if os.path.exists(stats):
        try:
            st = json.load(open(stats))
        except ValueError as e:
            rec["error"] = f"stats file unreadable: {e}"
    rec["stats"] = st
    if st and st.get("t_first"):
        rec["startup_s"] = round(st["t_first"] - t0, 4)
        if st.get("t_last_out"):
            rec["run_s"] = round(st["t_last_out"] - st["t_first"], 3)
            rec["eps"] = round(rows / rec["run_s"]) if rec["run_s"] > 0 else None
            rec["eps_incl_startup"] = round(rows / (st["t_last_out"] - t0))
    if rc != 0 or timed_out:
        own = (err or "").split("\tCommand being timed")[0].strip().splitlines()
        own = [l for l in own if not l.startswith("Command exited with non-zero status")]
        rec["error"] = rec.get("error") or (f"timed out after {a.timeout} s" if timed_out else
                                            f"exit status {rc}: {' | '.join(own[-3:])[-500:]}")
    if rc == 0 and not timed_out:
        log(f"   verifying {out_topic}")
        rec["verify"] = verify_output(job, rows, topic, out_topic)
    else:
        rec["verify"] = {"error": "run failed, output not checked"}
    rec["verified"] = bool(rec["verify"].get("verified")) and rc == 0 and rec.get("eps") is not None
    emit(a, rec)


def base_rec(s, kind, engine, job, p, rows, rep, section, **kw):
    return {"session": s["session"], "mode": s["mode"], "kind": kind, "engine": engine, "job": job,
            "parallelism": p, "rows": rows, "rep": rep, "section": section,
            "ts": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), **kw}


def run_flink(a, s, job, p, rows, rep, verify_run=False):
    fmt = "json" if job == "A" else "csv"
    os.makedirs(os.path.join(FLINK_DIR, "results"), exist_ok=True)
    name = f"flink-{job}-{fmt}-p{p}-{rows}-r{rep}-{time.strftime('%H%M%S')}" + ("-verify" if verify_run else "")
    cmd = [FLINK_PY, FLINK_ANCHOR, "run", "--job", job, "--source", fmt, "--rows", str(rows), "-p", str(p),
           "--out", os.path.join(FLINK_DIR, "results", "streams-bench.jsonl"), "--tag", "streams-bench"]
    if verify_run:
        cmd.append("--verify")
    log(f"flink {job} {fmt} p{p} {rows:,} rows rep {rep}{' (verify run, not timed)' if verify_run else ''}")
    t0 = time.time()
    stdout_path = os.path.join(FLINK_DIR, "results", f"{name}.log")
    rc, err, timed_out = run_group([TIME_BIN, "-v"] + cmd, dict(os.environ, PYTHONDONTWRITEBYTECODE="1"),
                                   a.timeout, stdout_path)
    wall = time.time() - t0
    with open(stdout_path, "a") as f:
        f.write("\n--- stderr ---\n" + (err or ""))
    res = [l for l in open(stdout_path) if l.startswith("RESULT ")]
    d = json.loads(res[-1][7:]) if res else None
    rec = base_rec(s, "flink", "flink", job, p, rows, rep, "verify" if verify_run else "main", source=fmt)
    rec.update({"name": name, "rc": rc, "timed_out": timed_out, "wall_s": round(wall, 3), "flink": d,
                "process_tree": time_v(err)})
    if d:
        rec["eps"] = d.get("eps_net")
        rec["run_s"] = d.get("net_runtime_s")
        # process start -> job running: Python import, JVM + gateway, DDL, planning, MiniCluster, submission
        rec["startup_s"] = round(d["to_done_s"] - d["net_runtime_s"], 3)
        rec["peak_rss_mib"] = d.get("jvm_peak_rss_mb")
        rec["cpu_s"] = d.get("jvm_cpu_job_s")
        rec["eps_incl_startup"] = round(rows / d["to_done_s"]) if d.get("to_done_s") else None
    else:
        rec["error"] = f"no RESULT line (rc {rc}{', timed out' if timed_out else ''}); see {stdout_path}"
    if verify_run and d:
        vdir = os.path.join(FLINK_DIR, "results", "verify", f"{job}_{fmt}_{rows}_p{p}")
        r = subprocess.run([BASE_PY, os.path.join(HERE, "verify_streams.py"), "flink", job, vdir],
                           env=peers_env(rows), capture_output=True, text=True)
        lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
        rec["verify"] = json.loads(lines[-1]) if lines else {"error": r.stderr[-1500:]}
        rec["verified"] = bool(rec["verify"].get("verified"))
    else:
        # the timed runs write to a blackhole sink: Flink is the reference, not checked per run
        rec["verify"] = {"note": "blackhole sink (reference engine); see --flink-verify"}
        rec["verified"] = None if d else False
    emit(a, rec)


def run_peer(a, s, peer, rows, topic, rep):
    res_file = os.path.join(PEERS_DIR, "results", f"streams-{s['session']}.jsonl")
    os.makedirs(os.path.dirname(res_file), exist_ok=True)
    n0 = sum(1 for _ in open(res_file)) if os.path.exists(res_file) else 0
    log(f"peer {peer} A {rows:,} rows ({topic}) rep {rep}")
    env = peers_env(rows, topic, PEERS_RESULTS=res_file)
    r = subprocess.run([BASE_PY, os.path.join(PEERS_SRC, "runner.py"), peer, "A", str(rep),
                        "--tag", "streams-bench", "--timeout", str(a.timeout)], env=env, capture_output=True, text=True)
    for line in r.stdout.splitlines():
        log("   " + line)
    lines = [json.loads(l) for l in open(res_file)][n0:] if os.path.exists(res_file) else []
    rec = base_rec(s, "peer", peer, "A", 1, rows, rep, "peers", source=f"kafka:{topic}")
    if not lines:
        rec.update({"error": f"runner.py wrote no result (rc {r.returncode}): {r.stderr[-1000:]}", "verified": False,
                    "verify": {}})
    else:
        pr = lines[-1]
        rec.update({k: pr.get(k) for k in ("name", "rc", "timed_out", "wall_s", "startup_s", "run_s", "eps",
                                           "eps_incl_startup", "cpu_s", "broker_cpu_s")})
        rec["peak_rss_mib"] = pr.get("rss_mib")
        v = dict(pr.get("verify") or {})
        v.pop("spot_checks", None)
        rec["verify"] = v
        rec["verified"] = bool(v.get("verified"))
        rec["stats"] = pr.get("stats")
    emit(a, rec)


def emit(a, rec):
    os.makedirs(RESULTS_DIR, exist_ok=True)
    path = os.path.join(RESULTS_DIR, f"runs-{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d}.jsonl")
    with open(path, "a") as f:
        f.write(json.dumps(rec) + "\n")
    v = rec.get("verify") or {}
    vs = {True: "verified", False: "NOT VERIFIED", None: "n/a"}[rec.get("verified")]
    detail = ""
    if rec.get("verified") is False:
        keys = ("error", "missing", "extra", "duplicate_windows", "cnt_mismatch", "sum_mismatch", "avg_mismatch",
                "window_end_bad", "duplicates", "diff_vs_C_event", "records")
        detail = " " + json.dumps({k: v[k] for k in keys if v.get(k)} | ({"error": rec["error"]} if rec.get("error") else {}))[:600]
    elif rec["job"] == "C" and "diff_vs_C_event" in v:
        detail = f" flagged={v.get('flagged')} diff_vs_C_event={v['diff_vs_C_event']} diff_vs_C_arrival={v.get('diff_vs_C_arrival')}"
    log(f"   => {rec['engine']} {rec['job']} p{rec['parallelism']}: events/s={rec.get('eps')} "
        f"start-up={rec.get('startup_s')} s peak RSS={rec.get('peak_rss_mib')} MiB CPU={rec.get('cpu_s')} s "
        f"{vs}{detail}")


# --------------------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="200,000 rows for every dataset (unless given below)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per configuration (report: medians)")
    ap.add_argument("--only", default="riverbank,flink,peers", help="subset of riverbank,flink,peers")
    ap.add_argument("--jobs", default="A,B,C")
    ap.add_argument("--parallelisms", default="1,2")
    ap.add_argument("--peers", default="baseline,quix,bytewax,faust", help="peers on job A ('' for none)")
    ap.add_argument("--rows-ac", type=int, help="rows for jobs A and C (default 10,000,000; quick 200,000)")
    ap.add_argument("--rows-b", type=int, help="rows for job B (default 2,000,000; quick 200,000)")
    ap.add_argument("--peers-rows", type=int, help="rows for the peers (default 2,000,000; quick 200,000)")
    ap.add_argument("--checkpoint-interval-ms", type=int, help="passed to riverbank streams bench")
    ap.add_argument("--job-files", action="store_true",
                    help="also run each Riverbank job from its file in jobs/ (engine riverbank-file), after the Swift-API run")
    ap.add_argument("--flink-verify", action="store_true",
                    help="also one untimed Flink run per job and parallelism with a csv sink, checked like Riverbank's")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per run before its process group is killed")
    ap.add_argument("--prepare-only", action="store_true", help="make the datasets, start nothing")
    ap.add_argument("--reuse-broker", action="store_true",
                    help="keep the broker data dir and skip producing topics that already hold the rows")
    ap.add_argument("--keep-broker", action="store_true", help="leave the broker running at the end")
    ap.add_argument("--no-report", action="store_true")
    a = ap.parse_args()
    q = 200_000 if a.quick else None
    a.rows_ac = a.rows_ac or q or 10_000_000
    a.rows_b = a.rows_b or q or 2_000_000
    a.peers_rows = a.peers_rows or q or 2_000_000
    a.only = [x for x in a.only.split(",") if x]
    a.jobs = [x for x in a.jobs.split(",") if x]
    a.parallelisms = [int(x) for x in a.parallelisms.split(",") if x]
    a.peers = [x for x in a.peers.split(",") if x]
    bad = set(a.only) - {"riverbank", "flink", "peers"} or set(a.jobs) - set("ABC")
    if bad:
        raise SystemExit(f"run.py: unknown selection {sorted(bad)}")
    check_installed(a)
    os.makedirs(WORK, exist_ok=True)
    log(f"work dir {WORK}; shared {SHARED}; riverbank {RB_BIN}; broker {BROKER_BIN}")
    log(f"rows: A,C {a.rows_ac:,}  B {a.rows_b:,}  peers {a.peers_rows:,}; repeats {a.repeat}; "
        f"engines {','.join(a.only)}; jobs {','.join(a.jobs)}; p {a.parallelisms}")
    topics = prepare(a)
    if a.prepare_only:
        log("prepare-only: datasets ready")
        return 0
    s = {"session": time.strftime("%Y%m%dT%H%M%S", time.gmtime()), "mode": "quick" if a.quick else "full"}
    rb_problem = rb_has_streams() if "riverbank" in a.only else None
    if rb_problem:
        log(f"riverbank: SKIPPED: {rb_problem}")
    # session header: what ran, on what
    head = {"kind": "session", "session": s["session"], "mode": s["mode"], "argv": sys.argv[1:],
            "riverbank_bin": RB_BIN, "broker_bin": BROKER_BIN, "riverbank_skipped": rb_problem,
            "rows_ac": a.rows_ac, "rows_b": a.rows_b, "peers_rows": a.peers_rows, "repeat": a.repeat,
            "git_head": subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                                       text=True).stdout.strip(),
            "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), ""),
            "cores": os.cpu_count(), "loadavg": open("/proc/loadavg").read().split()[:3],
            "ts": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    try:
        head["riverbank_bin_mtime"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(os.path.getmtime(RB_BIN)))
    except OSError:
        pass
    os.makedirs(RESULTS_DIR, exist_ok=True)
    with open(os.path.join(RESULTS_DIR, f"runs-{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d}.jsonl"), "a") as f:
        f.write(json.dumps(head) + "\n")
    need_broker = ("riverbank" in a.only and not rb_problem) or ("peers" in a.only and a.peers)
    if need_broker:
        start_broker(a, topics)
    try:
        for rep in range(1, a.repeat + 1):
            log(f"=== repeat {rep}/{a.repeat}")
            if "riverbank" in a.only and not rb_problem:
                for job in a.jobs:
                    rows = a.rows_b if job == "B" else a.rows_ac
                    for p in a.parallelisms:
                        # With checkpoints the runs form their own section: the report sets
                        # them beside the plain runs as the checkpoint overhead.
                        run_riverbank(a, s, job, p, rows, topic_name(rows), rep,
                                      section="ckpt" if a.checkpoint_interval_ms else "main")
                        if a.job_files:
                            run_riverbank(a, s, job, p, rows, topic_name(rows), rep,
                                          section="ckpt" if a.checkpoint_interval_ms else "main", from_file=True)
            if "flink" in a.only:
                for job in a.jobs:
                    rows = a.rows_b if job == "B" else a.rows_ac
                    for p in a.parallelisms:
                        run_flink(a, s, job, p, rows, rep)
            if "peers" in a.only and a.peers:
                if "riverbank" in a.only and not rb_problem and "A" in a.jobs and \
                        (a.peers_rows != a.rows_ac or 1 not in a.parallelisms):
                    run_riverbank(a, s, "A", 1, a.peers_rows, topic_name(a.peers_rows), rep, section="peers")
                order = a.peers if rep % 2 else list(reversed(a.peers))
                for peer in order:
                    run_peer(a, s, peer, a.peers_rows, topic_name(a.peers_rows), rep)
        if a.flink_verify and "flink" in a.only:
            for job in a.jobs:
                rows = a.rows_b if job == "B" else a.rows_ac
                for p in a.parallelisms:
                    run_flink(a, s, job, p, rows, 0, verify_run=True)
    finally:
        if need_broker and not a.keep_broker:
            broker_sh("stop", check=False)
    if not a.no_report:
        subprocess.run([sys.executable, os.path.join(HERE, "report.py")] + (["--quick"] if a.quick else []),
                       env=dict(os.environ, STREAMS_RESULTS=RESULTS_DIR))
    return 0


if __name__ == "__main__":
    sys.exit(main())
