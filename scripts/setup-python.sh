#!/usr/bin/env bash
# Finds a Python 3.9+ that can import grpc and google.protobuf (installing one when it can),
# generates the Python message stubs, and records the interpreter in .snakepit/python.
# Order: $SNAKEPIT_PYTHON, the interpreter recorded last time, the project's .venv,
# python3 on PATH, /usr/bin/python3. When none works: Debian packages (as root, with apt-get),
# else a .venv with pip and priv/python/requirements.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=.snakepit/python
REQUIREMENTS=priv/python/requirements.txt
DEBIAN_PACKAGES="python3-grpcio python3-protobuf"

say() { echo "[setup] $*"; }
usable() { [ -n "$1" ] && "$1" -c 'import sys, grpc, google.protobuf; sys.exit(sys.version_info < (3, 9))' >/dev/null 2>&1; }
absolute() { local p; p=$(command -v "$1" 2>/dev/null) || return 1; "$p" -c 'import sys; print(sys.executable)' 2>/dev/null; }

# An explicit choice is final: say so when it does not work instead of picking another.
if [ -n "${SNAKEPIT_PYTHON:-}" ] && ! usable "$SNAKEPIT_PYTHON"; then
  echo "[setup] error: SNAKEPIT_PYTHON=$SNAKEPIT_PYTHON is not a Python 3.9+ that can import grpc and google.protobuf." >&2
  echo "[setup] Install them for it (pip install -r $REQUIREMENTS), or unset SNAKEPIT_PYTHON to let set-up choose." >&2
  exit 1
fi

choose() {
  local candidate
  for candidate in "${SNAKEPIT_PYTHON:-}" "$(cat "$STATE" 2>/dev/null || true)" .venv/bin/python python3 /usr/bin/python3; do
    if usable "$candidate"; then absolute "$candidate"; return 0; fi
  done
  return 1
}

install_python() {
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "no Python with grpcio and protobuf found: installing Debian packages $DEBIAN_PACKAGES"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq $DEBIAN_PACKAGES >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null && apt-get install -y -qq $DEBIAN_PACKAGES >/dev/null; } || true
    usable /usr/bin/python3 && return 0
  fi
  if command -v python3 >/dev/null 2>&1 && python3 -m venv .venv >/dev/null 2>&1; then
    say "creating .venv and installing $REQUIREMENTS with pip"
    .venv/bin/python -m pip install --quiet -r "$REQUIREMENTS" && return 0
  fi
  return 1
}

PY=$(choose) || {
  install_python || true
  PY=$(choose) || {
    echo "[setup] error: no usable Python found. Snakepit needs Python 3.9+ with the grpcio and protobuf packages." >&2
    echo "[setup] Fix: on Debian/Ubuntu 'sudo apt-get install $DEBIAN_PACKAGES'; elsewhere" >&2
    echo "[setup]      'python3 -m venv .venv && .venv/bin/pip install -r $REQUIREMENTS';" >&2
    echo "[setup] or point SNAKEPIT_PYTHON at an interpreter that has them." >&2
    exit 1
  }
}

mkdir -p .snakepit
if [ "$(cat "$STATE" 2>/dev/null || true)" != "$PY" ]; then
  echo "$PY" >"$STATE"
  say "Python: $PY ($("$PY" -c 'import sys, grpc, google.protobuf as p; print(f"Python {sys.version.split()[0]}, grpcio {grpc.__version__}, protobuf {p.__version__}")'))"
fi

if ! bash scripts/gen-python-stubs.sh "$PY"; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "installing Debian's protobuf-compiler to generate the Python stubs"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler >/dev/null; }
    bash scripts/gen-python-stubs.sh "$PY"
  else
    exit 1
  fi
fi

# numpy and pandas are optional for users (arrays arrive as memoryviews without numpy; DataFrames
# need pandas), but the tests of the data plane use them: Debian's packages, where we can.
has_data() { "$PY" -c 'import numpy, pandas' >/dev/null 2>&1; }
if ! has_data && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && [ "$PY" = /usr/bin/python3 ]; then
  say "installing Debian's python3-numpy and python3-pandas (the data-plane tests use them)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends python3-numpy python3-pandas >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends python3-numpy python3-pandas >/dev/null; } || true
fi
has_data || say "warning: no numpy and pandas for $PY: the tests that need them are skipped ('sudo apt-get install python3-numpy python3-pandas', or '$PY -m pip install numpy pandas')."

# redis-server for the tests of RedisSessionStore (started by the tests on free ports): Debian's
# package, where we can; without it those tests are skipped, saying so.
if ! command -v redis-server >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  say "installing Debian's redis-server (the session-store tests start their own)"
  apt-get install -y -qq --no-install-recommends redis-server >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends redis-server >/dev/null; } || true
fi
command -v redis-server >/dev/null 2>&1 || say "warning: no redis-server: the RedisSessionStore tests are skipped ('sudo apt-get install redis-server', or redis.io/docs/install)."

# nats-server for the tests of remote pools (started by the tests on free ports): Debian's
# package (it lands in /usr/sbin), where we can; without it those tests are skipped, saying so.
has_nats() { command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ]; }
if ! has_nats && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  say "installing Debian's nats-server (the remote-pool tests start their own)"
  apt-get install -y -qq --no-install-recommends nats-server >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends nats-server >/dev/null; } || true
fi
has_nats || say "warning: no nats-server: the remote-pool tests are skipped ('sudo apt-get install nats-server', or docs.nats.io/running-a-nats-service/introduction/installation)."
