"""`riverbank job validate`: the shipped job files pass; a broken one fails with every problem
placed at its file:line:column, and a caret."""
import subprocess

from conftest import REPO, riverbank_binary


def run(*args):
    return subprocess.run([str(riverbank_binary()), "job", "validate", *args], capture_output=True, text=True, timeout=60)


def test_shipped_jobs_validate():
    r = run(str(REPO / "jobs"))
    assert r.returncode == 0, r.stdout + r.stderr
    for name in ("hourly-spend", "velocity", "big-spenders"):
        assert f"job {name} v1" in r.stdout


def test_a_broken_job_reports_every_problem_with_its_place(tmp_path):
    f = tmp_path / "broken.yaml"
    f.write_text(
        "name: broken\n"
        "sources:\n"
        "  tx: {topic: t, schema: {amount: DOUBLE, ts: TIMESTAMP}, event-time: tss}\n"
        "operators:\n"
        "  - name: big\n"
        "    filter: tx\n"
        "    where: amount > 'ten'\n"
        "sinks:\n"
        "  - {name: out, from: big, topic: out}\n")
    r = run(str(f))
    assert r.returncode == 1
    out = r.stdout
    assert f"{f}:3:" in out and "event-time field 'tss' is not in its schema (did you mean 'ts'?)" in out, out
    assert f"{f}:7:21: error:" in out, out  # at the string compared with a number
    assert "^" in out
    assert "2 problems" in out, out
