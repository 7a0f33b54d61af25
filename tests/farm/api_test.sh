#!/usr/bin/env bash
# api_test — the /v1 batch and alert-paging API on a whole farm, driven with
# curl like a nightly job would: upload an artifact without a scan (POST
# /v1/artifacts), submit a batch mixing artifacts, package references the
# coordinator resolves from an npm registry (a fake one on 127.0.0.1: one
# good version, a missing version, a tarball that does not match its
# integrity, a scoped package with only a shasum, a missing package) and
# bad items; see references resolving, then every outcome and the batch's
# counts; page through a scan's alerts (every alert exactly once, filters,
# errors); resubmit the batch and get the scanned bytes from the verdict
# cache without a second download; cancel a reference while it resolves.
#   api_test.sh SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
farm_init api "$1" "$2" "$3"
reg=
trap '[ -n "$reg" ] && kill "$reg" 2>/dev/null; farm_cleanup' EXIT
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
sql() { psql "$dsn" -tAc "$1"; }

# --- the packages, packed as `npm pack` packs them
pack() { # NAME TEST_PACKAGE → $work/NAME.tgz
  mkdir -p "$work/pack/$1"
  cp -R "$src/tests/packages/$2" "$work/pack/$1/package"
  rm -f "$work/pack/$1/package/expect"
  arm "$work/pack/$1/package"
  [ -n "${3:-}" ] && echo "$3" >"$work/pack/$1/package/variant.txt"
  tar -czf "$work/$1.tgz" -C "$work/pack/$1" package
}
pack dropper attack-dropper          # uploaded: several alerts to page through
pack demo benign-banner              # sf-api-demo@1.0.0 in the registry
pack wrong attack-persistence        # served as sf-api-demo@1.0.1 under 1.0.0's integrity
pack scoped benign-banner scoped     # @sf-test/scoped@2.0.0, only a shasum
pack late benign-banner late         # sf-api-demo@1.0.2, cancelled while it resolves
sha() { sha256sum "$1" | cut -d' ' -f1; }

# --- a fake npm registry on loopback: packuments answered after 2 s
regport=$((port + 3))
regurl=http://127.0.0.1:$regport
mkdir -p "$work/registry/-" "$work/registry/@sf-test"
cp "$work/demo.tgz" "$work/registry/-/sf-api-demo-1.0.0.tgz"
cp "$work/wrong.tgz" "$work/registry/-/sf-api-demo-1.0.1.tgz"
cp "$work/late.tgz" "$work/registry/-/sf-api-demo-1.0.2.tgz"
cp "$work/scoped.tgz" "$work/registry/-/scoped-2.0.0.tgz"
integrity() { echo "sha512-$(openssl dgst -sha512 -binary "$1" | base64 -w0)"; }
good=$(integrity "$work/demo.tgz")
jq -n --arg r "$regurl" --arg good "$good" --arg late "$(integrity "$work/late.tgz")" \
  --arg shasum "$(sha1sum "$work/demo.tgz" | cut -d' ' -f1)" '{name: "sf-api-demo", versions: {
    "1.0.0": {name: "sf-api-demo", version: "1.0.0",
              dist: {tarball: "\($r)/-/sf-api-demo-1.0.0.tgz", integrity: $good, shasum: $shasum}},
    "1.0.1": {name: "sf-api-demo", version: "1.0.1",
              dist: {tarball: "\($r)/-/sf-api-demo-1.0.1.tgz", integrity: $good}},
    "1.0.2": {name: "sf-api-demo", version: "1.0.2",
              dist: {tarball: "\($r)/-/sf-api-demo-1.0.2.tgz", integrity: $late}}}}' \
  >"$work/registry/sf-api-demo"
jq -n --arg r "$regurl" --arg shasum "$(sha1sum "$work/scoped.tgz" | cut -d' ' -f1)" \
  '{name: "@sf-test/scoped", versions: {"2.0.0": {name: "@sf-test/scoped", version: "2.0.0",
    dist: {tarball: "\($r)/-/scoped-2.0.0.tgz", shasum: $shasum}}}}' >"$work/registry/@sf-test/scoped"
python3 "$src/tests/tools/fake_registry.py" "$work/registry" "$regport" "$work/registry.log" 2 &
reg=$!
for _ in $(seq 1 50); do curl -s -o /dev/null "$regurl/-/scoped-2.0.0.tgz" && break; sleep 0.1; done
ok "fake registry serves on loopback" '[ "$(code "$regurl/-/scoped-2.0.0.tgz")" = 200 ]'

