#!/usr/bin/env python3
"""Checks of Streams benchmark outputs against independent pandas references.

  verify_streams.py reference A|B|C             compute and cache the reference (prints counts)
  verify_streams.py check A|B|C TOPIC           check an output topic; prints one JSON line
  verify_streams.py flink A|B|C DIR             check a Flink `run --verify` csv output directory

Runs with the peers' baseline interpreter (confluent-kafka, numpy, pandas) and the peers' own
modules (STREAMS_PEERS_SRC, the shared bench/peers directory, is put on sys.path).  The usual
PEERS_* settings (PEERS_DIR, PEERS_ROWS, PEERS_TOPIC, PEERS_BOOTSTRAP) select the rows, their
.pkl and the broker, exactly as for the peers' verify.py.

  A  the peers' verify.check("A", TOPIC) (every (customer, hour) window exactly once, count equal,
     sum and avg within 1e-6), plus: window_end = window_start + 1 h on every record.
  B  HOP 1 h size / 5 min slide per customer, COUNT(*) > 5, computed as
     ../flink/verify_reference.py does (each row is in the 12 windows whose start lies in
     (ts - 1 h, ts]) from the peers' .pkl of the rows: every such window exactly once, none extra,
     count equal, window_end = window_start + 1 h.
  C  the peers' verify.check("C", TOPIC), but "verified" means: no duplicate tx_id and the flagged
     set equals C_event (previous transactions in event-time order, Flink's OVER ORDER BY ts);
     the differences against C_arrival and the pandas variants are reported beside it.
End-of-stream markers (customer_id -1) are ignored on both sides.
"""
import json
import os
import pickle
import sys

sys.path.insert(0, os.environ.get("STREAMS_PEERS_SRC") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "bench", "peers"))
from common import *  # noqa: E402,F403  (peers' settings: DATA_DIR, JSONL, N_ROWS, HOUR_MS, ...)
import verify  # noqa: E402  (peers' verify.py)

M5_MS = 300_000

# read each output topic once, although verify.check and the extra checks here both read it
_read_topic, _topics = verify.read_topic, {}


def _read_topic_once(topic):
    if topic not in _topics:
        _topics[topic] = _read_topic(topic)
    return _topics[topic]


verify.read_topic = _read_topic_once
REF_B = os.path.join(DATA_DIR, f"reference_B_{N_ROWS}.pkl")


def rows_df():
    import pandas as pd
    return pd.read_pickle(JSONL.replace(".jsonl", ".pkl"))


