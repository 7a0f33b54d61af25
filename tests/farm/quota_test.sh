#!/usr/bin/env bash
# quota_test — quotas per API token and the audit log (the attack-resistance
# issue), on a farm with --auth on:
#   - the coordinator's default (3 submissions a minute): the 4th submission
#     of a token is answered 429 with Retry-After and a JSON reason; reading
#     stays allowed;
#   - a token with its own limits (token limits): none a minute — five pass;
#     100 bytes a day — a bigger upload is 429 until the next UTC day, and an
#     upload that does not announce its size is 411;
#   - every use of a token is an audit line (token, address, request), and so
#     is every refusal; token list shows the limits.
#   quota_test.sh SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
farm_init quota "$1" "$2" "$3"
trap 'farm_cleanup' EXIT
export SCANFARM_AUTH=on
export SCANFARM_COORDINATOR_OPTS="--quota-submissions-per-minute 3 --quota-bytes-per-day 1000000"
"$src/scripts/farm.sh" up || { echo "FAIL - farm did not start"; exit 1; }
coord=$build/coordinator/scanfarm-coordinator
new_token() { "$coord" --db-dsn "$dsn" token create "$1" 2>/dev/null; }
ta=$(new_token ci-a) tb=$(new_token ci-b) tc=$(new_token ci-c)
idb=$(psql "$dsn" -tAc "SELECT id FROM api_tokens WHERE name = 'ci-b'")
idc=$(psql "$dsn" -tAc "SELECT id FROM api_tokens WHERE name = 'ci-c'")
"$coord" --db-dsn "$dsn" token limits "$idb" 0 default >/dev/null 2>&1
"$coord" --db-dsn "$dsn" token limits "$idc" default 100 >/dev/null 2>&1
ok "token limits set a token's own quotas; token list shows them" \
  '"$coord" --db-dsn "$dsn" token list 2>/dev/null | grep -Eq "^$idb +ci-b .* 0 +default$" &&
   "$coord" --db-dsn "$dsn" token list 2>/dev/null | grep -Eq "^$idc +ci-c .* default +100$"'
ok "token limits refuses what is not a number" \
  '! "$coord" --db-dsn "$dsn" token limits "$idb" lots default 2>/dev/null'

mkdir -p "$work/pkg/package"; cp -R "$src/samples/hello-npm/"* "$work/pkg/package/"
tar -czf "$work/hello.tgz" -C "$work/pkg" package
submit() { # submit TOKEN [CURL-ARGS…] → "CODE RETRY-AFTER"
  local tok=$1; shift
  curl -s -o "$work/last.json" -D "$work/last.h" -w '%{http_code}' -H "Authorization: Bearer $tok" \
    -H 'Content-Type: application/octet-stream' "$@" "$url/v1/scans?rescan=1"
  printf ' %s\n' "$(tr -d '\r' <"$work/last.h" | sed -n 's/^Retry-After: //ip')"
}
# four submissions inside one minute: wait out a minute about to end
[ "$(date +%-S)" -gt 45 ] && sleep $((61 - $(date +%-S)))
codes=()
for _ in 1 2 3 4; do codes+=("$(submit "$ta" --data-binary @"$work/hello.tgz")"); done
ok "the default quota: three submissions pass (${codes[*]:0:3})" \
  '[[ "${codes[0]}" =~ ^20[012]\  ]] && [[ "${codes[1]}" =~ ^20[012]\  ]] && [[ "${codes[2]}" =~ ^20[012]\  ]]'
read -r c4 ra4 <<<"${codes[3]}"
ok "the fourth: 429, Retry-After $ra4 s (within the minute), a JSON reason" \
  '[ "$c4" = 429 ] && [ "$ra4" -ge 1 ] && [ "$ra4" -le 60 ] &&
   [ "$(jq -r .error.code "$work/last.json")" = quota_exceeded ] && jq -r .reason "$work/last.json" | grep -q "3 submissions a minute" &&
   [ "$(jq -r .retry_after "$work/last.json")" = "$ra4" ]'
ok "reading with the same token is not a submission" \
  '[ "$(curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $ta" "$url/v1/scans")" = 200 ]'
bcodes=()
for _ in 1 2 3 4 5; do bcodes+=("$(submit "$tb" --data-binary @"$work/hello.tgz" | cut -d' ' -f1)"); done
ok "a token with no limit a minute: five pass (${bcodes[*]})" '! printf "%s\n" "${bcodes[@]}" | grep -qv "^20[012]$"'
read -r cc rac <<<"$(submit "$tc" --data-binary @"$work/hello.tgz")"
ok "a token of 100 bytes a day: a $(stat -c %s "$work/hello.tgz")-byte upload is 429 until the next day (Retry-After $rac)" \
  '[ "$cc" = 429 ] && [ "$rac" -gt 60 ] && [ "$rac" -le 86400 ] && jq -r .error.message "$work/last.json" | grep -q "100 bytes a day"'
read -r cl _ <<<"$(submit "$tc" -H 'Transfer-Encoding: chunked' --data-binary @"$work/hello.tgz")"
ok "an upload that does not announce its size, on a byte quota: 411" '[ "$cl" = 411 ]'
log=$work/log/coordinator.log
ida=$(psql "$dsn" -tAc "SELECT id FROM api_tokens WHERE name = 'ci-a'")
ok "every use of a token is an audit line: token, address, request" \
  '[ "$(grep -c "audit: token $ida (ci-a) from 127.0.0.1: POST /v1/scans$" "$log")" -ge 4 ] &&
   grep -q "audit: token $ida (ci-a) from 127.0.0.1: GET /v1/scans$" "$log"'
ok "and every refusal" \
  'grep -q "audit: token $ida (ci-a) from 127.0.0.1: POST /v1/scans refused: submissions quota spent" "$log" &&
   grep -q "audit: token $idc (ci-c) from 127.0.0.1: POST /v1/scans refused: bytes quota spent" "$log" &&
   grep -q "audit: token $idc (ci-c) from 127.0.0.1: POST /v1/scans refused: no Content-Length" "$log"'
ok "no token in the log" '! grep -qF "$ta" "$log" && ! grep -qF "$tc" "$log"'
farm_finish
