#!/usr/bin/env bash
# auth_test — API tokens and the worker secret on a whole farm: /v1 needs a
# live token (created and revoked with the coordinator's token command),
# Package Hunter's routes stay open unless configured, artifacts need the
# worker secret, and a worker without the secret is ignored.
#   auth_test.sh SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
farm_init auth "$1" "$2" "$3"
rogue=
trap '[ -n "$rogue" ] && kill "$rogue" 2>/dev/null; farm_cleanup' EXIT
export SCANFARM_AUTH=on SCANFARM_WORKER_SECRET="s3cret-$$-$RANDOM"
"$src/scripts/farm.sh" up || { echo "FAIL - farm did not start"; exit 1; }
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

ok "/v1 without a token: 401" '[ "$(code "$url/v1/scans")" = 401 ]'
ok "/v1 with a made-up token: 401" '[ "$(code -H "Authorization: Bearer sft_$(printf %064d 0)" "$url/v1/scans")" = 401 ]'
ok "health, readiness and metrics stay open" '[ "$(code "$url/healthz")" = 200 ] && [ "$(code "$url/readyz")" = 200 ] && [ "$(code "$url/metrics")" = 200 ]'

token=$("$build/coordinator/scanfarm-coordinator" --db-dsn "$dsn" token create ci 2>"$work/token.err")
ok "token create prints a token" '[[ "$token" =~ ^sft_[0-9a-f]{64}$ ]]'
ok "only its hash is stored" '[ "$(psql "$dsn" -tAc "SELECT count(*) FROM api_tokens WHERE token_sha256 = encode(sha256('"'"'$token'"'"'), '"'"'hex'"'"')")" = 1 ] && ! psql "$dsn" -tAc "SELECT * FROM api_tokens" | grep -q "$token"'
auth=(-H "Authorization: Bearer $token")
ok "/v1 with the token: 200" '[ "$(code "${auth[@]}" "$url/v1/scans")" = 200 ]'

# Package Hunter's submit stays open (auth-package-hunter is 0); the worker
# fetches the artifact with the secret and its result is accepted.
mkdir -p "$work/pkg/package"; cp -R "$src/samples/hello-npm/"* "$work/pkg/package/"
tar -czf "$work/hello.tgz" -C "$work/pkg" package
id=$(curl -s -H 'Content-Type: application/octet-stream' --data-binary @"$work/hello.tgz" \
  "$url/monitor/project/npm" | jq -r .id)
ph=$(wait_scan "$id")
ok "a scan finishes through the secret-holding worker" '[ "$(jq -r .status <<<"$ph")" = finished ]'
sha=$(sha256sum "$work/hello.tgz" | cut -d' ' -f1)
ok "artifact download without the secret: 401" '[ "$(code "$url/v1/artifacts/$sha")" = 401 ]'
ok "artifact download with an API token instead: 401" '[ "$(code "${auth[@]}" "$url/v1/artifacts/$sha")" = 401 ]'
ok "artifact download with the secret: 200" '[ "$(code -H "Authorization: Bearer $SCANFARM_WORKER_SECRET" "$url/v1/artifacts/$sha")" = 200 ]'
# The CLI's exit status is also the alarm for a false positive: 0 only when
# the scan raised nothing at Notice or above, which the benign sample must not.
"$build/cli/scanfarm" --server "$url" --token "$token" report "$id" >"$work/report.json"
cli_rc=$?
ok "the CLI passes --token" 'jq -e ".status == \"finished\"" "$work/report.json" >/dev/null'
ok "the benign sample raised nothing at Notice or above (CLI exit $cli_rc: $(jq -c "[.alerts[]?.rule]" "$work/report.json"))" '[ "$cli_rc" = 0 ]'
"$build/cli/scanfarm" --server "$url" report "$id" >/dev/null 2>&1
cli_rc=$?
ok "the CLI without a token fails (exit $cli_rc)" '[ "$cli_rc" -ne 0 ]'

# A worker without the secret: its hellos and its requests for jobs are
# dropped and counted, it never appears in the pool and gets no job, even
# when it is the only worker and a scan is waiting.
echo waiting >"$work/pkg/package/nonce.txt" && tar -czf "$work/waiting.tgz" -C "$work/pkg" package
kill -TERM "$(cat "$work/run/worker.pid")"
for _ in $(seq 1 100); do kill -0 "$(cat "$work/run/worker.pid")" 2>/dev/null || break; sleep 0.1; done
before=$(curl -s "$url/metrics" | sed -n 's/^scanfarm_messages_unauthenticated_total //p')
wait_id=$(curl -s "${auth[@]}" -H 'Content-Type: application/octet-stream' \
  --data-binary @"$work/waiting.tgz" "$url/v1/scans" | jq -r .id)
env -u SCANFARM_WORKER_SECRET "$build/worker/scanfarm-worker" --worker-id rogue \
  --work-dir "$work/rogue" --rootfs "$SCANFARM_ROOTFS" --rules "$src/rules" \
  --jobs-url "tcp://127.0.0.1:$((port + 1))" --results-url "tcp://127.0.0.1:$((port + 2))" \
  >"$work/rogue.log" 2>&1 &
rogue=$!
sleep 4
n=$(curl -s "$url/metrics" | sed -n 's/^scanfarm_messages_unauthenticated_total //p')
kill "$rogue"; wait "$rogue" 2>/dev/null; rogue=
ok "the rogue worker's hello and requests were dropped and counted ($before -> $n)" '[ "${n:-0}" -ge $((${before:-0} + 2)) ]'
ok "the rogue worker got no job: the scan still waits" \
  '[ "$(curl -s "${auth[@]}" "$url/v1/scans/$wait_id" | jq -r .status)" = queued ] && ! grep -q " attempt " "$work/rogue.log"'
ok "the pool lists only the real worker" 'curl -s "${auth[@]}" "$url/v1/workers" | jq -e "[.workers[].id] | index(\"rogue\") == null and length == 1" >/dev/null'
"$src/scripts/farm.sh" up >/dev/null 2>&1
ph=$(wait_scan "$wait_id")
ok "the real worker, back, runs the waiting scan" '[ "$(jq -r .status <<<"$ph")" = finished ]'

# Revoking the token closes /v1 to it again.
tid=$(psql "$dsn" -tAc "SELECT id FROM api_tokens WHERE name = 'ci'")
"$build/coordinator/scanfarm-coordinator" --db-dsn "$dsn" token revoke "$tid" 2>/dev/null
ok "revoked token: 401" '[ "$(code "${auth[@]}" "$url/v1/scans")" = 401 ]'
ok "token list shows it revoked" '"$build/coordinator/scanfarm-coordinator" --db-dsn "$dsn" token list | grep -E "^$tid +ci " | grep -qv " -$"'
"$build/coordinator/scanfarm-coordinator" --db-dsn "$dsn" token revoke "$tid" 2>/dev/null
revoke_rc=$?
ok "revoking twice: exit 1 ($revoke_rc)" '[ "$revoke_rc" = 1 ]'

"$src/scripts/farm.sh" down >/dev/null 2>&1
ok "no sanitizer findings in the daemons' logs" '! grep -E "Sanitizer|runtime error:" "$work/log/"*.log'
farm_finish