export SCANFARM_NPM_REGISTRY=$regurl SCANFARM_MAX_BATCH_ITEMS=20 SCANFARM_MAX_BATCH_BYTES=65536
"$src/scripts/farm.sh" up || { echo "FAIL - farm did not start"; exit 1; }

# --- POST /v1/artifacts: bytes stored, no scan
up=$(curl -s -w '\n%{http_code}' -H 'Content-Type: application/octet-stream' \
  --data-binary @"$work/dropper.tgz" "$url/v1/artifacts")
dsha=$(sha "$work/dropper.tgz")
ok "POST /v1/artifacts: 201 with the sha256 ($(tail -n1 <<<"$up"))" \
  '[ "$(tail -n1 <<<"$up")" = 201 ] && [ "$(head -n1 <<<"$up" | jq -r .sha256)" = "$dsha" ]'
ok "the bytes are stored and downloadable" 'curl -fs "$url/v1/artifacts/$dsha" | cmp -s - "$work/dropper.tgz"'
ok "no scan was created" '[ "$(sql "SELECT count(*) FROM scans")" = 0 ]'
again=$(curl -s -w '\n%{http_code}' -X PUT --data-binary @"$work/dropper.tgz" "$url/v1/artifacts")
ok "PUT of the same bytes: 200, not created" \
  '[ "$(tail -n1 <<<"$again")" = 200 ] && [ "$(head -n1 <<<"$again" | jq -r .created)" = false ]'
ok "empty artifact: 400" '[ "$(code --data-binary @/dev/null "$url/v1/artifacts")" = 400 ]'
ok "GET /v1/artifacts: 405" '[ "$(code "$url/v1/artifacts")" = 405 ]'

# --- the batch
jq -n --arg d "$dsha" '{priority: -100, labels: {run: "nightly"}, rescan: false, network: "offline", items: [
  {sha256: $d, name: "dropper", version: "1.0.0", labels: {team: "sec"}},
  {ecosystem: "npm", package: "sf-api-demo", version: "1.0.0"},
  {package: "sf-api-demo", version: "9.9.9"},
  {package: "sf-api-demo", version: "1.0.1"},
  {package: "@sf-test/scoped", version: "2.0.0"},
  {package: "sf-api-missing", version: "1.0.0"},
  {sha256: "zz"},
  {sha256: "0000000000000000000000000000000000000000000000000000000000000000"},
  {ecosystem: "cargo", package: "serde", version: "1.0.0"},
  {package: "sf-api-demo", version: "^1.0.0"}]}' >"$work/batch.json"
curl -s -D "$work/headers" -o "$work/batch.out" -w '%{http_code} %{time_total}' \
  -H 'Content-Type: application/json' --data-binary @"$work/batch.json" "$url/v1/batches" >"$work/batch.code"
read -r bcode btime <"$work/batch.code"
b=$(cat "$work/batch.out"); bid=$(jq -r .id <<<"$b")
item() { jq -r ".items[$1].$2" <<<"$b"; }
ok "POST /v1/batches: 202 with a batch id ($bcode)" '[ "$bcode" = 202 ] && [ ${#bid} -eq 36 ]'
ok "the answer does not wait for the registry (${btime}s; packuments take 2 s)" \
  'awk -v t="$btime" "BEGIN { exit !(t < 1.5) }"'
ok "Location names the batch" 'grep -qi "^Location: /v1/batches/$bid" "$work/headers"'
ok "one entry per item, in order" '[ "$(jq -c "[.items[].index]" <<<"$b")" = "[0,1,2,3,4,5,6,7,8,9]" ]'
ok "the artifact item is queued with its bytes" \
  '[ "$(item 0 status) $(item 0 cached) $(item 0 artifact)" = "queued false $dsha" ]'
ok "references are queued, resolving, without an artifact yet" \
  'jq -e "[.items[1,2,3,4,5] | .status == \"queued\" and .phase == \"resolving\" and .artifact == null] | all" <<<"$b" >/dev/null'
ok "bad sha256: bad_item" '[ "$(item 6 error.code)" = bad_item ]'
ok "bytes not in the store: unknown_artifact" '[ "$(item 7 error.code)" = unknown_artifact ]'
ok "other ecosystem: unsupported_ecosystem" '[ "$(item 8 error.code)" = unsupported_ecosystem ]'
ok "a version range: bad_item" '[ "$(item 9 error.code)" = bad_item ]'
ok "counts in the answer" \
  '[ "$(jq -c .counts <<<"$b")" = "{\"items\":10,\"accepted\":6,\"cached\":0,\"queued\":1,\"resolving\":5,\"rejected\":4}" ]'
