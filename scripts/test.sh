#!/usr/bin/env bash
# Every test: Swift unit tests (KafkaClient against Riverbank and Tansu), then the real-client
# interop suite (kcat, confluent-kafka, kafka-python, aiokafka) against broker processes started
# from the freshly built binary.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --test
# setup.sh installed every peer (kcat, openssl, Tansu): one still missing is a failure, not a skip.
export RIVERBANK_REQUIRE_PEERS="${RIVERBANK_REQUIRE_PEERS:-1}"

echo "== swift build" >&2
swift build --build-tests 2>&1 | grep -Ev "^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Wrapping|Write|Linking|Merging|Building|Planning)" || true
swift build --build-tests >/dev/null   # fail here, loudly, if the build is broken

echo "== swift test" >&2
log=$(mktemp)
set +e
timeout 1500 swift test --skip-build > "$log" 2>&1   # a hung test fails the run instead of stalling CI
status=$?
set -e
grep -E "✘|recorded an issue|skipped|Test run with|Executed [0-9]+ tests" "$log" | tail -n 60
if [[ $status -ne 0 ]]; then
  tail -n 80 "$log"
  echo "swift test failed ($status); full log: $log" >&2
  exit $status
fi

echo "== interop (real Kafka clients)" >&2
export RIVERBANK_BIN="$(swift build --show-bin-path)/riverbank"
timeout 2400 python3 -m pytest -q -p no:cacheprovider Tests/interop "$@"
