#!/usr/bin/env bash
# A real STAC API on loopback for integration tests: a throwaway PostgreSQL 15 + PostGIS cluster
# with pgstac (pypgstac migrate) and stac-fastapi-pgstac under uvicorn, both on 127.0.0.1 only.
#   source Scripts/stac-api/start.sh; start_stac_api DIR; ...; stop_stac_api
#       sets and exports STAC_API_URL, STAC_API_DSN (for load.py), STAC_API_PYTHON
#   Scripts/stac-api/start.sh DIR          start, print the exports; stop later with:
#   Scripts/stac-api/start.sh --stop DIR
# DIR gets the cluster, the logs (postgres.log, uvicorn.log) and env (the exports, mode 600).
# Needs Scripts/bootstrap --test (postgresql-15, postgresql-15-postgis-3); makes the venv itself.
# Both servers stop on their own after TANDEM_STAC_API_TIMEOUT seconds (default 7200) even when
# the caller dies without calling stop_stac_api. STAC_API_CONTEXT (on|off|auto, default on) is
# pgstac's `context` setting: with `on` every search answers numberMatched.
# STAC_API_USE_API_HYDRATE (default true) is stac-fastapi-pgstac's USE_API_HYDRATE.
# Not `set -e` at the top level: this file is also sourced; the functions run under errexit.

_stac_api_dir() { cd "$(dirname "${BASH_SOURCE[0]}")" && pwd; }
STAC_API_SCRIPTS=$(_stac_api_dir)
PG_BIN=/usr/lib/postgresql/15/bin

# Postgres refuses to run as root: as root, the cluster belongs to the Debian package's
# `postgres` user (nobody where the package made none).
_stac_api_pg_user() {
  if [[ $(id -u) -ne 0 ]]; then
    id -un
  elif id postgres >/dev/null 2>&1; then
    echo postgres
  else
    echo nobody
  fi
}

# Runs a postgres binary as the cluster's owner.
_stac_api_as_pg() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u "$STAC_API_PG_USER" -- "$@"
  else
    "$@"
  fi
}

_stac_api_free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_stac_api DIR: starts both servers, then exports what DIR/env says.
start_stac_api() {
  _start_stac_api "$1" || return 1
  # shellcheck disable=SC1091
  source "$1/env"
}

# The work, in a subshell: errexit, and no half-set variables left in the caller on failure.
_start_stac_api() (
  set -euo pipefail
  local dir
  dir=$(mkdir -p "$1" && cd "$1" && pwd)
  local timeout=${TANDEM_STAC_API_TIMEOUT:-7200}
  local context=${STAC_API_CONTEXT:-on}
  local t0=$SECONDS

  STAC_API_PG_USER=$(_stac_api_pg_user)
  local python
  python=$("$STAC_API_SCRIPTS/venv.sh")

  # The cluster's owner must reach DIR: open its path to others for traversal (not listing).
  chmod o+x "$dir"
  # Throwaway: a cluster left in DIR by an earlier run is stopped and replaced.
  _stop_stac_api_dir "$dir"
  rm -rf "$dir/pgdata"
  mkdir -p "$dir/pgdata"
  : >"$dir/postgres.log"
  chown "$STAC_API_PG_USER" "$dir/pgdata" "$dir/postgres.log" 2>/dev/null || true
  chmod 700 "$dir/pgdata"
  if ! _stac_api_as_pg test -w "$dir/pgdata"; then
    echo "start_stac_api: $STAC_API_PG_USER cannot write $dir/pgdata (is a parent of $dir private?)" >&2
    return 1
  fi

  # A fresh password per cluster (loopback only, but other local users could connect).
  local password
  password=$(/usr/bin/python3 -c 'import secrets; print(secrets.token_hex(16))')
  local pwfile="$dir/pgdata.pw"
  (umask 077 && echo "$password" >"$pwfile")
  chown "$STAC_API_PG_USER" "$pwfile" 2>/dev/null || true
  _stac_api_as_pg "$PG_BIN/initdb" -D "$dir/pgdata" -U postgres --pwfile="$pwfile" \
    --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; return 1; }
  rm -f "$pwfile"

  local pg_port
  pg_port=$(_stac_api_free_port)
  # TCP on 127.0.0.1 only and no Unix socket (nothing in /var/run); fsync off: throwaway data,
  # and the 10k-item load is write-bound.
  cat >>"$dir/pgdata/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 50