ref=$(item 1 scan_id)
rep=$(curl -s "$url/v1/scans/$ref")
ok "GET /v1/scans/<id> of a reference being fetched: queued, phase resolving" \
  '[ "$(jq -r "\"\(.status) \(.phase) \(.artifact)\"" <<<"$rep")" = "queued resolving null" ]'
ok "Package Hunter view: pending" '[ "$(curl -s "$url/?id=$ref" | jq -r .status)" = pending ]'
ok "listed among queued scans with its phase" \
  'curl -s "$url/v1/scans?status=queued" | jq -e --arg id "$ref" "any(.scans[]; .id == \$id and .phase == \"resolving\")" >/dev/null'
view=$(curl -s "$url/v1/batches/$bid")
ok "GET /v1/batches/<id> while resolving: counts.resolving 5 ($(jq -c .counts <<<"$view"))" \
  '[ "$(jq -r ".counts.resolving" <<<"$view")" = 5 ] && [ "$(jq -r .done <<<"$view")" = false ]'

# --- a reference cancelled while it waits: it never gets a job
late=$(jq -n '{items: [{package: "sf-api-demo", version: "1.0.2"}]}' |
  curl -s --data-binary @- "$url/v1/batches" | jq -r '.items[0].scan_id')
ok "cancel a resolving scan" '[ "$(curl -s -X POST "$url/v1/scans/$late/cancel" | jq -r .status)" = cancelled ]'

# --- wait for the batch to end
for _ in $(seq 1 480); do
  view=$(curl -s "$url/v1/batches/$bid")
  [ "$(jq -r .done <<<"$view")" = true ] && break
  sleep 0.5
done
ok "the batch ends ($(jq -c .counts <<<"$view"))" \
  '[ "$(jq -c .counts <<<"$view")" = "{\"items\":10,\"rejected\":4,\"cached\":0,\"resolving\":0,\"queued\":0,\"running\":0,\"finished\":3,\"failed\":3}" ]'
st() { jq -r ".items[$1] | \"\(.status) \(.reason)\"" <<<"$view"; }
ok "artifact item finished" '[ "$(st 0)" = "finished null" ]'
ok "good reference finished" '[ "$(st 1)" = "finished null" ]'
ok "missing version failed: $(st 2)" 'st 2 | grep -q "^failed .*sf-api-demo has no version 9.9.9"'
ok "wrong integrity failed: $(st 3 | cut -c1-90)…" 'st 3 | grep -q "^failed .*integrity mismatch"'
ok "scoped reference with a shasum finished" '[ "$(st 4)" = "finished null" ]'
ok "missing package failed: $(st 5)" 'st 5 | grep -q "^failed .*not found in the registry (HTTP 404)"'
ok "rejected items keep their error in the view" '[ "$(jq -r ".items[7].error.code" <<<"$view")" = unknown_artifact ]'
ok "the resolved artifact is the registry's tarball" \
  '[ "$(jq -r ".items[1].artifact" <<<"$view")" = "$(sha "$work/demo.tgz")" ] &&
   curl -fs "$url/v1/artifacts/$(sha "$work/demo.tgz")" | cmp -s - "$work/demo.tgz"'
ok "scoped artifact too" '[ "$(jq -r ".items[4].artifact" <<<"$view")" = "$(sha "$work/scoped.tgz")" ]'
wsha=$(sha "$work/wrong.tgz")
ok "the mismatching bytes were not kept" \
  '[ ! -e "$work/artifacts/objects/${wsha:0:2}/$wsha" ] && [ "$(sql "SELECT count(*) FROM artifacts WHERE sha256 = '"'"'$wsha'"'"'")" = 0 ]'
# (the cancelled 1.0.2 is remembered too when a resolver had claimed it
# before the cancel came — verified bytes, no job: a race, so not counted)
ok "resolutions remembered (2)" \
  '[ "$(sql "SELECT count(*) FROM package_resolutions WHERE version <> '"'"'1.0.2'"'"'")" = 2 ]'
r1=$(curl -s "$url/v1/scans/$ref")
ok "the reference's report: name, version, batch labels" \
  '[ "$(jq -c "[.name, .version, .labels, .phase]" <<<"$r1")" = "[\"sf-api-demo\",\"1.0.0\",[\"run=nightly\"],null]" ]'
