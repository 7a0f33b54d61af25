#!/usr/bin/env bash
# e2e_test — a whole farm (real PostgreSQL, coordinator, worker, NNG, crun)
# driven over HTTP exactly as Package Hunter's README drives it with curl.
#   e2e_test.sh SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
farm_init e2e "$1" "$2" "$3"
nonce=$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
trap 'farm_cleanup; rm -f /tmp/scanfarm-marker-"$nonce"' EXIT
"$src/scripts/farm.sh" up || { echo "FAIL - farm did not start"; exit 1; }

# The probe package, packed like `npm pack` (package/ at the top).
mkdir -p "$work/pkg/package"
cp "$src/tests/packages/sandbox-probe/"* "$work/pkg/package/"
echo "$nonce" >"$work/pkg/package/nonce.txt"
tar -czf "$work/probe.tgz" -C "$work/pkg" package


# --- Package Hunter's README, verbatim in spirit: curl --data-binary @file
reply=$(curl -s -H 'Content-Type: application/octet-stream' --data-binary @"$work/probe.tgz" \
  "$url/monitor/project/npm")
id=$(jq -r .id <<<"$reply")
ok "submit answers {status: ok, id}" '[ "$(jq -r .status <<<"$reply")" = ok ] && [ ${#id} -eq 36 ]'
ph=$(wait_scan "$id")
ok "scan finishes" '[ "$(jq -r .status <<<"$ph")" = finished ]'
ok "Package Hunter result is an alert list" '[ "$(jq -r ".result | type" <<<"$ph")" = array ]'
report=$(curl -s "$url/v1/scans/$id")
out=$(jq -r .install.stdout_tail <<<"$report")
probe() { grep -q "^PROBE $1=$2\$" <<<"$out"; }
ok "install exited 0" '[ "$(jq -r .install.exit_status <<<"$report")" = 0 ]'
ok "postinstall ran (its output is in the report)" 'grep -q "^PROBE marker=written$" <<<"$out"'
host=$(sed -n 's/^PROBE hostname=//p' <<<"$out")
ok "ran in the sandbox's uts namespace, named like a CI runner's job ($host)" \
  '[[ "$host" =~ ^runner-[a-z0-9]{8}-project-[0-9]+-concurrent-[0-3](-[a-z0-9]{8})?$ ||
     "$host" =~ ^[a-z0-9-]+-[a-z0-9]{5}-runner-[a-z0-9]{5}$ ]] && [ "$host" != "$(hostname)" ]'
ok "ran as the unprivileged sandbox user" 'probe uid 1000'
ok "ran in its own pid namespace" '[ "$(sed -n "s/^PROBE pid=//p" <<<"$out")" -lt 100 ]'
ok "network namespace has loopback only" 'probe interfaces lo'
# the sinkhole network (the default): the connection reaches the sandbox's own
# sinkhole, which records it; nothing leaves (network_test.sh, also offline)
ok "outbound connection answered inside the sandbox only" 'probe connect CONNECTED'
ok "the scan ran in the sinkhole network" '[ "$(jq -r .network <<<"$report")" = sinkhole ]'
ok "the sinkhole recorded the connection" \
  'jq -e ".facts.tcp_data[] | select(.value == \"198.51.100.7:80/tcp\")" <<<"$report" >/dev/null'
ok "root file system is read-only" 'probe etc_write EROFS'
ok "package directory is writable" 'probe pkg_write ok'
ok "no capabilities" 'probe capeff 0000000000000000'
ok "the marker it wrote is not on the host" '[ ! -e /tmp/scanfarm-marker-$nonce ]'
ok "no container left behind" '[ -z "$(ls "$work/worker/runtime-state" 2>/dev/null)" ]'
ok "job directory removed" 'eventually "[ -z \"\$(ls \"$work/worker/jobs\" 2>/dev/null)\" ]"'

# --- the same bytes again: answered from the verdict cache (same rules, same
# sandbox image, a live worker), unless a rescan is asked for
jobs_before=$(psql "$dsn" -tAc "SELECT count(*) FROM jobs")
reply_cached=$(curl -s -H 'Content-Type: application/octet-stream' --data-binary @"$work/probe.tgz" \
  "$url/monitor/project/npm")
ok "resubmission answered from the verdict cache" \
  '[ "$(jq -r .id <<<"$reply_cached")" = "$id" ] && [ "$(jq -r .cached <<<"$reply_cached")" = true ]'
