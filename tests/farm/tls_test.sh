#!/usr/bin/env bash
# tls_test — the farm over TLS, with certificates of its own CA made here by
# openssl (the attack-resistance issue):
#   - jobs and results over tls+tcp:// with mutual authentication, the API
#     over HTTPS, the worker verifying both with the farm's CA: a scan of an
#     attack simulation finishes with its alerts (CLI with --cacert);
#   - plain HTTP to the API and a plain tcp:// worker get nothing;
#   - a worker whose certificate comes from another CA gets no job (the
#     queued scan waits), and so does one that expects another name for the
#     coordinator;
#   - the good worker restarted with a rotated certificate (new key, same
#     CA) picks the waiting scan up: nothing lost;
#   - TLS files with a tcp:// URL, or tls+tcp:// without them, stop the
#     worker with a clear error.
#   tls_test.sh SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
farm_init tls "$1" "$2" "$3"
extra=
trap '[ -n "$extra" ] && kill "$extra" 2>/dev/null; farm_cleanup' EXIT

# --- the farm's CA and its certificates (and a stranger's CA)
pki=$work/pki
mkdir -p "$pki"
ca() { # ca NAME: a self-signed CA
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=$1" -keyout "$pki/$1.key" -out "$pki/$1.pem" >/dev/null 2>&1
}
cert() { # cert CA NAME SAN: a certificate of NAME signed by CA
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
    -keyout "$pki/$2.key" -out "$pki/$2.csr" >/dev/null 2>&1 &&
    openssl x509 -req -in "$pki/$2.csr" -CA "$pki/$1.pem" -CAkey "$pki/$1.key" \
      -CAcreateserial -days 2 -extfile <(printf 'subjectAltName=%s\n' "$3") \
      -out "$pki/$2.pem" >/dev/null 2>&1
}
ca farm-ca
ca stranger-ca
cert farm-ca coordinator "DNS:coordinator.farm.internal"
cert farm-ca api "IP:127.0.0.1,DNS:localhost"
cert farm-ca worker-1 "DNS:worker-1"
cert farm-ca worker-1b "DNS:worker-1"
cert stranger-ca intruder "DNS:worker-1"
ok "the test CA issued its certificates" \
  'openssl verify -CAfile "$pki/farm-ca.pem" "$pki/coordinator.pem" "$pki/worker-1.pem" >/dev/null &&
   ! openssl verify -CAfile "$pki/farm-ca.pem" "$pki/intruder.pem" >/dev/null 2>&1'

wopts() { # wopts CERT [SERVER-NAME]
  echo "--tls-cert $pki/$1.pem --tls-key $pki/$1.key --tls-ca $pki/farm-ca.pem" \
    "--tls-server-name ${2:-coordinator.farm.internal} --http-ca $pki/farm-ca.pem"
}
export SCANFARM_NNG_SCHEME=tls+tcp SCANFARM_URL=https://127.0.0.1:$port
export SCANFARM_CURL_OPTS="--cacert $pki/farm-ca.pem"
export SCANFARM_COORDINATOR_OPTS="--tls-cert $pki/coordinator.pem --tls-key $pki/coordinator.key
  --tls-ca $pki/farm-ca.pem --http-tls-cert $pki/api.pem --http-tls-key $pki/api.key"
