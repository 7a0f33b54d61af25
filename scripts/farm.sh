#!/usr/bin/env bash
# scripts/farm.sh — run a local scanfarm: PostgreSQL, one coordinator, one worker.
#
#   scripts/farm.sh demo        set up, build, start, scan the bundled sample, print it
#   scripts/farm.sh up          set up, build and start the farm in the background
#   scripts/farm.sh scan FILE   submit a tarball the Package Hunter way and print the result
#   scripts/farm.sh down        stop what `up` started
#
# Environment (defaults in brackets):
#   SCANFARM_VAR [var]  state: artifacts, logs, pids, worker scratch, local PostgreSQL
#   SCANFARM_BUILD [build]  CMake build directory holding the binaries
#   SCANFARM_DB_DSN  external PostgreSQL; unset = a local cluster under $SCANFARM_VAR/pg
#   SCANFARM_HTTP_PORT [3000] SCANFARM_JOBS_PORT [7301] SCANFARM_RESULTS_PORT [7302]
#   SCANFARM_RUNTIME [crun]  SCANFARM_ROOTFS [var/rootfs.img]  SCANFARM_SKIP_SETUP [0]
#   SCANFARM_NPM_REGISTRY [https://registry.npmjs.org/]  the one npm registry: the
#     coordinator resolves package references there, workers fetch dependency trees there
#   SCANFARM_NPM_REGISTRY_AUTH  file with the registry's token: the worker's gateway adds
#     it to the fetch phase's requests, the coordinator to its package references'
#   SCANFARM_NPM_REGISTRY_CA  PEM CA certificates to verify the registry with (both)
#   SCANFARM_PYPI_INDEX [https://pypi.org/simple]  the PEP 503 simple index, and
#   SCANFARM_GEM_SOURCE [https://rubygems.org]  the gem source: the coordinator resolves
#     pypi and rubygems package references there, workers' fetch phases of PyPI and
#     RubyGems scans fetch from there ("" for none); SCANFARM_PYPI_INDEX_AUTH,
#     SCANFARM_PYPI_INDEX_CA, SCANFARM_GEM_SOURCE_AUTH, SCANFARM_GEM_SOURCE_CA as for npm
#   SCANFARM_COORDINATOR_OPTS / SCANFARM_WORKER_OPTS  more options of each, e.g.
#     "--ops-address 127.0.0.1:3001"; SCANFARM_NNG_SCHEME [tcp]: tls+tcp for TLS links
#   SCANFARM_URL [http://127.0.0.1:$SCANFARM_HTTP_PORT]  the API as this script reaches it
#     (https://… with --http-tls-cert), SCANFARM_CURL_OPTS e.g. "--cacert ca.pem"
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
var=$(mkdir -p "${SCANFARM_VAR:-$top/var}" && cd "${SCANFARM_VAR:-$top/var}" && pwd)
build=${SCANFARM_BUILD:-$top/build}
http_port=${SCANFARM_HTTP_PORT:-3000}
jobs_port=${SCANFARM_JOBS_PORT:-7301}
results_port=${SCANFARM_RESULTS_PORT:-7302}
url=${SCANFARM_URL:-http://127.0.0.1:$http_port}
nng=${SCANFARM_NNG_SCHEME:-tcp}
# shellcheck disable=SC2206 # options are words
curl_opts=(${SCANFARM_CURL_OPTS:-}) coord_opts=(${SCANFARM_COORDINATOR_OPTS:-}) worker_opts=(${SCANFARM_WORKER_OPTS:-})
npm_registry=${SCANFARM_NPM_REGISTRY:-https://registry.npmjs.org/}

log() { printf '[farm] %s\n' "$*" >&2; }
# A process that exists and is not a zombie (a daemon killed -9 stays one
# until reaped, and where pid 1 reaps nothing that is for ever).
alive() { kill -0 "$1" 2>/dev/null && [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]; }

up() {
  if [ "${SCANFARM_SKIP_SETUP:-0}" != 1 ]; then
    "$top/scripts/setup.sh" all
  fi
  if [ ! -x "$build/coordinator/scanfarm-coordinator" ] || [ ! -x "$build/worker/scanfarm-worker" ]; then
    log "building into $build"
    cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$build" -j"$(nproc)" >/dev/null
  fi
  mkdir -p "$var/log" "$var/run"
  local wlog_from; wlog_from=$(( $(stat -c %s "$var/log/worker.log" 2>/dev/null || echo 0) + 1 ))
  local dsn=${SCANFARM_DB_DSN:-}
  if [ -z "$dsn" ]; then
    dsn=$("$top/scripts/pg.sh" start "$var/pg")
    touch "$var/run/local-pg"
  fi
  for d in coordinator worker; do
    if [ -f "$var/run/$d.pid" ] && alive "$(cat "$var/run/$d.pid")"; then
      log "$d already running (pid $(cat "$var/run/$d.pid"))"
      [ "$d" = worker ] && wlog_from=1
      continue
    fi
    case $d in
      coordinator)
        local coordauth=()
        [ -n "${SCANFARM_NPM_REGISTRY_AUTH:-}" ] && coordauth+=(--npm-registry-auth "$SCANFARM_NPM_REGISTRY_AUTH")
        [ -n "${SCANFARM_NPM_REGISTRY_CA:-}" ] && coordauth+=(--npm-registry-ca "$SCANFARM_NPM_REGISTRY_CA")
        [ -n "${SCANFARM_PYPI_INDEX:-}" ] && coordauth+=(--pypi-index "$SCANFARM_PYPI_INDEX")
        [ -n "${SCANFARM_PYPI_INDEX_AUTH:-}" ] && coordauth+=(--pypi-index-auth "$SCANFARM_PYPI_INDEX_AUTH")
        [ -n "${SCANFARM_PYPI_INDEX_CA:-}" ] && coordauth+=(--pypi-index-ca "$SCANFARM_PYPI_INDEX_CA")
        [ -n "${SCANFARM_GEM_SOURCE:-}" ] && coordauth+=(--gem-source "$SCANFARM_GEM_SOURCE")
        [ -n "${SCANFARM_GEM_SOURCE_AUTH:-}" ] && coordauth+=(--gem-source-auth "$SCANFARM_GEM_SOURCE_AUTH")
        [ -n "${SCANFARM_GEM_SOURCE_CA:-}" ] && coordauth+=(--gem-source-ca "$SCANFARM_GEM_SOURCE_CA")
        "$build/coordinator/scanfarm-coordinator" --db-dsn "$dsn" \
          --http-address "127.0.0.1:$http_port" --store-dir "$var/artifacts" \
          --jobs-url "$nng://127.0.0.1:$jobs_port" --results-url "$nng://127.0.0.1:$results_port" \
          --npm-registry "$npm_registry" "${coordauth[@]}" "${coord_opts[@]}" \
          >>"$var/log/coordinator.log" 2>&1 &
        ;;
      worker)
        # a private registry's credential (and CA): the worker's alone
        local regauth=()
        [ -n "${SCANFARM_NPM_REGISTRY_AUTH:-}" ] && regauth+=(--npm-registry-auth "$SCANFARM_NPM_REGISTRY_AUTH")
        [ -n "${SCANFARM_NPM_REGISTRY_CA:-}" ] && regauth+=(--npm-registry-ca "$SCANFARM_NPM_REGISTRY_CA")
        regauth+=(--pypi-index "${SCANFARM_PYPI_INDEX-https://pypi.org/simple/}"
          --gem-source "${SCANFARM_GEM_SOURCE-https://rubygems.org/}")
        [ -n "${SCANFARM_PYPI_INDEX_AUTH:-}" ] && regauth+=(--pypi-index-auth "$SCANFARM_PYPI_INDEX_AUTH")
        [ -n "${SCANFARM_PYPI_INDEX_CA:-}" ] && regauth+=(--pypi-index-ca "$SCANFARM_PYPI_INDEX_CA")
        [ -n "${SCANFARM_GEM_SOURCE_AUTH:-}" ] && regauth+=(--gem-source-auth "$SCANFARM_GEM_SOURCE_AUTH")
        [ -n "${SCANFARM_GEM_SOURCE_CA:-}" ] && regauth+=(--gem-source-ca "$SCANFARM_GEM_SOURCE_CA")
        "$build/worker/scanfarm-worker" --jobs-url "$nng://127.0.0.1:$jobs_port" \
          --results-url "$nng://127.0.0.1:$results_port" --work-dir "$var/worker" \
          --rootfs "${SCANFARM_ROOTFS:-$top/var/rootfs.img}" --runtime "${SCANFARM_RUNTIME:-crun}" \
          --rules "${SCANFARM_RULES:-$top/rules}" --npm-registry "$npm_registry" \
          "${regauth[@]}" "${worker_opts[@]}" >>"$var/log/worker.log" 2>&1 &
        ;;
    esac
    echo $! >"$var/run/$d.pid"
  done
  for _ in $(seq 1 100); do
    if ! alive "$(cat "$var/run/worker.pid")"; then
      log "the worker did not start; see $var/log/worker.log"
      tail -n 20 "$var/log/worker.log" >&2 || true
      return 1
    fi
    if curl -fsS "${curl_opts[@]}" "$url/healthz" >/dev/null 2>&1 &&
      tail -c +"$wlog_from" "$var/log/worker.log" 2>/dev/null | grep -q ' ready: '; then
      log "farm up at $url (logs in $var/log)"; return 0
    fi
    alive "$(cat "$var/run/coordinator.pid")" || break
    sleep 0.2
  done
  log "the farm did not come up; see $var/log/coordinator.log and worker.log"
  tail -n 20 "$var/log/coordinator.log" "$var/log/worker.log" >&2 || true
  return 1
}