def reference_b():
    """Series indexed by (customer_id, window_start ms) -> count, only counts > 5."""
    if os.path.exists(REF_B):
        with open(REF_B, "rb") as f:
            return pickle.load(f)
    import numpy as np
    import pandas as pd
    df = rows_df()
    last = (df.ts_ms // M5_MS).values
    ex = pd.DataFrame({"customer_id": np.repeat(df.customer_id.values.astype("int64"), 12),
                       "window_start": (np.repeat(last, 12) - np.tile(np.arange(12), len(df))) * M5_MS})
    b = ex.groupby(["customer_id", "window_start"]).size()
    b = b[b > 5].rename("cnt")
    with open(REF_B + ".tmp", "wb") as f:
        pickle.dump(b, f)
    os.replace(REF_B + ".tmp", REF_B)
    return b


def compare_windows(got, ref, key, out):
    """got: DataFrame with the key columns and cnt; ref: Series (cnt) or DataFrame with a cnt
    column, indexed by the key.  Fills the counts of duplicate / missing / extra / wrong windows."""
    r = ref.to_frame("cnt") if getattr(ref, "ndim", 2) == 1 else ref
    out["windows"] = len(got)
    out["ref_windows"] = int(len(r))
    out["sum_cnt"] = int(got.cnt.sum()) if len(got) else 0
    out["ref_sum_cnt"] = int(r.cnt.sum())
    out["duplicate_windows"] = int(got.duplicated(key, keep=False).sum())
    g = got.drop_duplicates(key).set_index(key)
    j = r[["cnt"]].join(g[["cnt"]].add_suffix("_got"), how="outer")
    out["missing"] = int(j.cnt_got.isna().sum())
    out["extra"] = int(j.cnt.isna().sum())
    both = j.dropna()
    out["cnt_mismatch"] = int((both.cnt != both.cnt_got).sum())
    return out


def check(job, topic):
    import pandas as pd
    if job == "A":
        out = verify.check("A", topic)
        if out.get("records"):
            recs = [json.loads(v) for v in verify.read_topic(topic)]
            got = pd.DataFrame(recs)
            got = got[got.customer_id >= 0]
            if "window_end" in got:
                out["window_end_bad"] = int(((got.window_end - got.window_start) != HOUR_MS).sum())
            else:
                out["window_end_bad"] = len(got)
            out["verified"] = bool(out.get("verified")) and out["window_end_bad"] == 0
        out.pop("spot_checks", None)
        return out
    if job == "C":
        out = verify.check("C", topic)
        out["verified_arrival_order"] = out.get("verified")
        out["verified"] = (out.get("flagged", 0) > 0 and out.get("duplicates") == 0
                           and out.get("diff_vs_C_event") == 0)
        return out
    # job B
    ref = reference_b()
    recs = [json.loads(v) for v in verify.read_topic(topic)]
    out = {"topic": topic, "job": "B", "records": len(recs)}
    if not recs:
        out["verified"] = False
        return out
    got = pd.DataFrame(recs)
    got = got[got.customer_id >= 0]
    compare_windows(got, ref, ["customer_id", "window_start"], out)
    out["window_end_bad"] = (int(((got.window_end - got.window_start) != HOUR_MS).sum())
                             if "window_end" in got else len(got))
    out["cnt_not_above_5"] = int((got.cnt <= 5).sum())
    out["verified"] = all(out[k] == 0 for k in ("duplicate_windows", "missing", "extra", "cnt_mismatch",
                                                 "window_end_bad", "cnt_not_above_5"))
    return out


def check_flink(job, vdir):
    """Flink's csv sink output (run_flink_anchor.py run --verify) against the same references."""
    import glob
    import pandas as pd
    files = [f for f in glob.glob(os.path.join(vdir, "**", "*"), recursive=True)
             if os.path.isfile(f) and not f.endswith(".crc") and not os.path.basename(f).startswith(".")]
    out = {"dir": vdir, "job": job, "files": len(files)}
    if not files:
        out["verified"] = False
        return out
    if job == "C":
        ids = []
        for f in files:
            with open(f) as fh:
                ids += [int(line.split(",", 1)[0]) for line in fh if line.strip()]
        got = set(ids)
        ref = verify.reference()
        out["flagged"] = len(ids)
        out["duplicates"] = len(ids) - len(got)
        for name in ("C_event", "C_event_pandas", "C_arrival"):
            out[f"diff_vs_{name}"] = len(ref[name] ^ got)
        # Flink computes (SUM OVER incl. current - amount), which rounds like pandas' cumsum - amount
        out["verified"] = out["duplicates"] == 0 and min(out["diff_vs_C_event"], out["diff_vs_C_event_pandas"]) == 0
        return out
    names = (["customer_id", "window_start", "window_end", "cnt", "total", "avg_amount"] if job == "A"
             else ["customer_id", "window_start", "window_end", "cnt"])
    got = pd.concat([pd.read_csv(f, header=None, names=names) for f in files], ignore_index=True)
    for c in ("window_start", "window_end"):
        got[c] = (pd.to_datetime(got[c], utc=True) - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)
    if job == "A":
        ref = verify.reference()["A"].reset_index()
        ref["window_start"] = ref.w * HOUR_MS
        ref = ref.set_index(["customer_id", "window_start"])
        compare_windows(got, ref, ["customer_id", "window_start"], out)
        g = got.drop_duplicates(["customer_id", "window_start"]).set_index(["customer_id", "window_start"])
        j = ref.join(g[["total"]], how="inner")
        out["sum_mismatch"] = int(((j["sum"] - j["total"]).abs() > 1e-6).sum())
        keys = ("duplicate_windows", "missing", "extra", "cnt_mismatch", "sum_mismatch")
    else:
        compare_windows(got, reference_b(), ["customer_id", "window_start"], out)
        keys = ("duplicate_windows", "missing", "extra", "cnt_mismatch")
    out["window_end_bad"] = int(((got.window_end - got.window_start) != HOUR_MS).sum())
    out["verified"] = all(out[k] == 0 for k in keys + ("window_end_bad",))
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd, job = sys.argv[1], sys.argv[2]
    if cmd == "reference":
        if job == "B":
            b = reference_b()
            print(json.dumps({"rows": N_ROWS, "B_windows": int(len(b)), "B_sum_cnt": int(b.sum())}))
        else:
            r = verify.reference()
            print(json.dumps({"rows": N_ROWS, "A_windows": r["A_windows"], "A_sum_cnt": r["A_sum_cnt"],
                              "C_event": len(r["C_event"]), "C_arrival": len(r["C_arrival"])}))
    elif cmd == "check":
        print(json.dumps(check(job, sys.argv[3])))
    elif cmd == "flink":
        print(json.dumps(check_flink(job, sys.argv[3])))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
