#!/usr/bin/env bash
# scripts/pg.sh — a throwaway PostgreSQL cluster for a local farm and the tests.
#
#   scripts/pg.sh start [DIR]   initialise (once) and start; prints the DSN
#   scripts/pg.sh stop [DIR]
#   scripts/pg.sh crash [DIR]   stop as a crash would (-m immediate: no checkpoint,
#                               WAL not yet written is lost); `start` recovers
#   scripts/pg.sh dsn [DIR]
#
# DIR defaults to var/pg. PostgreSQL refuses to run as root, so the cluster
# runs as the `postgres` user; it listens only on a Unix socket in DIR/run.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cmd=${1:-start}
dir=${2:-${SCANFARM_PG_DIR:-$top/var/pg}}
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bindir" ] || { echo "pg.sh: PostgreSQL is not installed (scripts/setup.sh packages)" >&2; exit 1; }

as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$1"; else sh -c "$1"; fi; }

# The postgres user must be able to reach DIR; a checkout under a private
# home directory is not reachable, so fall back to a directory it can use.
mkdir -p "$dir"
if [ "$(id -u)" = 0 ] && ! su postgres -s /bin/sh -c "test -x '$dir'" 2>/dev/null; then
  alt=/var/tmp/scanfarm-pg-$(printf '%s' "$dir" | sha256sum | cut -c1-12)
  mkdir -p "$alt"; dir=$alt
fi
data=$dir/data run=$dir/run
dsn="host=$run dbname=scanfarm user=postgres"

case "$cmd" in
  start)
    mkdir -p "$run"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir" "$run"
    if [ ! -f "$data/PG_VERSION" ]; then
      mkdir -p "$data"; [ "$(id -u)" = 0 ] && chown postgres:postgres "$data"
      as_pg "'$bindir/initdb' -D '$data' -A trust -U postgres --no-sync -E UTF8 >'$dir/initdb.log' 2>&1"
    fi
    if ! as_pg "'$bindir/pg_ctl' -D '$data' status" >/dev/null 2>&1; then
      as_pg "'$bindir/pg_ctl' -D '$data' -w -t 60 -l '$dir/server.log' -o \"-k '$run' -c listen_addresses='' ${SCANFARM_PG_OPTS:-}\" start" >/dev/null
    fi
    as_pg "'$bindir/psql' -h '$run' -U postgres -tAc \"SELECT 1 FROM pg_database WHERE datname='scanfarm'\"" | grep -q 1 ||
      as_pg "'$bindir/createdb' -h '$run' -U postgres scanfarm"
    echo "$dsn" ;;
  stop)
    if [ -f "$data/PG_VERSION" ]; then
      as_pg "'$bindir/pg_ctl' -D '$data' -w -m fast stop" >/dev/null 2>&1 || true
    fi ;;
  crash)
    as_pg "'$bindir/pg_ctl' -D '$data' -w -m immediate stop" >/dev/null ;;
  dsn) echo "$dsn" ;;
  *) echo "usage: $0 start|stop|crash|dsn [DIR]" >&2; exit 2 ;;
esac
