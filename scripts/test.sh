#!/usr/bin/env bash
# Every test: Swift unit tests, then the real-client interop suite (kcat, confluent-kafka,
# kafka-python, aiokafka) against broker processes started from the freshly built binary.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --test

echo "== swift build" >&2
swift build --build-tests 2>&1 | grep -Ev "^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Wrapping|Write|Linking|Merging|Building|Planning)" || true
swift build --build-tests >/dev/null   # fail here, loudly, if the build is broken

echo "== swift test" >&2
log=$(mktemp)
set +e
swift test --skip-build > "$log" 2>&1
status=$?
set -e
grep -E "✘|error|failed|passed after|Executed|Test run with" "$log" | tail -n 60
if [[ $status -ne 0 ]]; then echo "swift test failed ($status); full log: $log" >&2; exit $status; fi

echo "== interop (real Kafka clients)" >&2
export RIVERBANK_BIN="$(swift build --show-bin-path)/riverbank"
python3 -m pytest -q -p no:cacheprovider Tests/interop "$@"