down() {
  for d in worker coordinator; do
    local f=$var/run/$d.pid
    [ -f "$f" ] || continue
    local pid; pid=$(cat "$f")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do alive "$pid" || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$f"
  done
  if [ -f "$var/run/local-pg" ]; then
    "$top/scripts/pg.sh" stop "$var/pg"; rm -f "$var/run/local-pg"
  fi
  log "farm stopped"
}

# Submits exactly as Package Hunter's users do, then polls until the scan ends.
scan() {
  local file=$1 timeout=${SCANFARM_SCAN_TIMEOUT:-600}
  local reply id status
  reply=$(curl -fsS -H 'Content-Type: application/octet-stream' --data-binary @"$file" \
    "$url/monitor/project/npm")
  id=$(jq -r .id <<<"$reply")
  log "submitted $file: scan $id"
  for _ in $(seq 1 $((timeout * 2))); do
    status=$(curl -fsS "$url/?id=$id" | jq -r .status)
    [ "$status" != pending ] && break
    sleep 0.5
  done
  curl -fsS "$url/v1/scans/$id" | jq .
  log "Package Hunter view: $(curl -fsS "$url/?id=$id")"
  [ "$status" = finished ]
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  scan) [ $# -eq 2 ] || { echo "usage: $0 scan FILE" >&2; exit 2; }; scan "$2" ;;
  demo)
    up
    tgz=$var/scanfarm-sample-hello.tgz
    tar -czf "$tgz" -C "$top/samples" hello-npm --transform 's,^hello-npm,package,'
    scan "$tgz"
    log "the farm keeps running: scripts/farm.sh scan FILE, or scripts/farm.sh down" ;;
  *) sed -n '2,16p' "$0" >&2; exit 2 ;;
esac
