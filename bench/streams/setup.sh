#!/usr/bin/env bash
# One-off set-up for the Streams benchmark (bench/streams/run.py) on a fresh Debian machine.
# Idempotent: what is already in place is checked and left alone.
#
#   bench/streams/setup.sh            # Debian packages, Flink venv, peers' venvs
#
# Everything goes under the work dir STREAMS_WORK (default ${TMPDIR:-/tmp}/riverbank-streams-bench):
#   flink/venv/               Python venv with apache-flink==2.3.0 (PyFlink; Java 17 runs the job)
#   flink/run_flink_anchor.py symlink to the shared Flink anchor, so its data/ and results/
#                             land in flink/ here, not in the (read-only) shared tree
#   peers/                    PEERS_DIR of the shared peers harness: venv-baseline, venv-quix,
#                             venv-bytewax, venv-faust (made by its install.sh), data, runs
# Settings (environment):
#   STREAMS_WORK    work dir (see above)
#   STREAMS_SHARED  the shared benchmark tree (default: <repo root>/../shared)
#   STREAMS_PEERS   peers to install (default "baseline quix bytewax faust")
#   FLINK_PYTHON    interpreter for the Flink venv (default python3; PyFlink 2.3 wants 3.9-3.12)
# Exit status 0 when everything is installed, 1 when something failed (the rest is still done).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null || (cd "$HERE/../.." && pwd))
SHARED=${STREAMS_SHARED:-$ROOT/../shared}
SHARED=$(cd "$SHARED" 2>/dev/null && pwd) || { echo "setup: shared tree not found at ${STREAMS_SHARED:-$ROOT/../shared} (set STREAMS_SHARED)" >&2; exit 2; }
[[ -f $SHARED/bench/peers/install.sh && -f $SHARED/bench/flink/run_flink_anchor.py ]] \
  || { echo "setup: $SHARED has no bench/peers/install.sh or bench/flink/run_flink_anchor.py" >&2; exit 2; }
WORK=${STREAMS_WORK:-${TMPDIR:-/tmp}/riverbank-streams-bench}
PEERS=${STREAMS_PEERS:-baseline quix bytewax faust}
FLINK_PY=${FLINK_PYTHON:-python3}
FLINK_SPEC="apache-flink==2.3.0"
failed=()

echo "setup: work dir $WORK, shared tree $SHARED"
mkdir -p "$WORK/flink" "$WORK/peers"

# --- Debian packages ----------------------------------------------------------------------
need_apt=()
for pkg in time openjdk-17-jre-headless python3-venv; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if (( ${#need_apt[@]} )); then
  echo "setup: apt-get install ${need_apt[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null; }; then
    echo "setup: apt-get failed" >&2; failed+=(apt)
  fi
else
  echo "setup: Debian packages present (time, openjdk-17-jre-headless, python3-venv)"
fi
command -v java >/dev/null 2>&1 || { echo "setup: java is not on PATH (Flink needs Java 17)" >&2; failed+=(java); }

# --- Flink (PyFlink 2.3) ----------------------------------------------------------------------
FV=$WORK/flink/venv
ln -sfn "$SHARED/bench/flink/run_flink_anchor.py" "$WORK/flink/run_flink_anchor.py"
ln -sfn "$SHARED/bench/flink/verify_reference.py" "$WORK/flink/verify_reference.py"
flink_ok() {
  [[ -x $FV/bin/python ]] && [[ "$(cat "$FV/.streams-packages" 2>/dev/null)" == "$FLINK_SPEC" ]] \
    && "$FV/bin/python" -c "import pyflink.table, numpy, pandas" >/dev/null 2>&1
}
if flink_ok; then
  echo "setup: flink: already installed ($FV)"
else
  if ! "$FLINK_PY" -c 'import sys; sys.exit(0 if (3, 9) <= sys.version_info[:2] <= (3, 12) else 1)' 2>/dev/null; then
    echo "setup: flink: WARNING: $FLINK_PY is $("$FLINK_PY" -V 2>&1); PyFlink 2.3 supports Python 3.9-3.12 (set FLINK_PYTHON)" >&2
  fi
  echo "setup: flink: installing $FLINK_SPEC with $FLINK_PY ($("$FLINK_PY" -V 2>&1)) -> $FV (log $WORK/flink/install.log)"
  (
    set -e
    [[ -x $FV/bin/python ]] && "$FV/bin/python" -c "import sys" >/dev/null 2>&1 || { rm -rf "$FV"; "$FLINK_PY" -m venv "$FV"; }
    "$FV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip || echo "(pip upgrade failed; going on)"
    "$FV/bin/python" -m pip install -q --disable-pip-version-check "$FLINK_SPEC" numpy pandas
    "$FV/bin/python" -c "import pyflink.table, numpy, pandas"
  ) > "$WORK/flink/install.log" 2>&1
  if [[ $? == 0 ]]; then echo "$FLINK_SPEC" > "$FV/.streams-packages"; echo "   ok"
  else echo "   FAILED; last lines of $WORK/flink/install.log:"; tail -5 "$WORK/flink/install.log" | sed 's/^/   | /'; failed+=(flink); fi
fi

# --- Kafka-native peers (the shared install.sh, PEERS_DIR under the work dir) -----------------
# shellcheck disable=SC2086
if ! PEERS_DIR=$WORK/peers "$SHARED/bench/peers/install.sh" $PEERS; then
  failed+=(peers)
fi

if (( ${#failed[@]} )); then
  echo "setup: FAILED: ${failed[*]}" >&2; exit 1
fi
echo "setup: done. Next: bench/streams/run.py --prepare-only (datasets), then bench/streams/run.py"