did=$(jq -r ".items[0].scan_id" <<<"$view")
ok "item labels are added to the batch's" \
  '[ "$(curl -s "$url/v1/scans/$did" | jq -c .labels)" = "[\"run=nightly\",\"team=sec\"]" ]'
ok "jobs have the batch's priority" \
  '[ "$(sql "SELECT DISTINCT priority FROM jobs")" = -100 ]'
ok "the batch's network is kept, and its scans, references too, ran in it" \
  '[ "$(jq -r .network <<<"$view")" = offline ] &&
   [ "$(curl -s "$url/v1/scans/$did" | jq -c "[.network, .network_requested]")" = "[\"offline\",\"offline\"]" ] &&
   [ "$(jq -c "[.network, .network_requested]" <<<"$r1")" = "[\"offline\",\"offline\"]" ]'
pages=0 idx="" cursor=""
while :; do
  page=$(curl -s "$url/v1/batches/$bid?limit=3${cursor:+&cursor=$cursor}")
  idx+=$(jq -r '.items[].index' <<<"$page")$'\n'
  cursor=$(jq -r '.next_cursor // empty' <<<"$page"); pages=$((pages + 1))
  [ -n "$cursor" ] && [ "$pages" -lt 20 ] || break
done
ok "batch items page by 3: every item once in 4 pages" \
  '[ "$(grep . <<<"$idx" | tr "\n" " ")" = "0 1 2 3 4 5 6 7 8 9 " ] && [ "$pages" = 4 ]'

for _ in $(seq 1 100); do
  [ "$(sql "SELECT count(*) FROM resolve_queue")" = 0 ] && break; sleep 0.2
done
ok "the cancelled reference left the queue without a job" \
  '[ "$(sql "SELECT count(*) FROM resolve_queue")" = 0 ] &&
   [ "$(sql "SELECT count(*) FROM jobs WHERE scan_id = '"'"'$late'"'"'")" = 0 ] &&
   [ "$(curl -s "$url/v1/scans/$late" | jq -r "\"\(.status) \(.reason)\"")" = "failed cancelled by request" ]'

# --- GET /v1/scans/<id>/alerts: paging, filters, errors
report=$(curl -s "$url/v1/scans/$did")
nalerts=$(jq '.alerts | length' <<<"$report")
ok "the dropper raised several alerts ($nalerts)" '[ "$nalerts" -ge 3 ]'
page_all() { # SCAN QUERY → every page's alerts, one JSON per line; sets npages
  local cursor="" p
  npages=0
  : >"$work/pages"
  while :; do
    p=$(curl -s "$url/v1/scans/$1/alerts?$2${cursor:+&cursor=$cursor}")
    jq -c '.alerts[]' <<<"$p" >>"$work/pages"
    cursor=$(jq -r '.next_cursor // empty' <<<"$p"); npages=$((npages + 1))
    [ -n "$cursor" ] && [ "$npages" -le 1000 ] || break
  done
}
sorted_report() { jq -c ".alerts[] ${1:-}" <<<"$report" | sort; }
for lim in 1 2; do
  page_all "$did" "limit=$lim"
  ok "limit=$lim: every alert exactly once, $(wc -l <"$work/pages") of $nalerts in $npages pages" \
    '[ "$(sort "$work/pages")" = "$(sorted_report)" ] && [ "$npages" -ge $(( (nalerts + lim - 1) / lim )) ]'
done
first=$(curl -s "$url/v1/scans/$did/alerts?limit=1")
ok "a page holds limit alerts and a cursor" \
  '[ "$(jq ".alerts | length" <<<"$first")" = 1 ] && [ -n "$(jq -r ".next_cursor // empty" <<<"$first")" ]'
rank='{"emergency":0,"alert":1,"critical":2,"error":3,"warning":4,"warn":4,"notice":5,"informational":6,"info":6,"debug":7}'
page_all "$did" "limit=2&priority=warning"
want=$(jq -c --argjson r "$rank" '.alerts[] | select($r[.priority | ascii_downcase] <= 4)' <<<"$report" | sort)
ok "priority=warning: exactly the alerts at Warning or above ($(wc -l <"$work/pages"))" \
  '[ "$(sort "$work/pages")" = "$want" ]'
