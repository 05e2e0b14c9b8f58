#!/usr/bin/env bash
# The main job on the embedded default: `riverbank run` (the broker, and the rest of Riverbank
# as it lands, in one process) with the topics from topics/, data in ./data, metrics on
# 127.0.0.1:9644. Extra arguments go to `riverbank run` (e.g. --listen 0.0.0.0:9092).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
echo "run: building riverbank (release)…" >&2
swift build -c release --product riverbank 2>&1 | grep -E "error|warning: unre|Compiling riverbank|Build complete" >&2 || true
BIN="$(swift build -c release --show-bin-path)/riverbank"
[[ -x "$BIN" ]] || { echo "run: build failed" >&2; exit 1; }
# RIVERBANK_* environment variables apply as for `riverbank broker`.
exec "$BIN" run "$@"
