#!/usr/bin/env python3
"""Renders bench/STREAMS_RESULTS.md from bench/streams/results/runs-*.jsonl (written by run.py).

  bench/streams/report.py            # full-size runs (mode "full")
  bench/streams/report.py --quick    # the --quick runs instead (written to STREAMS_RESULTS.quick.md)
  bench/streams/report.py --out FILE --results 'bench/streams/results/runs-2026-*.jsonl'

For every configuration (engine, job, parallelism, rows) the runs of the latest session that ran
it are used, medians over their repeats; so re-running only Riverbank keeps the last Flink and
peer figures.  A configuration with any run that did not verify is shown as failed: its figures
are not used for the ratios or the targets.
"""
import argparse
import glob
import json
import os
import statistics

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

JOBS = {
    "A": "A: 1 h tumbling event-time window per customer, count / sum / avg (5 s out-of-orderness)",
    "B": "B: 1 h windows sliding by 5 min (HOP) per customer, windows with count > 5",
    "C": "C: per transaction, amount > 3 × the average of the customer's previous transactions "
         "(event-time order, Flink's OVER … ORDER BY ts)",
}
PEER_ORDER = ["riverbank", "baseline", "quix", "bytewax", "faust", "pathway", "denorm"]
RSS_TARGET_MB = 200          # MB = 10^6 bytes
STARTUP_TARGET_S = 0.2
SPEEDUP_TARGET = 3.0


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def f(x, fmt="{:,.0f}", none="–"):
    return none if x is None else fmt.format(x)


def load(pattern):
    recs = []
    for fn in sorted(glob.glob(pattern)):
        with open(fn) as fh:
            for line in fh:
                if line.strip():
                    try:
                        recs.append(json.loads(line))
                    except ValueError:
                        pass
    return recs


class Group:
    """The runs of one configuration in its latest session."""

    def __init__(self, runs):
        self.runs = runs
        self.n = len(runs)
        self.failed = [r for r in runs if r.get("verified") is False]
        self.ok = not self.failed
        self.checked = all(r.get("verified") is True for r in runs)

    def m(self, key):
        return med([r.get(key) for r in self.runs]) if self.ok else None

    def mx(self, key):
        vals = [r.get(key) for r in self.runs if r.get(key) is not None]
        return max(vals) if vals and self.ok else None

    def cell(self, key, fmt="{:,.0f}"):
        """Median (and the single runs when there are several), or 'failed'."""
        if not self.ok:
            return f"**failed** ({len(self.failed)} of {self.n} runs)" if key == "eps" else "–"
        v = self.m(key)
        s = f(v, fmt)
        if self.n > 1:
            s += " (" + " / ".join(f(r.get(key), fmt) for r in self.runs) + ")"
        return s


def select(recs, mode):
    """(kind, engine, job, p, rows, section) -> Group of the latest session that ran it."""
    by = {}
    for r in recs:
        if r.get("kind") in (None, "session") or r.get("mode") != mode:
            continue
        k = (r["kind"], r["engine"], r["job"], r["parallelism"], r["rows"], r.get("section", "main"))
        by.setdefault(k, {}).setdefault(r["session"], []).append(r)
    return {k: Group(sorted(v[max(v)], key=lambda r: r.get("rep", 0))) for k, v in by.items()}


def verify_cell(g, kind):
    if not g.ok:
        why = []
        for r in g.failed:
            v = r.get("verify") or {}
            bits = [f"{k} {v[k]:,}" for k in ("missing", "extra", "duplicate_windows", "cnt_mismatch", "sum_mismatch",
                                              "avg_mismatch", "window_end_bad", "duplicates", "diff_vs_C_event")
                    if isinstance(v.get(k), int) and v.get(k)]
            if r.get("error"):
                bits.append(str(r["error"])[:120])
            elif v.get("error"):
                bits.append(str(v["error"]).strip().splitlines()[-1][:120])
            why.append(", ".join(bits) or "not verified")
        return "**no**: " + "; ".join(why)
    if kind == "flink" and not g.checked:
        return "n/a (reference, blackhole sink)"
    return "yes" if g.n == 1 else f"yes ({g.n} of {g.n})"


