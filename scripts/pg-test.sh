#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server on 127.0.0.1 for the tests (never a system service).
#   scripts/pg-test.sh start        -> prints URL=postgresql+psycopg://... and DIR=<data dir>
#   scripts/pg-test.sh stop DIR     -> stops it and deletes DIR
# initdb refuses to run as root: as root the server runs as the 'postgres' user (created by the
# Debian package) or, failing that, a 'rustest' user created here.
set -euo pipefail
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
cmd="${1:-}"

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u "$PGUSER_OS" -- "$@"; else "$@"; fi
}

pick_user() {
  PGUSER_OS="$(id -un)"
  if [ "$(id -u)" = 0 ]; then
    if id postgres >/dev/null 2>&1; then PGUSER_OS=postgres
    else id rustest >/dev/null 2>&1 || useradd --system --no-create-home rustest; PGUSER_OS=rustest
    fi
  fi
}

case "$cmd" in
  start)
    [ -x "$PGBIN/initdb" ] || { echo "pg-test: $PGBIN/initdb not found (apt-get install postgresql)" >&2; exit 3; }
    pick_user
    DIR="$(mktemp -d "${TMPDIR:-/tmp}/rus-pg.XXXXXX")"
    chmod 700 "$DIR"
    [ "$(id -u)" = 0 ] && chown "$PGUSER_OS" "$DIR"
    PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
    as_owner "$PGBIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 --no-sync >"$DIR/initdb.log" 2>&1 \
      || { cat "$DIR/initdb.log" >&2; exit 4; }
    as_owner "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $PORT -k $DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >/dev/null || { cat "$DIR/server.log" >&2; exit 5; }
    echo "URL=postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
    echo "DIR=$DIR"
    ;;
  stop)
    DIR="${2:?usage: pg-test.sh stop DIR}"
    pick_user
    [ -d "$DIR/data" ] && as_owner "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$DIR"
    ;;
  *)
    echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