SCANFARM_WORKER_OPTS=$(wopts worker-1)
export SCANFARM_WORKER_OPTS
"$src/scripts/farm.sh" up || { echo "FAIL - farm did not start"; exit 1; }
https=https://127.0.0.1:$port
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
ok "the API speaks HTTPS with the farm's certificate, and not plain HTTP" \
  '[ "$(code --cacert "$pki/farm-ca.pem" "$https/healthz")" = 200 ] &&
   [ "$(code "http://127.0.0.1:$port/healthz")" = 000 ] &&
   [ "$(code "$https/healthz")" = 000 ]'

cli() { "$build/cli/scanfarm" --server "$https" --cacert "$pki/farm-ca.pem" "$@"; }
mkdir -p "$work/pk" && cp -R "$src/tests/packages/attack-npmrc-stealer" "$work/pk/" &&
  arm "$work/pk/attack-npmrc-stealer"
tar -czf "$work/steal.tgz" -C "$work/pk" attack-npmrc-stealer
out=$(cli --timeout 120 scan "$work/steal.tgz" 2>"$work/cli.err"); rc=$?
id=$(jq -r '.id // empty' <<<"$out")
# (the artifact too came over HTTPS: the API serves nothing else)
ok "a scan over TLS end to end: finished, its alerts in the report (CLI exit $rc)" \
  '[ "$rc" = 1 ] && [ "$(jq -r .status <<<"$out")" = finished ] &&
   [ "$(jq "[.alerts[] | select(.rule == \"Read npm credentials file\")] | length" <<<"$out")" -ge 1 ]' ||
  { cat "$work/cli.err"; tail -n 20 "$work/log/worker.log"; }

# --- strangers get nothing: stop the good worker, queue a scan, try them
"$src/scripts/farm.sh" down >/dev/null 2>&1
export SCANFARM_WORKER_OPTS=""
# shellcheck disable=SC2086 # the options are words
"$build/coordinator/scanfarm-coordinator" \
  --db-dsn "$SCANFARM_DB_DSN" --http-address "127.0.0.1:$port" --store-dir "$work/artifacts" \
  --jobs-url "tls+tcp://127.0.0.1:$((port + 1))" --results-url "tls+tcp://127.0.0.1:$((port + 2))" \
  $SCANFARM_COORDINATOR_OPTS >>"$work/log/coordinator2.log" 2>&1 &
coord=$!
for _ in $(seq 1 50); do [ "$(code --cacert "$pki/farm-ca.pem" "$https/healthz")" = 200 ] && break; sleep 0.2; done
tar -czf "$work/banner.tgz" -C "$src/tests/packages" benign-banner
wait_id=$(curl -s --cacert "$pki/farm-ca.pem" -H 'Content-Type: application/octet-stream' \
  --data-binary @"$work/banner.tgz" "$https/monitor/project/npm?rescan=1" | jq -r '.id // empty')
ok "a scan queued while no worker is trusted" '[ ${#wait_id} -eq 36 ]'
stranger() { # stranger LOG ARGS...: a worker for 8 s
  "$build/worker/scanfarm-worker" --work-dir "$work/w-$1" --rootfs "$SCANFARM_ROOTFS" \
    --rules "$src/rules" --sensor none --npm-registry http://127.0.0.1:9/ "${@:2}" \
    >"$work/$1.log" 2>&1 &
  extra=$!
  sleep 8
  kill "$extra" 2>/dev/null; wait "$extra" 2>/dev/null; extra=
}
# shellcheck disable=SC2046 # the options are words
stranger intruder --jobs-url "tls+tcp://127.0.0.1:$((port + 1))" --results-url "tls+tcp://127.0.0.1:$((port + 2))" $(wopts intruder)
# shellcheck disable=SC2046
stranger wrongname --jobs-url "tls+tcp://127.0.0.1:$((port + 1))" --results-url "tls+tcp://127.0.0.1:$((port + 2))" $(wopts worker-1 not-the-coordinator)
stranger plain --jobs-url "tcp://127.0.0.1:$((port + 1))" --results-url "tcp://127.0.0.1:$((port + 2))"
status=$(curl -s --cacert "$pki/farm-ca.pem" "$https/v1/scans/$wait_id" | jq -r .status)
ok "no stranger got the job: another CA's certificate, a coordinator of another name, plain tcp:// ($status)" \
  '[ "$status" = queued ] && ! grep -q "joined" "$work/log/coordinator2.log"'

# --- the worker again, with a rotated certificate (new key, same CA)
# shellcheck disable=SC2046
"$build/worker/scanfarm-worker" --work-dir "$work/worker" --rootfs "$SCANFARM_ROOTFS" \
  --rules "$src/rules" --npm-registry http://127.0.0.1:9/ \
  --jobs-url "tls+tcp://127.0.0.1:$((port + 1))" --results-url "tls+tcp://127.0.0.1:$((port + 2))" \
  $(wopts worker-1b) >>"$work/log/worker2.log" 2>&1 &
extra=$!
body=$(for _ in $(seq 1 120); do
  b=$(curl -s --cacert "$pki/farm-ca.pem" "$https/v1/scans/$wait_id")
  [ "$(jq -r .status <<<"$b")" = finished ] && { echo "$b"; break; }; sleep 0.5; done)
ok "the rotated worker picked the waiting scan up: nothing lost" \
  '[ "$(jq -r .status <<<"$body")" = finished ] && grep -q "joined" "$work/log/coordinator2.log"'
kill "$extra" 2>/dev/null; wait "$extra" 2>/dev/null; extra=
kill "$coord" 2>/dev/null; wait "$coord" 2>/dev/null

# --- configuration errors are errors, never a downgrade
"$build/worker/scanfarm-worker" --work-dir "$work/w-cfg" --rootfs "$SCANFARM_ROOTFS" --sensor none \
  --rules "$src/rules" --npm-registry http://127.0.0.1:9/ --jobs-url "tcp://127.0.0.1:1" \
  --results-url "tcp://127.0.0.1:2" --tls-cert "$pki/worker-1.pem" --tls-key "$pki/worker-1.key" \
  --tls-ca "$pki/farm-ca.pem" >"$work/cfg1.log" 2>&1; rc1=$?
"$build/worker/scanfarm-worker" --work-dir "$work/w-cfg" --rootfs "$SCANFARM_ROOTFS" --sensor none \
  --rules "$src/rules" --npm-registry http://127.0.0.1:9/ --jobs-url "tls+tcp://127.0.0.1:1" \
  --results-url "tls+tcp://127.0.0.1:2" >"$work/cfg2.log" 2>&1; rc2=$?
ok "TLS files with tcp://, or tls+tcp:// without them: the worker refuses to start ($rc1, $rc2)" \
  '[ "$rc1" != 0 ] && grep -q "TLS files given for a plain URL" "$work/cfg1.log" &&
   [ "$rc2" != 0 ] && grep -q "tls+tcp:// needs --tls-cert" "$work/cfg2.log"'
farm_finish