ok "a cached answer queues no job" '[ "$(psql "$dsn" -tAc "SELECT count(*) FROM jobs")" = "$jobs_before" ]'
ok "cache hits are counted" 'curl -s "$url/metrics" | grep "^scanfarm_verdict_cache_hits_total 1$" >/dev/null'
digest=$("$build/worker/scanfarm-rules" check "$src/rules" | sed -n 's/.*digest //p')
ok "the scan records the rules' digest" '[ "$(psql "$dsn" -tAc "SELECT ruleset_digest FROM scans WHERE id = '"'"'$id'"'"'")" = "$digest" ]'
reply2=$(curl -s -H 'Content-Type: application/octet-stream' --data-binary @"$work/probe.tgz" \
  "$url/monitor/project/npm?rescan=1")
id2=$(jq -r .id <<<"$reply2")
ok "rescan=1 gets a new scan id" '[ "$id2" != "$id" ] && [ ${#id2} -eq 36 ] && [ "$(jq -r .cached <<<"$reply2")" = null ]'
ok "artifact stored once" '[ "$(find "$work/artifacts/objects" -type f | wc -l)" = 1 ]'
workers=$(curl -s "$url/v1/workers")
ok "GET /v1/workers lists the live worker with its digests" \
  'jq -e --arg d "$digest" ".workers | length == 1 and .[0].state == \"live\" and .[0].ruleset_digest == \$d and (.[0].image_digest | length) == 64 and .[0].sensor == \"ebpf\"" <<<"$workers" >/dev/null'
ok "GET /readyz: ready" '[ "$(curl -s "$url/readyz" | jq -r .status)" = ready ]'
sha=$(jq -r .artifact.sha256 <<<"$report")
ok "artifact sha256 matches sha256sum" '[ "$sha" = "$(sha256sum "$work/probe.tgz" | cut -d" " -f1)" ]'
ok "artifact download by hash" 'curl -fs "$url/v1/artifacts/$sha" | cmp -s - "$work/probe.tgz"'
wait_scan "$id2" >/dev/null

# --- the CLI: scan = submit + wait + report; exit 0 = clean, 1 = alerts. The probe
# connects to 198.51.100.7, which the sensor reports.
"$build/cli/scanfarm" --server "$url" scan "$work/probe.tgz" >"$work/cli.json" 2>"$work/cli.err"
cli_rc=$?
ok "scanfarm scan exits 1: the probe's connection attempt raised an alert" '[ "$cli_rc" = 1 ]'
ok "the alert is the outbound connection attempt" 'jq -e "[.alerts[].rule] | index(\"Outbound connection attempt\")" "$work/cli.json" >/dev/null'
ok "the attempt is a fact" 'jq -e ".facts.connect[] | select(.value == \"198.51.100.7:80/tcp\")" "$work/cli.json" >/dev/null'
ok "scanfarm scan prints the finished report" '[ "$(jq -r .status "$work/cli.json")" = finished ]'
ok "scanfarm status prints Package Hunter's view" '"$build/cli/scanfarm" --server "$url" status "$(jq -r .id "$work/cli.json")" | jq -e ".status == \"finished\"" >/dev/null'

# --- noisy output: 300 MiB to stdout blocks the writer instead of failing it,
# and the tail keeps what follows a NUL byte (escaped as \0)
mkdir -p "$work/noisy/package"; cp "$src/tests/packages/noisy-output/"* "$work/noisy/package/"
tar -czf "$work/noisy.tgz" -C "$work/noisy" package
nid=$(curl -s -H 'Content-Type: application/octet-stream' --data-binary @"$work/noisy.tgz" \
  "$url/monitor/project/npm" | jq -r .id)
wait_scan "$nid" >/dev/null
noisy=$(curl -s "$url/v1/scans/$nid")
ok "noisy output: finished, install exited 0 ($(jq -r '"\(.status) \(.install.exit_status)"' <<<"$noisy"))" \
  '[ "$(jq -r .status <<<"$noisy")" = finished ] && [ "$(jq -r .install.exit_status <<<"$noisy")" = 0 ]'
ntail=$(jq -r .install.stdout_tail <<<"$noisy")
ok "noisy output: the tail ends with the last line, past the NUL" \
  'grep -q "^before-nul\\\\0after-nul: still here$" <<<"$ntail" &&
   [ "$(tail -n1 <<<"$ntail")" = "noisy-output: DONE" ]'

