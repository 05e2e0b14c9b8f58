"""`riverbank job export --flink-sql`: the benchmark jobs and the daily aggregates, exported as
Flink SQL and run on Apache Flink 2.3 (PyPI apache-flink, local mini-cluster, streaming mode)
over the same rows that Riverbank runs the job files on (`job run --bounded` against a broker
process, rows produced with librdkafka); the two outputs are compared result by result."""
import glob
import json
import os
import subprocess

import pytest

from conftest import REPO, riverbank_binary, unique_topic
from test_streams import make_rows, produce_rows, read_topic

FLINK_PY = REPO / ".build-flink" / "venv" / "bin" / "python"
pytestmark = [pytest.mark.riverbank_only, pytest.mark.deadline(600)]


def flink_available():
    return FLINK_PY.exists() and subprocess.run(["java", "-version"], capture_output=True).returncode == 0


def run_flink(tmp_path, job, rows_file):
    out_dir = tmp_path / f"flink-{job}"
    sql = tmp_path / f"{job}.sql"
    r = subprocess.run([str(riverbank_binary().absolute()), "job", "export", "--flink-sql", str(REPO / "jobs" / f"{job}.yaml"),
                        "--source-path", f"tx={rows_file.parent}", "--sink-path", f"out={out_dir}", "-o", str(sql)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    f = subprocess.run([str(FLINK_PY), str(REPO / "Tests" / "interop" / "flink_sql.py"), str(sql)],
                       capture_output=True, text=True, timeout=420)
    assert f.returncode == 0 and "flink: done" in f.stdout, (sql.read_text() + f.stdout[-3000:] + f.stderr[-5000:])
    rows = []
    for path in glob.glob(str(out_dir / "**" / "*"), recursive=True):
        if os.path.isfile(path) and not os.path.basename(path).startswith("."):
            rows += [json.loads(l) for l in open(path) if l.strip()]
    return rows


def run_riverbank(bootstrap, job, topic):
    out = unique_topic(job)
    r = subprocess.run([str(riverbank_binary().absolute()), "job", "run", str(REPO / "jobs" / f"{job}.yaml"), "--bootstrap", bootstrap,
                        "--bounded", "--quiet", "--name", unique_topic("x"), "--source", f"tx={topic}", "--sink", f"out={out}"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return [json.loads(m.value()) for m in read_topic(bootstrap, out)]


def by(rows, keys):
    out = {}
    for r in rows:
        k = tuple(r[x] for x in keys)
        assert k not in out, f"result {k} twice"
        out[k] = r
    return out


def same(a, b, fields, rel=1e-9):
    for f in fields:
        x, y = a[f], b[f]
        if isinstance(x, float) or isinstance(y, float):
            if abs(x - y) > rel * max(1.0, abs(x), abs(y)):
                return False
        elif x != y:
            return False
    return True


@pytest.fixture(scope="module")
def rows_on_both(broker, tmp_path_factory):
    if not flink_available():
        pytest.fail("Apache Flink is not installed: run scripts/setup.sh --test (it creates .build-flink/venv)")
    rows = make_rows(20_000, 400, seed=41)
    d = tmp_path_factory.mktemp("rows") / "tx"
    d.mkdir()
    f = d / "rows.json"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    topic = unique_topic("tx")
    produce_rows(broker.bootstrap, topic, rows)
    return rows, f, topic


@pytest.mark.parametrize("job,keys,fields", [
    ("hourly-spend", ["customer_id", "window_start"], ["window_end", "cnt", "sum", "avg"]),
    ("velocity", ["customer_id", "window_start"], ["window_end", "cnt"]),
])
def test_exported_windows_give_flinks_results(broker, rows_on_both, tmp_path, job, keys, fields):
    rows, f, topic = rows_on_both
    ours = by(run_riverbank(broker.bootstrap, job, topic), keys)
    theirs = by(run_flink(tmp_path, job, f), keys)
    assert len(ours) > 100
    assert set(ours) == set(theirs), f"only Riverbank: {sorted(set(ours) - set(theirs))[:3]}, only Flink: {sorted(set(theirs) - set(ours))[:3]}"
    bad = [k for k in ours if not same(ours[k], theirs[k], fields)]
    assert not bad, [(ours[k], theirs[k]) for k in bad[:3]]


def test_exported_over_gives_flinks_results(broker, rows_on_both, tmp_path):
    rows, f, topic = rows_on_both
    ours = by(run_riverbank(broker.bootstrap, "big-spenders", topic), ["tx_id"])
    theirs = by(run_flink(tmp_path, "big-spenders", f), ["tx_id"])
    assert len(ours) > 50
    # (SUM − amount) / (COUNT − 1) in Flink against a running sum of the previous rows here:
    # the same value up to rounding, so only a row on the 3× boundary could fall either way.
    diff = set(ours) ^ set(theirs)
    both = {**theirs, **ours}
    edge = [k for k in diff if abs(both[k]["amount"] - 3 * both[k]["prev_avg"]) > 1e-9 * both[k]["amount"]]
    assert not edge, [both[k] for k in edge[:3]]
    bad = [k for k in set(ours) & set(theirs) if not same(ours[k], theirs[k], ["customer_id", "amount", "prev_avg", "prev_cnt", "ts_ms"], rel=1e-9)]
    assert not bad, [(ours[k], theirs[k]) for k in bad[:3]]


def test_what_flink_sql_cannot_say_is_an_error_at_its_place(tmp_path):
    f = tmp_path / "geo.yaml"
    f.write_text((REPO / "jobs" / "big-spenders.yaml").read_text().replace(
        "where: prev_cnt > 0 AND amount > 3 * prev_avg", "where: GEO_DISTANCE_KM(0.0, 0.0, 1.0, 1.0) > amount"))
    r = subprocess.run([str(riverbank_binary().absolute()), "job", "export", "--flink-sql", str(f)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "GEO_DISTANCE_KM has no Flink SQL equivalent" in r.stdout and f"{f}:" in r.stdout, r.stdout
