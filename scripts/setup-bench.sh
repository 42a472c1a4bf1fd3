#!/usr/bin/env bash
# What `make bench` needs beyond `make setup`: numpy and scikit-learn for the benchmark adapter
# (bench/ml_adapter.py), from Debian's python3-sklearn (as root, with apt-get), else a warning
# (the benchmark that needs them is skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(cat .snakepit/python)
has_ml() { "$PY" -c 'import numpy, sklearn' >/dev/null 2>&1; }
has_ml && exit 0
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && [ "$PY" = /usr/bin/python3 ]; then
  echo "[setup] installing Debian's python3-sklearn (numpy, scikit-learn) for the benchmarks"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq python3-sklearn >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null && apt-get install -y -qq python3-sklearn >/dev/null; }
fi
has_ml || {
  echo "[setup] warning: no numpy and scikit-learn for $PY: the fork vs spawn benchmark is skipped." >&2
  echo "[setup] To run it: 'sudo apt-get install python3-sklearn' (Debian's /usr/bin/python3), or '$PY -m pip install numpy scikit-learn'." >&2
}
