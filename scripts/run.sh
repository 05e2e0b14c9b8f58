#!/usr/bin/env bash
# The main job on the embedded default: `riverbank run` (broker with topics/, the job runner
# with jobs/fraud-scoring.yaml and jobs/merchant-risk.yaml, which turns the generator's delayed
# fraud reports into the merchant risk the scoring reads; data in ./data, metrics on 127.0.0.1:9644), the labelled
# transaction generator, and the live alert view — one line per alert, a summary every 5 s —
# until Ctrl-C. Extra arguments go to `riverbank run` (e.g. --listen 0.0.0.0:9092).
# RIVERBANK_RATE (transactions/s, default 200) and RIVERBANK_CUSTOMERS (default 10000) tune
# the generator; RIVERBANK_NO_GENERATOR=1 runs the stack without it (produce your own).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
echo "run: building riverbank (release)…" >&2
swift build -c release --product riverbank 2>&1 | grep -E "error|warning: unre|Compiling riverbank|Build complete" >&2 || true
BIN="$(swift build -c release --show-bin-path)/riverbank"
[[ -x "$BIN" ]] || { echo "run: build failed" >&2; exit 1; }

LISTEN=127.0.0.1:9092
for ((i = 1; i <= $#; i++)); do
  case "${!i}" in
    --listen) j=$((i + 1)); LISTEN="${!j}" ;;
    --listen=*) LISTEN="${!i#--listen=}" ;;
  esac
done
BOOTSTRAP="${LISTEN/0.0.0.0/127.0.0.1}"
mkdir -p data
LOG=data/riverbank.log

pids=()
cleanup() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup INT TERM EXIT

# RIVERBANK_* environment variables apply as for `riverbank broker`.
"$BIN" run --job jobs/fraud-scoring.yaml --job jobs/merchant-risk.yaml "$@" >"$LOG" 2>&1 &
pids+=($!)
echo "run: riverbank run started (log: $LOG); waiting for the broker on $BOOTSTRAP…" >&2
for _ in $(seq 1 300); do
  grep -q "riverbank broker listening" "$LOG" 2>/dev/null && break
  kill -0 "${pids[0]}" 2>/dev/null || { cat "$LOG" >&2; echo "run: riverbank run exited" >&2; exit 1; }
  sleep 0.1
done
grep -q "riverbank broker listening" "$LOG" || { cat "$LOG" >&2; echo "run: the broker did not start" >&2; exit 1; }
sed -n '/listening/p' "$LOG" >&2

if [[ "${RIVERBANK_NO_GENERATOR:-0}" != 1 ]]; then
  "$BIN" generate --bootstrap "$BOOTSTRAP" --rate "${RIVERBANK_RATE:-200}" --customers "${RIVERBANK_CUSTOMERS:-10000}" \
    >data/generator.log 2>&1 &
  pids+=($!)
  echo "run: generating ${RIVERBANK_RATE:-200} transactions/s to 'transactions' (labels to 'transactions-labels', delayed fraud reports to 'fraud-feedback'; log: data/generator.log)" >&2
fi
echo "run: alerts from 'fraud-alerts' below (any Kafka tool sees them: kcat -C -b $BOOTSTRAP -t fraud-alerts); Ctrl-C stops everything" >&2
"$BIN" fraud watch --bootstrap "$BOOTSTRAP" &
pids+=($!)
wait "${pids[-1]}" || true