rule=$(jq -r '.alerts[0].rule' <<<"$report")
page_all "$did" "limit=1&rule=$(jq -rn --arg r "$rule" '$r|@uri')"
want=$(jq -c --arg r "$rule" '.alerts[] | select(.rule == $r)' <<<"$report" | sort)
ok "rule=\"$rule\": exactly its alerts" '[ -n "$want" ] && [ "$(sort "$work/pages")" = "$want" ]'
page_all "$ref" "limit=5"
ok "a scan without alerts: one empty page" '[ ! -s "$work/pages" ] && [ "$npages" = 1 ]'
ok "cursor past the end: empty page, no next cursor" \
  '[ "$(curl -s "$url/v1/scans/$did/alerts?cursor=999999999999" | jq -c .)" = "{\"alerts\":[],\"next_cursor\":null}" ]'
err() { curl -s -o "$work/err" -w '%{http_code}' "$@"; echo " $(jq -r .error.code "$work/err" 2>/dev/null)"; }
ok "bad cursor: 400 bad_request" '[ "$(err "$url/v1/scans/$did/alerts?cursor=abc")" = "400 bad_request" ]'
ok "bad cursor (negative): 400" '[ "$(err "$url/v1/scans/$did/alerts?cursor=-1")" = "400 bad_request" ]'
ok "limit=0: 400" '[ "$(err "$url/v1/scans/$did/alerts?limit=0")" = "400 bad_request" ]'
ok "limit=1001: 400" '[ "$(err "$url/v1/scans/$did/alerts?limit=1001")" = "400 bad_request" ]'
ok "limit=x: 400" '[ "$(err "$url/v1/scans/$did/alerts?limit=x")" = "400 bad_request" ]'
ok "unknown priority: 400" '[ "$(err "$url/v1/scans/$did/alerts?priority=loud")" = "400 bad_request" ]'
ok "unknown scan: 404 not_found" \
  '[ "$(err "$url/v1/scans/00000000-0000-4000-8000-000000000000/alerts")" = "404 not_found" ]'
ok "POST to alerts: 405" '[ "$(err -X POST "$url/v1/scans/$did/alerts")" = "405 method_not_allowed" ]'
# the query as libmicrohttpd hands it over (query.c): every refusal named
ok "repeated limit: 400 repeated_parameter" \
  '[ "$(err "$url/v1/scans/$did/alerts?limit=5&limit=6")" = "400 repeated_parameter" ]'
ok "misspelt key on /v1: 400 unknown_parameter" \
  '[ "$(err "$url/v1/scans?limt=5")" = "400 unknown_parameter" ] && grep -q "limt" "$work/err"'
ok "%00 in a cursor: 400" '[ "$(err "$url/v1/scans/$did/alerts?cursor=12%00")" = "400 bad_request" ]'
ok "bad UTF-8 in a rule: 400" '[ "$(err "$url/v1/scans/$did/alerts?rule=%ff%fe")" = "400 bad_request" ]'
ok "a huge limit: 400, not wrapped" \
  '[ "$(err "$url/v1/scans?limit=18446744073709551617")" = "400 bad_request" ]'
ok "empty status: 400" '[ "$(err "$url/v1/scans?status=")" = "400 bad_request" ]'
ok "a bad query takes no body: 400 before the upload" \
  '[ "$(err --data-binary @"$work/demo.tgz" "$url/v1/scans?rescan=yes")" = "400 bad_request" ]'
ok "Package Hunter's status ignores keys it does not take" \
  '[ "$(curl -s "$url/?id=$did&_=1" | jq -r .id)" = "$did" ]'
ok "a probe ignores its query" '[ "$(err "$url/healthz?x=1&x=2")" = "200 null" ]'

# --- the same batch again: scanned bytes come from the verdict cache, the
# resolved reference from package_resolutions (no second download)
jobs_before=$(sql "SELECT count(*) FROM jobs")
hits_before=$(curl -s "$url/metrics" | sed -n 's/^scanfarm_verdict_cache_hits_total //p')
b2=$(curl -s --data-binary @"$work/batch.json" "$url/v1/batches")
ok "resubmission: the artifact item from the verdict cache" \
  '[ "$(jq -r ".items[0] | \"\(.cached) \(.status) \(.scan_id)\"" <<<"$b2")" = "true finished $did" ]'
ok "resubmission: both resolved references from the verdict cache" \
  '[ "$(jq -r "[.items[1,4] | .cached, .scan_id] | join(\" \")" <<<"$b2")" = "true $ref true $(jq -r ".items[4].scan_id" <<<"$view")" ]'
ok "resubmission: failed references are tried again" \
  'jq -e "[.items[2,3,5] | .phase == \"resolving\"] | all" <<<"$b2" >/dev/null'
