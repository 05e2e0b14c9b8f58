"""Runs a Flink SQL script (as `riverbank job export --flink-sql` writes it) on Apache Flink's
local mini-cluster in streaming mode, and waits for its INSERT (or statement set) to finish.
Run with the interpreter of the environment that has apache-flink (.build-flink/venv).

    flink_sql.py SCRIPT.sql
"""
import re
import sys

from pyflink.table import EnvironmentSettings, TableEnvironment


def statements(text):
    """The script's statements, split at semicolons that end a line (none occur inside the
    exporter's string literals), an EXECUTE STATEMENT SET block kept whole."""
    text = "\n".join(l for l in text.splitlines() if not l.strip().startswith("--"))
    out, cur, in_set = [], [], False
    for line in text.splitlines():
        if re.match(r"\s*EXECUTE STATEMENT SET BEGIN", line):
            in_set = True
        cur.append(line)
        if line.rstrip().endswith(";") and (not in_set or line.strip() == "END;"):
            s = "\n".join(cur).strip().rstrip(";").strip()
            if s:
                out.append(s)
            cur, in_set = [], False
    return out


def main():
    env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    conf = env.get_config()
    conf.set("parallelism.default", "1")
    conf.set("execution.checkpointing.interval", "1 s")  # the filesystem sink commits on checkpoints
    last = None
    for s in statements(open(sys.argv[1]).read()):
        m = re.match(r"SET\s+'([^']+)'\s*=\s*'([^']*)'", s)
        if m:
            conf.set(m.group(1), m.group(2))
            continue
        if s.upper().startswith("EXECUTE STATEMENT SET"):
            body = s[s.upper().index("BEGIN") + 5:s.upper().rindex("END")]
            ss = env.create_statement_set()
            for ins in [x.strip() for x in body.split(";") if x.strip()]:
                ss.add_insert_sql(ins)
            last = ss.execute()
        else:
            r = env.execute_sql(s)
            if s.upper().startswith("INSERT"):
                last = r
    if last is not None:
        last.wait()
    print("flink: done")


if __name__ == "__main__":
    main()