# --- cancel: a running scan ends as failed with the reason; the worker's late
# result is discarded as stale
mkdir -p "$work/slow/package"; cp "$src/tests/packages/slow-install/"* "$work/slow/package/"
tar -czf "$work/slow.tgz" -C "$work/slow" package
sid=$(curl -s -H 'Content-Type: application/octet-stream' --data-binary @"$work/slow.tgz" \
  "$url/monitor/project/npm" | jq -r .id)
for _ in $(seq 1 100); do
  [ "$(curl -s "$url/v1/scans/$sid" | jq -r .status)" = running ] && break; sleep 0.1
done
stale_before=$(curl -s "$url/metrics" | sed -n 's/^scanfarm_batches_stale_total //p')
cancel=$(curl -s -X POST "$url/v1/scans/$sid/cancel")
ok "cancel a running scan" '[ "$(jq -r .status <<<"$cancel")" = cancelled ]'
st=$(curl -s "$url/v1/scans/$sid" | jq -r '"\(.status) \(.reason)"')
ok "cancelled scan is failed with the reason ($st)" '[ "$st" = "failed cancelled by request" ]'
ok "Package Hunter view: error" '[ "$(curl -s "$url/?id=$sid" | jq -r .status)" = error ]'
ok "cancelling again: 409" '[ "$(curl -s -o /dev/null -w "%{http_code}" -X POST "$url/v1/scans/$sid/cancel")" = 409 ]'
ok "cancel with GET: 405" '[ "$(curl -s -o /dev/null -w "%{http_code}" "$url/v1/scans/$sid/cancel")" = 405 ]'
ok "cancel of an unknown scan: 404" \
  '[ "$(curl -s -o /dev/null -w "%{http_code}" -X POST "$url/v1/scans/00000000-0000-4000-8000-000000000000/cancel")" = 404 ]'
for _ in $(seq 1 100); do
  stale=$(curl -s "$url/metrics" | sed -n 's/^scanfarm_batches_stale_total //p')
  [ "$stale" -gt "$stale_before" ] && break; sleep 0.2
done
ok "the worker's late result was discarded ($stale_before -> $stale)" '[ "$stale" -gt "$stale_before" ]'
ok "the cancelled scan stays failed" '[ "$(curl -s "$url/v1/scans/$sid" | jq -r .status)" = failed ]'

# --- a hostile tarball: refused by the worker, the scan says why
mkdir -p "$work/evil"; echo '{}' >"$work/evil/package.json"
tar -czf "$work/evil.tgz" -C "$work/evil" package.json --transform 's,^,../../,' -P
reply=$(curl -s -H 'Content-Type: application/octet-stream' --data-binary @"$work/evil.tgz" \
  "$url/monitor/project/npm")
ph=$(wait_scan "$(jq -r .id <<<"$reply")")
ok "hostile tarball: status error" '[ "$(jq -r .status <<<"$ph")" = error ]'
ok "hostile tarball: reason given" 'jq -r .reason <<<"$ph" | grep -q "archive refused"'
ok "hostile tarball: result kept on error (the alerts so far)" '[ "$(jq -r ".result | type" <<<"$ph")" = array ]'

# --- not a tarball at all
reply=$(curl -s -H 'Content-Type: application/octet-stream' --data-binary 'hello' \
  "$url/monitor/project/npm")
ph=$(wait_scan "$(jq -r .id <<<"$reply")")
ok "garbage upload: status error with a reason" '[ "$(jq -r .status <<<"$ph")" = error ] && [ -n "$(jq -r .reason <<<"$ph")" ]'

# --- structured logs: --log-format json writes one JSON object per line,
# messages with quotes, tabs and newlines (libpq's) escaped
"$build/coordinator/scanfarm-coordinator" --log-format json --db-dsn "host=/nonexistent dbname=x" \
  2>"$work/json.log" >/dev/null
ok "JSON logs: every line parses, with time, level, component and message" \
  '[ -s "$work/json.log" ] && jq -e "select(.level == \"ERROR\" and .component == \"coordinator\" and (.time | test(\"Z$\")) and (.msg | length > 0))" "$work/json.log" >/dev/null && [ "$(jq -s length "$work/json.log")" = "$(wc -l <"$work/json.log")" ] && grep -q "socket" "$work/json.log"'
"$build/coordinator/scanfarm-coordinator" --log-format yaml >/dev/null 2>&1
ok "--log-format yaml: refused (exit 2)" '[ $? -eq 2 ]'

