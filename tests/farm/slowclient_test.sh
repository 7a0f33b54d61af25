#!/usr/bin/env bash
# slowclient_test — the API under slow clients (the attack-resistance issue):
#   - 300 connections dripping header bytes and 300 stalled uploads (whole
#     headers, 3 body bytes, then nothing) held at once from other loopback
#     addresses: /healthz on the API port and on the operations listener,
#     /readyz, and a routed database-backed GET all answered within a
#     second meanwhile;
#   - the drippers are cut at --header-timeout; the stalled uploads are not
#     (their bodies have the idle timeout) and hold nothing else up;
#   - one address gets --max-connections-per-ip connections, no more;
#   - a body trickling in past the header deadline is not cut;
#   - /metrics counts the cuts; the coordinator is still up and accepts a
#     real submission afterwards.
#   slowclient_test.sh SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
farm_init slowclient "$1" "$2" "$3"
trap 'farm_cleanup' EXIT
ops=$((port + 5))
export SCANFARM_COORDINATOR_OPTS="--header-timeout 3 --max-connections-per-ip 40 --ops-address 127.0.0.1:$ops"
"$src/scripts/farm.sh" up || { echo "FAIL - farm did not start"; exit 1; }
ok "the operations listener answers /healthz, /readyz, /metrics and nothing else" \
  '[ "$(curl -s -o /dev/null -w "%{http_code}" "http://127.0.0.1:$ops/healthz")" = 200 ] &&
   [ "$(curl -s -o /dev/null -w "%{http_code}" "http://127.0.0.1:$ops/readyz")" = 200 ] &&
   grep -q "^scanfarm_http_connections " <<<"$(curl -s "http://127.0.0.1:$ops/metrics")" &&
   [ "$(curl -s -o /dev/null -w "%{http_code}" "http://127.0.0.1:$ops/v1/scans")" = 404 ]'

res=$(python3 "$src/tests/tools/slow_clients.py" 127.0.0.1 "$port" "$ops" 3 40)
echo "$res" >"$work/slow.json"
echo "# $res"
ok "600 slow connections held at once" '[ "$(jq .held <<<"$res")" = 600 ]'
ok "meanwhile every probe answered, the slowest in $(jq .probe_max_s <<<"$res") s (< 1 s)" \
  '[ "$(jq .probe_failed <<<"$res")" = 0 ] && [ "$(jq .probes <<<"$res")" -ge 40 ] &&
   jq -e ".probe_max_s < 1" <<<"$res" >/dev/null'
ok "the 300 header drippers were cut at the header deadline" '[ "$(jq .drip_closed <<<"$res")" = 300 ]'
ok "the 300 stalled uploads were not (their bodies have the idle timeout)" '[ "$(jq .stall_closed <<<"$res")" = 0 ]'
ok "one address got 40 connections, the 20 beyond were refused; others still served" \
  '[ "$(jq .per_ip_refused <<<"$res")" = 20 ] && [ "$(jq -r ".per_ip_probe[1]" <<<"$res")" = 200 ]'
ok "a body trickling in past the header deadline was not cut" '[ "$(jq .slowbody_open <<<"$res")" = true ]'
ok "/metrics counts the header timeouts" \
  '[ "$(curl -s "http://127.0.0.1:$ops/metrics" | awk "/^scanfarm_http_header_timeouts_total /{print \$2}")" -ge 300 ]'
pkg=$work/pkg.tgz
tar -czf "$pkg" -C "$src/tests/packages" benign-banner
sid=$(curl -s -H 'Content-Type: application/octet-stream' --data-binary @"$pkg" "$url/monitor/project/npm" | jq -r '.id // empty')
ok "the coordinator still takes a submission and scans it" \
  '[ ${#sid} -eq 36 ] && [ "$(wait_scan "$sid" | jq -r .status)" = finished ]'
farm_finish