ok "resubmission counts (cached 3)" '[ "$(jq -c ".counts | [.cached, .resolving, .rejected]" <<<"$b2")" = "[3,3,4]" ]'
b2id=$(jq -r .id <<<"$b2")
for _ in $(seq 1 120); do
  v2=$(curl -s "$url/v1/batches/$b2id"); [ "$(jq -r .done <<<"$v2")" = true ] && break; sleep 0.5
done
ok "resubmitted batch ends: 3 finished (cached), 3 failed" \
  '[ "$(jq -c ".counts | [.finished, .failed, .cached]" <<<"$v2")" = "[3,3,3]" ]'
ok "no job was queued for it" '[ "$(sql "SELECT count(*) FROM jobs")" = "$jobs_before" ]'
ok "the good tarball was downloaded once" \
  '[ "$(grep -c "^GET /-/sf-api-demo-1.0.0.tgz 200" "$work/registry.log")" = 1 ]'
hits=$(curl -s "$url/metrics" | sed -n 's/^scanfarm_verdict_cache_hits_total //p')
ok "verdict cache hits counted ($hits_before -> $hits)" '[ "$hits" = $((hits_before + 3)) ]'
ok "resolver outcomes in /metrics" \
  'curl -s "$url/metrics" | grep "^scanfarm_resolve_total{outcome=\"fetched\"} [2-9]" >/dev/null'

# --- malformed batches
ok "not JSON: 400" '[ "$(err --data-binary "{items:" "$url/v1/batches")" = "400 bad_request" ]'
ok "items not an array: 400" '[ "$(err --data-binary "{\"items\":\"x\"}" "$url/v1/batches")" = "400 bad_request" ]'
ok "no items: 400" '[ "$(err --data-binary "{\"items\":[]}" "$url/v1/batches")" = "400 bad_request" ]'
ok "bad priority: 400" '[ "$(err --data-binary "{\"priority\":\"high\",\"items\":[{}]}" "$url/v1/batches")" = "400 bad_request" ]'
ok "bad network: 400" '[ "$(err --data-binary "{\"network\":\"internet\",\"items\":[{}]}" "$url/v1/batches")" = "400 bad_request" ]'
ok "bad batch labels: 400" '[ "$(err --data-binary "{\"labels\":{\"a\":\"x,y\"},\"items\":[{}]}" "$url/v1/batches")" = "400 bad_request" ]'
ok "empty body: 400" '[ "$(err --data-binary @/dev/null "$url/v1/batches")" = "400 empty_body" ]'
jq -n '{items: [range(21) | {package: "sf-api-demo", version: "1.0.0"}]}' >"$work/big.json"
ok "21 items over --max-batch-items 20: 413" '[ "$(err --data-binary @"$work/big.json" "$url/v1/batches")" = "413 too_many_items" ]'
jq -n '{items: [{package: "x", version: "1.0.0", pad: ("y" * 70000)}]}' >"$work/huge.json"
ok "a body over --max-batch-bytes: 413" '[ "$(err --data-binary @"$work/huge.json" "$url/v1/batches")" = "413 too_large" ]'
ok "a chunked body over the bound: 413" \
  '[ "$(err -H "Transfer-Encoding: chunked" --data-binary @"$work/huge.json" "$url/v1/batches")" = "413 too_large" ]'
# (in the network the first batch asked for: its verdict answers only that)
ok "one bad item does not sink the batch" \
  '[ "$(curl -s --data-binary "{\"network\":\"offline\",\"items\":[{},{\"sha256\":\"$dsha\"}]}" "$url/v1/batches" | jq -c "[.items[0].error.code, .items[1].cached]")" = "[\"bad_item\",true]" ]'
ok "GET /v1/batches: 405" '[ "$(err "$url/v1/batches")" = "405 method_not_allowed" ]'
ok "DELETE a batch: 405" '[ "$(err -X DELETE "$url/v1/batches/$bid")" = "405 method_not_allowed" ]'
ok "unknown batch: 404" '[ "$(err "$url/v1/batches/00000000-0000-4000-8000-000000000000")" = "404 not_found" ]'
ok "bad batch cursor: 400" '[ "$(err "$url/v1/batches/$bid?cursor=x")" = "400 bad_request" ]'
ok "coordinator still up" 'curl -fs "$url/healthz" >/dev/null'

"$src/scripts/farm.sh" down >/dev/null 2>&1
ok "no sanitizer findings in the daemons' logs" '! grep -E "Sanitizer|runtime error:" "$work/log/"*.log'
farm_finish