shared_buffers = 128MB
CONF
  _stac_api_as_pg "$PG_BIN/pg_ctl" -D "$dir/pgdata" -l "$dir/postgres.log" -w -t 60 start >/dev/null ||
    { tail -20 "$dir/postgres.log" >&2; return 1; }
  echo "$STAC_API_PG_USER" >"$dir/pg.user"

  local dsn="postgresql://postgres:$password@127.0.0.1:$pg_port/postgis"
  PGPASSWORD=$password "$PG_BIN/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres postgis
  "$python" -m pypgstac.pypgstac migrate --dsn "$dsn" >"$dir/migrate.log" 2>&1 ||
    { cat "$dir/migrate.log" >&2; return 1; }
  PGPASSWORD=$password "$PG_BIN/psql" -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgis \
    -v ON_ERROR_STOP=1 -c "UPDATE pgstac.pgstac_settings SET value = '$context' WHERE name = 'context'"

  local api_port
  api_port=$(_stac_api_free_port)
  # cwd DIR: the app's settings also read a ./.env, which must not be some stray one.
  (
    cd "$dir"
    export PGUSER=postgres PGPASSWORD=$password PGHOST=127.0.0.1 PGPORT=$pg_port PGDATABASE=postgis
    export STAC_FASTAPI_TITLE="Tandem test STAC API" STAC_FASTAPI_LANDING_ID=tandem-test
    export STAC_FASTAPI_DESCRIPTION="pgstac on loopback for Tandem's integration tests"
    export STAC_FASTAPI_VERSION=test
    # Items are hydrated in the API (Rust hydraters) instead of in plpgsql: the same documents,
    # half the time per page (10k items in 100 pages: 12 s instead of 25 s on a loaded machine).
    export USE_API_HYDRATE=${STAC_API_USE_API_HYDRATE:-true}
    exec "$python" -m uvicorn stac_fastapi.pgstac.app:create_app --factory --host 127.0.0.1 --port "$api_port" \
      --log-level warning --no-access-log
  ) </dev/null >"$dir/uvicorn.log" 2>&1 &
  echo $! >"$dir/uvicorn.pid"

  local url="http://127.0.0.1:$api_port"
  local up=0
  for _ in $(seq 300); do
    if curl -fsS -o /dev/null "$url/" 2>/dev/null && curl -fsS -o /dev/null "$url/search?limit=1" 2>/dev/null; then
      up=1
      break
    fi
    if ! kill -0 "$(cat "$dir/uvicorn.pid")" 2>/dev/null; then break; fi
    sleep 0.1
  done
  if [[ $up != 1 ]]; then
    echo "start_stac_api: stac-fastapi-pgstac did not answer on $url" >&2
    tail -30 "$dir/uvicorn.log" >&2
    _stop_stac_api_dir "$dir"
    return 1
  fi

  # Watchdog: a detached process (own session, no inherited fds, so `$(...)` callers do not wait
  # on it) that stops both servers after the timeout. stop_stac_api kills it first.
  # Its own process group too, so the stop can end its sleep with it.
  setsid bash -c 'sleep "$1" & wait $!; source "$2/start.sh"; _stop_stac_api_dir "$3"' _ \
    "$timeout" "$STAC_API_SCRIPTS" "$dir" </dev/null >/dev/null 2>&1 &
  echo $! >"$dir/watchdog.pid"

  (
    umask 077
    {
      echo "export STAC_API_URL=$url"
      echo "export STAC_API_DSN=$dsn"
      echo "export STAC_API_PYTHON=$python"
      echo "export STAC_API_DIR=$dir"
    } >"$dir/env"
  )
  echo "stac-api: $url (pgstac on 127.0.0.1:$pg_port, up in $((SECONDS - t0)) s, stops itself in ${timeout} s)" >&2
)

# Stops what start_stac_api started in DIR; safe to call twice or after a failed start.
_stop_stac_api_dir() {
  local dir=$1 pid
  for f in watchdog uvicorn; do
    if [[ -f "$dir/$f.pid" ]]; then
      pid=$(cat "$dir/$f.pid")
      rm -f "$dir/$f.pid"
      if [[ $f == watchdog ]]; then
        # The watchdog calls this too: it must not kill itself before stopping the servers.
        [[ $pid == "${BASHPID:-}" ]] || kill -- "-$pid" 2>/dev/null || true
        continue
      fi
      kill "$pid" 2>/dev/null || true
      # Let uvicorn close its pool before postgres goes (no "terminating connection" noise).
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  if [[ -f "$dir/pgdata/postmaster.pid" ]]; then
    STAC_API_PG_USER=$(cat "$dir/pg.user" 2>/dev/null || _stac_api_pg_user)
    _stac_api_as_pg "$PG_BIN/pg_ctl" -D "$dir/pgdata" -m fast -w -t 30 stop >/dev/null 2>&1 || true
  fi
}

# stop_stac_api [DIR] (default: $STAC_API_DIR from start_stac_api); trap-able.
stop_stac_api() {
  local dir=${1:-${STAC_API_DIR:-}}
  [[ -n "$dir" ]] || return 0
  _stop_stac_api_dir "$dir"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  case "${1:-}" in
    --stop)
      stop_stac_api "${2:?usage: start.sh --stop DIR}"
      ;;
    "" | -*)
      echo "usage: $0 DIR | $0 --stop DIR" >&2
      exit 2
      ;;
    *)
      _start_stac_api "$1"
      cat "$1/env"
      ;;
  esac
fi
