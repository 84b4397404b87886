# Sourced by .ci/run (and usable by hand: `source .ci/postgres.sh && start_test_postgres`).
# Starts a throw-away PostgreSQL cluster on 127.0.0.1 (a free port, trust auth, a temp dir)
# for the store's tests, and exports PRISM_TEST_POSTGRES_URL and PRISM_REQUIRE_POSTGRES=1.
# `stop_test_postgres` stops it and removes the directory.

_pg_bin_dir() {
  if command -v initdb >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v initdb)")"
    return
  fi
  local d
  for d in /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ]; then echo "$d"; fi
  done | sort -V | tail -n 1
}

_pg_as_owner() {
  # initdb and postgres refuse to run as root: use a dedicated user then.
  if [ "$(id -u)" = 0 ]; then
    runuser -u "$PRISM_PG_USER" -- "$@"
  else
    "$@"
  fi
}

start_test_postgres() {
  local bin
  bin="$(_pg_bin_dir)"
  if [ -z "$bin" ]; then
    echo "PostgreSQL not found: installing it from Debian's packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bin="$(_pg_bin_dir)"
  fi
  if [ -z "$bin" ]; then
    echo "error: no initdb after installing postgresql" >&2
    return 1
  fi
  PRISM_PG_BIN="$bin"
  PRISM_PG_DIR="$(mktemp -d /tmp/prism-pg.XXXXXX)"
  PRISM_PG_USER="$(id -un)"
  if [ "$(id -u)" = 0 ]; then
    PRISM_PG_USER=prism-pg-test
    id "$PRISM_PG_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$PRISM_PG_USER"
    chown "$PRISM_PG_USER" "$PRISM_PG_DIR"
  fi
  _pg_as_owner "$bin/initdb" -D "$PRISM_PG_DIR/data" -U prism --auth=trust -E UTF8 --locale=C >"$PRISM_PG_DIR/initdb.log" 2>&1 || {
    cat "$PRISM_PG_DIR/initdb.log" >&2
    return 1
  }
  local port tries=0
  while :; do
    port=$((20000 + RANDOM % 40000))
    tries=$((tries + 1))
    # Something already answers there: try another port.
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then continue; fi
    if _pg_as_owner "$bin/pg_ctl" -D "$PRISM_PG_DIR/data" -l "$PRISM_PG_DIR/server.log" -w -t 60 \
      -o "-p $port -k $PRISM_PG_DIR -c listen_addresses=127.0.0.1 -c fsync=${PRISM_PG_FSYNC:-off} -c max_connections=200" start >/dev/null; then
      break
    fi
    if [ "$tries" -ge 5 ]; then
      cat "$PRISM_PG_DIR/server.log" >&2
      return 1
    fi
  done
  "$bin/createdb" -h 127.0.0.1 -p "$port" -U prism prism_test
  export PRISM_TEST_POSTGRES_URL="postgres://prism@127.0.0.1:$port/prism_test"
  export PRISM_REQUIRE_POSTGRES=1
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') for the tests at $PRISM_TEST_POSTGRES_URL"
}

stop_test_postgres() {
  if [ -n "${PRISM_PG_DIR:-}" ] && [ -d "$PRISM_PG_DIR/data" ]; then
    _pg_as_owner "$PRISM_PG_BIN/pg_ctl" -D "$PRISM_PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$PRISM_PG_DIR"
  fi
  PRISM_PG_DIR=""
}