# --- API errors are JSON with a status code
code=$(curl -s -o "$work/body" -w '%{http_code}' "$url/?id=00000000-0000-4000-8000-000000000000")
ok "unknown id: 404 JSON" '[ "$code" = 404 ] && jq -e .error.code "$work/body" >/dev/null'
code=$(curl -s -o /dev/null -w '%{http_code}' "$url/?id=not-a-uuid")
ok "malformed id: 404" '[ "$code" = 404 ]'
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$url/monitor/project/npm")
ok "wrong method: 405" '[ "$code" = 405 ]'
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/octet-stream' --data-binary @/dev/null "$url/monitor/project/npm")
ok "empty body: 400" '[ "$code" = 400 ]'
code=$(curl -s -o /dev/null -w '%{http_code}' --data-binary x "$url/monitor/project/pip")
ok "unsupported ecosystem: 400" '[ "$code" = 400 ]'
ok "coordinator still up" 'curl -fs "$url/healthz" >/dev/null'

# --- garbage and oversized messages on the results socket: dropped, counted, harmless
results=tcp://127.0.0.1:$SCANFARM_RESULTS_PORT
timeout 20 "$build/tests/nng_send" "$results" random 1000
timeout 20 "$build/tests/nng_send" "$results" zeros 64
printf '\xdd\xff\xff\xff\xff' >"$work/hostile.bin"   # array32 claiming 4 billion items
timeout 20 "$build/tests/nng_send" "$results" file "$work/hostile.bin"
timeout 20 "$build/tests/nng_send" "$results" random $((9 * 1024 * 1024)) 2>/dev/null # over the 8 MiB cap
sleep 0.5
malformed=$(curl -s "$url/metrics" | sed -n 's/^scanfarm_messages_malformed_total //p')
ok "malformed messages counted ($malformed)" '[ "${malformed:-0}" -ge 3 ]'
# ... and as requests on the jobs socket
jobs=req+tcp://127.0.0.1:$SCANFARM_JOBS_PORT
timeout 20 "$build/tests/nng_send" "$jobs" random 1000
timeout 20 "$build/tests/nng_send" "$jobs" file "$work/hostile.bin"
timeout 20 "$build/tests/nng_send" "$jobs" random $((9 * 1024 * 1024)) 2>/dev/null
sleep 0.5
malformed_jobs=$(curl -s "$url/metrics" | sed -n 's/^scanfarm_messages_malformed_total //p')
ok "malformed job requests counted ($malformed -> $malformed_jobs)" '[ "${malformed_jobs:-0}" -ge $((malformed + 2)) ]'
ok "metrics show the queue" 'curl -s "$url/metrics" | grep "^scanfarm_jobs{state=\"done\"} [1-9]" >/dev/null'
curl -s "$url/metrics" >"$work/metrics.txt"
metric() { sed -n "s/^$1 //p" "$work/metrics.txt"; }
ok "metrics: one live worker" '[ "$(metric "scanfarm_workers{state=\"live\"}")" = 1 ]'
ok "metrics: upload bytes counted ($(metric scanfarm_upload_bytes_total))" '[ "$(metric scanfarm_upload_bytes_total)" -ge "$(stat -c %s "$work/probe.tgz")" ]'
ok "metrics: request durations, +Inf bucket = count ($(metric scanfarm_http_request_duration_seconds_count))" \
  '[ "$(metric scanfarm_http_request_duration_seconds_count)" -gt 10 ] && [ "$(metric "scanfarm_http_request_duration_seconds_bucket{le=\"+Inf\"}")" = "$(metric scanfarm_http_request_duration_seconds_count)" ]'
reply=$(curl -s -H 'Content-Type: application/octet-stream' --data-binary @"$work/probe.tgz" \
  "$url/monitor/project/npm")
ph=$(wait_scan "$(jq -r .id <<<"$reply")")
ok "scans still complete after the garbage" '[ "$(jq -r .status <<<"$ph")" = finished ]'

# --- the /v1 submit: what the artifact is, how urgent, 201 with the id
mkdir -p "$work/v1pkg/package"; cp -R "$src/samples/hello-npm/"* "$work/v1pkg/package/"
echo '// v1' >>"$work/v1pkg/package/postinstall.js"
tar -czf "$work/v1.tgz" -C "$work/v1pkg" package
v1reply=$(curl -s -w '\n%{http_code}' -H 'Content-Type: application/octet-stream' \
  --data-binary @"$work/v1.tgz" "$url/v1/scans?name=hello-npm&version=1.0.0&labels=nightly,team-a&priority=-5")
