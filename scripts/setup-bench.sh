#!/usr/bin/env bash
# What `make bench` needs beyond `make setup`: numpy and scikit-learn for the benchmark adapter
# (bench/ml_adapter.py), from Debian's python3-sklearn (as root, with apt-get), else a warning
# (the benchmark that needs them is skipped). Optional: msgpack, from Debian's python3-msgpack, for
# the Python MessagePack figures of BENCH_ONLY=encoding (without it they are skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(cat .snakepit/python)
has_ml() { "$PY" -c 'import numpy, sklearn' >/dev/null 2>&1; }
has_msgpack() { "$PY" -c 'import msgpack' >/dev/null 2>&1; }
has_ml && has_msgpack && exit 0
can_apt() { command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && [ "$PY" = /usr/bin/python3 ]; }
export DEBIAN_FRONTEND=noninteractive
if ! has_ml && can_apt; then
  echo "[setup] installing Debian's python3-sklearn (numpy, scikit-learn) for the benchmarks"
  apt-get install -y -qq python3-sklearn >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null && apt-get install -y -qq python3-sklearn >/dev/null; }
fi
if ! has_msgpack && can_apt; then
  echo "[setup] installing Debian's python3-msgpack for BENCH_ONLY=encoding (optional)"
  apt-get install -y -qq --no-install-recommends python3-msgpack >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends python3-msgpack >/dev/null; } || true
fi
has_msgpack || echo "[setup] note: no msgpack for $PY: BENCH_ONLY=encoding skips its Python MessagePack figures ('sudo apt-get install python3-msgpack', or '$PY -m pip install msgpack')." >&2
has_ml || {
  echo "[setup] warning: no numpy and scikit-learn for $PY: the fork vs spawn benchmark is skipped." >&2
  echo "[setup] To run it: 'sudo apt-get install python3-sklearn' (Debian's /usr/bin/python3), or '$PY -m pip install numpy scikit-learn'." >&2
}