def c_note(g):
    """Job C: the differences to the other references, from the first run."""
    v = (g.runs[0].get("verify") or {})
    if "diff_vs_C_event" not in v:
        return ""
    return (f"; flagged {v.get('flagged', 0):,}, Δ vs event order {v['diff_vs_C_event']} "
            f"(vs its pandas-cumsum variant {v.get('diff_vs_C_event_pandas')}), "
            f"Δ vs arrival order {v.get('diff_vs_C_arrival')}")


def repartition_section(w, quick):
    """`bench/streams/repartition.py` runs: the same job in one stage and through a repartition topic."""
    if quick:
        return
    recs = []
    for f in sorted(glob.glob(os.path.join(HERE, "results", "repartition-*.jsonl"))):
        with open(f) as fh:
            recs += [json.loads(x) for x in fh if x.strip()]
    if not recs:
        return
    w("## Repartition cost (`bench/streams/repartition.py`)\n")
    w("Job A as a job file (1 h tumbling window per customer), bounded, over the same rows on a fresh "
      "`riverbank broker`: once with `partitioned-by: customer_id` (one stage) and once without (every row "
      "crosses `<job>.hourly.repartition` to a second stage), alternating, under GNU `time -v`; every "
      "output checked against a brute-force GROUP BY. Rows/s over the whole command (start-up included).\n")
    w("| date | commit | rows | parallelism | kind | runs | rows/s (median) | CPU s (median) | peak RSS MiB (max) | verified |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    keys = sorted({(r["date"], r["commit"], r["rows"], r["parallelism"], r["kind"]) for r in recs})
    for k in keys:
        rs = [r for r in recs if (r["date"], r["commit"], r["rows"], r["parallelism"], r["kind"]) == k]
        med = lambda xs: sorted(xs)[len(xs) // 2]
        w(f"| {k[0]} | `{k[1]}` | {k[2]:,} | {k[3]} | {k[4]} | {len(rs)} | {med([r['rows_per_s'] for r in rs]):,} | "
          f"{med([r['cpu_s'] for r in rs])} | {max(r['max_rss_mib'] for r in rs)} | {all(r['verified'] for r in rs)} |")
    w("")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="report the --quick runs")
    ap.add_argument("--results", default=os.path.join(os.environ.get("STREAMS_RESULTS") or os.path.join(HERE, "results"),
                                                      "runs-*.jsonl"), help="glob of run files (env STREAMS_RESULTS: their dir)")
    ap.add_argument("--out", help="default bench/STREAMS_RESULTS.md, or STREAMS_RESULTS/STREAMS_RESULTS.md "
                                  "when STREAMS_RESULTS is set")
    a = ap.parse_args()
    mode = "quick" if a.quick else "full"
    md = "STREAMS_RESULTS.quick.md" if a.quick else "STREAMS_RESULTS.md"
    out_path = a.out or (os.path.join(os.environ["STREAMS_RESULTS"], md) if os.environ.get("STREAMS_RESULTS")
                         else os.path.join(ROOT, "bench", md))
    recs = load(a.results)
    groups = select(recs, mode)
    sessions = {r["session"]: r for r in recs if r.get("kind") == "session" and r.get("mode") == mode}
    used = sorted({r["session"] for g in groups.values() for r in g.runs})

    L = []
    w = L.append
    w("# Streams engine benchmark: Riverbank vs Apache Flink 2.3 and Kafka-native peers\n")
    w(f"Generated by `bench/streams/report.py` from `bench/streams/results/runs-*.jsonl` "
      f"(`bench/streams/run.py{' --quick' if a.quick else ''}`). Sessions used:")
    for sid in used:
        h = sessions.get(sid, {})
        w(f"- `{sid}`: repo `{h.get('git_head', '?')}`, riverbank `{h.get('riverbank_bin', '?')}` "
          f"(built {h.get('riverbank_bin_mtime', '?')}), {h.get('cores', '?')} cores ({h.get('cpu', '?')}), "
          f"load at start {' '.join(h.get('loadavg') or [])}, args `{' '.join(h.get('argv') or []) or '(none)'}`"
          + (f"; **Riverbank skipped**: {h['riverbank_skipped']}" if h.get("riverbank_skipped") else ""))
    if not used:
        w(f"- none: no `{mode}` runs recorded yet")
    w("")
    w("How it is measured (same definitions as the shared peers harness, `../shared/bench/peers`):")
    w("- **events/s** = input rows / (first record seen by the engine → last result handed to the sink), "
      "so start-up is excluded. Flink: rows / the job's net runtime as Flink reports it "
      "(`run_flink_anchor.py`, includes task deployment).")
    w("- **start-up** = process spawn → first record seen (Riverbank, peers). Flink: Python process start → job "
      "running (import, JVM + gateway, DDL, planning, MiniCluster start, submission).")
    w("- **peak RSS** = GNU `time -v` maximum resident set of the process (Flink: VmHWM of the JVM); "
      "**CPU s** = user + sys of the process over the whole run (Flink: JVM CPU while the job runs).")
    w("- Riverbank and the peers read a 2-partition topic on a local Riverbank broker (JSON values, lz4, "
      "key customer_id, one end marker per partition) and write their results to a topic; every run's output "
      "is read back and checked against an independent pandas reference (A: the peers' `verify.py`; "
      "B: `bench/streams/verify_streams.py`, HOP as `../shared/bench/flink/verify_reference.py`; "
      "C: the peers' `verify.py`, passing = equal to its event-time-order set `C_event`). "
      "Flink reads the same rows from files (A: JSON, B and C: CSV, one file per parallel reader) "
      "into a blackhole sink, a fresh JVM per run; it is the reference and is not checked per run "
      "(`run.py --flink-verify` adds checked runs).")
    w("- The broker runs on the same 2 cores as the engine under test (Flink reads local files, no broker).\n")

    def g_of(kind, engine, job, p, rows=None, section=None):
        cands = [(k, g) for k, g in groups.items() if k[0] == kind and k[1] == engine and k[2] == job and k[3] == p
                 and (rows is None or k[4] == rows) and (section is None or k[5] == section)]
        if not cands:
            return None
        # several row counts: the largest (the full-size dataset) unless asked
        return max(cands, key=lambda kg: kg[0][4])[1]

    targets = []
    for job in "ABC":
        rb_any = [g for k, g in groups.items() if k[1] == "riverbank" and k[2] == job and k[5] == "main"]
        fl_any = [g for k, g in groups.items() if k[0] == "flink" and k[2] == job and k[5] == "main"]
        if not rb_any and not fl_any:
            continue
        rows_rb = {r["rows"] for g in rb_any for r in g.runs}
        rows_fl = {r["rows"] for g in fl_any for r in g.runs}
        w(f"## Job {JOBS[job]}\n")
        w(f"Rows: Riverbank {', '.join(f'{x:,}' for x in sorted(rows_rb)) or '–'}; "
          f"Flink {', '.join(f'{x:,}' for x in sorted(rows_fl)) or '–'}.\n")
        w("| engine | p | rows | runs | events/s | ÷ Flink (same p) | peak RSS MiB | start-up s | CPU s | verified |")
        w("|---|---|---|---|---|---|---|---|---|---|")
        for p in (1, 2):
            fl = g_of("flink", "flink", job, p, section="main")
            rb = g_of("riverbank", "riverbank", job, p, section="main")
            for name, g in (("Riverbank", rb), ("Flink 2.3", fl)):
                if g is None:
                    continue
                ratio = "–"
                if name == "Riverbank":
                    if g.ok and fl is not None and fl.ok and fl.m("eps") and g.m("eps"):
                        ratio = f"{g.m('eps') / fl.m('eps'):.2f}×"
                    elif not g.ok:
                        ratio = "**failed**"
                note = c_note(g) if job == "C" and name == "Riverbank" and g.runs[0].get("verify") else ""
                w(f"| {name} | {p} | {g.runs[0]['rows']:,} | {g.n} | {g.cell('eps')} | {ratio} | "
                  f"{g.cell('peak_rss_mib', '{:,.0f}')} | {g.cell('startup_s', '{:.3f}' if name == 'Riverbank' else '{:.1f}')} "
                  f"| {g.cell('cpu_s', '{:.1f}')} | {verify_cell(g, 'flink' if name != 'Riverbank' else 'rb')}{note} |")
            # targets
            if rb is not None or fl is not None:
                if rb is None:
                    targets.append((f"events/s ≥ {SPEEDUP_TARGET:g}× Flink", job, p, "no Riverbank run", None))
                elif not rb.ok:
                    targets.append((f"events/s ≥ {SPEEDUP_TARGET:g}× Flink", job, p, "Riverbank run failed verification", False))
                elif fl is None or not fl.ok or not fl.m("eps"):
                    targets.append((f"events/s ≥ {SPEEDUP_TARGET:g}× Flink", job, p, "no Flink figure", None))
                else:
                    r = rb.m("eps") / fl.m("eps")
                    targets.append((f"events/s ≥ {SPEEDUP_TARGET:g}× Flink", job, p,
                                    f"{r:.2f}× ({rb.m('eps'):,.0f} vs {fl.m('eps'):,.0f})", r >= SPEEDUP_TARGET))
            if rb is not None:
                if not rb.ok:
                    if job == "A":
                        targets.append((f"peak RSS < {RSS_TARGET_MB} MB", job, p, "run failed verification", False))
                    targets.append((f"start-up < {STARTUP_TARGET_S} s", job, p, "run failed verification", False))
                else:
                    if job == "A":
                        mb = rb.mx("peak_rss_mib") * 1.048576
                        targets.append((f"peak RSS < {RSS_TARGET_MB} MB", job, p,
                                        f"{mb:,.0f} MB (max of {rb.n} run(s))", mb < RSS_TARGET_MB))
                    su = rb.m("startup_s")
                    targets.append((f"start-up < {STARTUP_TARGET_S} s", job, p,
                                    f"{su:.3f} s (median; max {rb.mx('startup_s'):.3f})", su < STARTUP_TARGET_S))
        fv = [g for k, g in groups.items() if k[0] == "flink" and k[2] == job and k[5] == "verify"]
        for g in fv:
            v = g.runs[-1].get("verify") or {}
            w(f"\nFlink output check (untimed csv-sink run, p{g.runs[-1]['parallelism']}, {g.runs[-1]['rows']:,} rows): "
              f"{'verified' if g.checked else 'NOT verified'} "
              f"`{json.dumps({k: x for k, x in v.items() if k not in ('dir',)})[:400]}`")
        w("")

    # checkpoint overhead: the same job with checkpoints (section ckpt) against the plain runs
    ck = [(k, g) for k, g in groups.items() if k[1] == "riverbank" and k[5] == "ckpt"]
    if ck:
        w("## Checkpoint overhead\n")
        w("The same Riverbank runs with `--checkpoint-interval-ms` (snapshots of every task's state, "
          "the sink flushed, written to the job's compacted checkpoint topic) against the runs without.\n")
        w("| job | p | rows | interval ms | events/s with | without | overhead | checkpoints | time in them s | last size bytes | verified |")
        w("|---|---|---|---|---|---|---|---|---|---|---|")
        for k, g in sorted(ck, key=lambda kg: (kg[0][2], kg[0][3])):
            base = g_of("riverbank", "riverbank", k[2], k[3], rows=k[4], section="main")
            st = (g.runs[0].get("stats") or {})
            over = "–"
            if g.ok and base is not None and base.ok and base.m("eps") and g.m("eps"):
                over = f"{(1 - g.m('eps') / base.m('eps')) * 100:.1f} %"
                targets.append(("checkpoints cost < 5 % of events/s", k[2], k[3], over,
                                (1 - g.m("eps") / base.m("eps")) < 0.05))
            w(f"| {k[2]} | {k[3]} | {k[4]:,} | {g.runs[0].get('checkpoint_interval_ms', '?')} | {g.cell('eps')} | "
              f"{base.cell('eps') if base else '–'} | {over} | {st.get('checkpoints', '?')} | "
              f"{st.get('checkpoint_s', '?')} | {st.get('last_checkpoint_bytes', '?')} | {verify_cell(g, 'rb')} |")
        w("")

    # recovery: bench/streams/recovery.py (kill -9 with ~1 GB of state)
    rec_dir = os.path.dirname(a.results)
    rec = load(os.path.join(rec_dir, "recovery-*.jsonl"))
    if rec and not a.quick:
        w("## Recovery from kill -9 with ~1 GB of state\n")
        w("`bench/streams/recovery.py`: job R (per customer every transaction with its derived features; "
          "10 M rows) checkpoints every 20 s with a state directory and is killed -9 once a checkpoint of "
          "its whole state is complete; probe rows are appended and the job restarted: seconds from the "
          "process start to its first new output record, with the local copy (the same machine) and "
          "without it (a fresh machine: the chunks come from the checkpoint topic). The job's own log "
          "gives the checkpoint read and the operators' restore.\n")
        w("| date | rev | p | state MiB | restored from | first new output s | checkpoint read ms | operators restored ms |")
        w("|---|---|---|---|---|---|---|---|")
        for r in rec:
            w(f"| {r['date']} | {r.get('rev') or '?'} | {r['parallelism']} | {r['state_bytes'] / 2**20:,.0f} | "
              f"{'local copy' if r['from'] == 'local' else 'topic alone'} | {f(r['first_output_s'], '{:.2f}')} | "
              f"{f(r.get('checkpoint_read_ms'))} | {f(r.get('operator_restore_ms'))} |")
        w("")
        local = [r["first_output_s"] for r in rec if r["from"] == "local" and r["first_output_s"] is not None
                 and r["state_bytes"] >= 800 * 2**20]
        if local:
            worst = max(local)
            targets.append(("recovery from kill -9 to first new output < 2 s (~1 GB state, local copy; worst run)",
                            "R", rec[0]["parallelism"], f"{worst:.2f} s", worst < 2))

    # peers on job A
    peer_groups = [(k, g) for k, g in groups.items() if k[2] == "A" and
                   (k[0] == "peer" or (k[1] == "riverbank" and k[3] == 1))]
    if any(k[0] == "peer" for k, _ in peer_groups):
        prow = max(k[4] for k, _ in peer_groups if k[0] == "peer")
        w(f"## Job A against the Kafka-native peers ({prow:,} rows, topic on the same broker)\n")
        w("Peers run by `../shared/bench/peers/runner.py` (a fresh process each, GNU time, output verified with "
          "the peers' `verify.py`); Riverbank at parallelism 1 on the same topic.\n")
        w("| engine | runs | events/s | Riverbank ÷ this | peak RSS MiB | start-up s | CPU s | CPU µs/event | verified |")
        w("|---|---|---|---|---|---|---|---|---|")
        rb = next((g for k, g in peer_groups if k[1] == "riverbank" and k[4] == prow), None)
        rows_here = [(k, g) for k, g in peer_groups if k[4] == prow and (k[0] == "peer" or g is rb)]
        for k, g in sorted(rows_here, key=lambda kg: PEER_ORDER.index(kg[0][1]) if kg[0][1] in PEER_ORDER else 99):
            ratio = "–"
            if k[1] != "riverbank" and rb is not None and rb.ok and g.ok and g.m("eps") and rb.m("eps"):
                ratio = f"{rb.m('eps') / g.m('eps'):.1f}×"
            cpu_ev = None if not g.ok or g.m("cpu_s") is None else g.m("cpu_s") / prow * 1e6
            label = "Riverbank (p1)" if k[1] == "riverbank" else k[1]
            w(f"| {label} | {g.n} | {g.cell('eps')} | {ratio} | {g.cell('peak_rss_mib')} | "
              f"{g.cell('startup_s', '{:.2f}')} | {g.cell('cpu_s', '{:.1f}')} | {f(cpu_ev, '{:.1f}')} | "
              f"{verify_cell(g, 'peer')} |")
        if rb is None:
            w("\n(no Riverbank run on this topic yet)")
        w("")

    w("## Targets\n")
    if targets:
        met = sum(1 for t in targets if t[4] is True)
        w(f"{met} of {len(targets)} met"
          + (f"; {sum(1 for t in targets if t[4] is None)} without data" if any(t[4] is None for t in targets) else "")
          + ".\n")
        w("| target | job | p | Riverbank | met |")
        w("|---|---|---|---|---|")
        for t in targets:
            w(f"| {t[0]} | {t[1]} | {t[2]} | {t[3]} | {({True: 'yes', False: '**no**', None: '–'})[t[4]]} |")
    else:
        w("No runs yet.")
    w("")
    repartition_section(w, a.quick)
    failed = [r for g in groups.values() for r in g.failed]
    if failed:
        w("## Runs that did not verify\n")
        for r in failed:
            v = {k: x for k, x in (r.get("verify") or {}).items() if k not in ("spot_checks",)}
            w(f"- `{r['session']}` {r['engine']} {r['job']} p{r['parallelism']} {r['rows']:,} rows rep {r.get('rep')}: "
              f"{r.get('error') or ''} `{json.dumps(v)[:500]}`")
        w("")
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path, "w") as fh:
        fh.write("\n".join(L))
    print(f"report: wrote {out_path} ({len(used)} session(s), {sum(g.n for g in groups.values())} runs)")


if __name__ == "__main__":
    main()
