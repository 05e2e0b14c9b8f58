#!/usr/bin/env bash
# The main job on the embedded default: a broker with the topics from topics/, data in ./data.
# Extra arguments go to `riverbank broker` (e.g. --listen 0.0.0.0:9092).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
echo "run: building riverbank (release)…" >&2
swift build -c release --product riverbank 2>&1 | grep -E "error|warning: unre|Compiling riverbank|Build complete" >&2 || true
BIN="$(swift build -c release --show-bin-path)/riverbank"
[[ -x "$BIN" ]] || { echo "run: build failed" >&2; exit 1; }
exec "$BIN" broker --data-dir "${RIVERBANK_DATA_DIR:-./data}" --topics-dir topics \
  --listen "${RIVERBANK_LISTEN:-127.0.0.1:9092}" --metrics-listen "${RIVERBANK_METRICS_LISTEN:-127.0.0.1:9644}" "$@"