v1code=$(tail -n1 <<<"$v1reply"); v1body=$(head -n1 <<<"$v1reply"); v1id=$(jq -r .id <<<"$v1body")
ok "POST /v1/scans: 201 queued with the id ($v1code)" '[ "$v1code" = 201 ] && [ "$(jq -r .status <<<"$v1body")" = queued ] && [ ${#v1id} -eq 36 ]'
wait_scan "$v1id" >/dev/null
v1rep=$(curl -s "$url/v1/scans/$v1id")
ok "the report carries name, version and labels" \
  '[ "$(jq -c "[.name, .version, .labels]" <<<"$v1rep")" = "[\"hello-npm\",\"1.0.0\",[\"nightly\",\"team-a\"]]" ]'
ok "the job has the asked priority" '[ "$(psql "$dsn" -tAc "SELECT priority FROM jobs j JOIN scans s ON s.id = j.scan_id WHERE s.id = '"'"'$v1id'"'"'")" = -5 ]'
ok "a Package Hunter submission has no labels" '[ "$(jq -c .labels <<<"$report")" = "[]" ]'
ok "bad priority: 400" '[ "$(curl -s -o /dev/null -w "%{http_code}" --data-binary @"$work/v1.tgz" "$url/v1/scans?priority=9999")" = 400 ]'
ok "unsupported ecosystem on /v1: 400" '[ "$(curl -s -o /dev/null -w "%{http_code}" --data-binary @"$work/v1.tgz" "$url/v1/scans?ecosystem=pip")" = 400 ]'
v1again=$(curl -s --data-binary @"$work/v1.tgz" "$url/v1/scans" | jq -r '"\(.id) \(.cached)"')
ok "resubmitting on /v1 is answered from the verdict cache ($v1again)" '[ "$v1again" = "$v1id true" ]'

# --- listing scans: newest first, filters, cursor paging that neither skips nor repeats
total=$(psql "$dsn" -tAc "SELECT count(*) FROM scans")
seen="" cursor="" pages=0
while :; do
  page=$(curl -s "$url/v1/scans?limit=2${cursor:+&cursor=$cursor}")
  seen+=$(jq -r '.scans[].id' <<<"$page")$'\n'
  cursor=$(jq -r '.next_cursor // empty' <<<"$page")
  pages=$((pages + 1))
  [ -n "$cursor" ] && [ "$pages" -lt 50 ] || break
done
listed=$(grep -c . <<<"$seen")
ok "paging through GET /v1/scans lists every scan once ($listed of $total in $pages pages)" \
  '[ "$listed" = "$total" ] && [ "$(grep . <<<"$seen" | sort -u | wc -l)" = "$total" ] && [ "$pages" -gt 1 ]'
first=$(curl -s "$url/v1/scans?limit=1" | jq -r '.scans[0].id')
ok "newest first" '[ "$first" = "$(psql "$dsn" -tAc "SELECT id FROM scans ORDER BY created_at DESC, id DESC LIMIT 1")" ]'
ok "status filter" 'curl -s "$url/v1/scans?status=failed" | jq -e "(.scans | length) > 0 and all(.scans[]; .status == \"failed\")" >/dev/null'
ok "artifact filter" 'curl -s "$url/v1/scans?artifact=$sha" | jq -e "(.scans | length) >= 2 and all(.scans[]; .artifact.sha256 == \"$sha\")" >/dev/null'
ok "bad limit: 400" '[ "$(curl -s -o /dev/null -w "%{http_code}" "$url/v1/scans?limit=0")" = 400 ]'
ok "bad cursor: 400" '[ "$(curl -s -o /dev/null -w "%{http_code}" "$url/v1/scans?cursor=x_y")" = 400 ]'
ok "bad status: 400" '[ "$(curl -s -o /dev/null -w "%{http_code}" "$url/v1/scans?status=nope")" = 400 ]'

# --- a clean shutdown, and no sanitizer report from either daemon
"$src/scripts/farm.sh" down >/dev/null 2>&1
ok "daemons stopped" '! pgrep -f "$work/" >/dev/null'
ok "no sanitizer findings in the daemons' logs" '! grep -E "Sanitizer|runtime error:" "$work/log/"*.log'

farm_finish
