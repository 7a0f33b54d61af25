#!/usr/bin/env bash
# pin_test — a lockfile's pinned integrity held against the registry's
# (coordinator/submit/integrity.c), on a whole farm with a fake npm registry
# on loopback: batch references carrying `integrity`
#   - fresh (the resolver downloads): a right pin is scanned; a wrong one
#     fails the scan "lockfile integrity mismatch", with no job;
#   - remembered (package_resolutions): a wrong sha512 pin is refused at
#     once (integrity_mismatch), a right one answered as usual; a sha1 pin
#     (another algorithm than the one recorded) goes to the resolver, which
#     hashes the stored bytes: right → scanned, wrong → failed, no job;
#   - a malformed pin: bad_item.
# Then `scanfarm deps` on a package-lock.json whose integrity was tampered
# with: the package's verdict is integrity_mismatch in the json, table and
# SARIF reports written by one run (one batch), exit status 2, never clean.
#   pin_test.sh SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
farm_init pin "$1" "$2" "$3"
reg=
trap '[ -n "$reg" ] && kill "$reg" 2>/dev/null; farm_cleanup' EXIT
sql() { psql "$dsn" -tAc "$1"; }
cli=$build/cli/scanfarm

pack() { # NAME VARIANT → $work/NAME.tgz (benign-banner, as `npm pack` packs it)
  mkdir -p "$work/pack/$1"
  cp -R "$src/tests/packages/benign-banner" "$work/pack/$1/package"
  rm -f "$work/pack/$1/package/expect"
  echo "$2" >"$work/pack/$1/package/variant.txt"
  tar -czf "$work/$1.tgz" -C "$work/pack/$1" package
}
pack one one
pack two two
sri() { echo "$1-$(openssl dgst "-$1" -binary "$2" | base64 -w0)"; } # ALG FILE
regport=$((port + 3)) regurl=http://127.0.0.1:$((port + 3))
mkdir -p "$work/registry/-"
cp "$work/one.tgz" "$work/registry/-/sf-int-demo-1.0.0.tgz"
cp "$work/two.tgz" "$work/registry/-/sf-int-demo-1.0.1.tgz"
jq -n --arg r "$regurl" --arg one "$(sri sha512 "$work/one.tgz")" --arg two "$(sri sha512 "$work/two.tgz")" \
  '{name: "sf-int-demo", versions: {
    "1.0.0": {name: "sf-int-demo", version: "1.0.0", dist: {tarball: "\($r)/-/sf-int-demo-1.0.0.tgz", integrity: $one}},
    "1.0.1": {name: "sf-int-demo", version: "1.0.1", dist: {tarball: "\($r)/-/sf-int-demo-1.0.1.tgz", integrity: $two}}}}' \
  >"$work/registry/sf-int-demo"
python3 "$src/tests/tools/fake_registry.py" "$work/registry" "$regport" "$work/registry.log" &
reg=$!
for _ in $(seq 1 50); do curl -s -o /dev/null "$regurl/sf-int-demo" && break; sleep 0.1; done
export SCANFARM_NPM_REGISTRY=$regurl
"$src/scripts/farm.sh" up || { echo "FAIL - farm did not start"; exit 1; }

one512=$(sri sha512 "$work/one.tgz") two512=$(sri sha512 "$work/two.tgz")
one1=$(sri sha1 "$work/one.tgz") two1=$(sri sha1 "$work/two.tgz")
view() { curl -s "$url/v1/batches/$1?limit=100"; }
wait_batch() { # ID: until nothing of it is resolving
  for _ in $(seq 1 100); do
    [ "$(view "$1" | jq .counts.resolving)" = 0 ] && return 0
    sleep 0.2
  done
  return 1
}
no_job() { [ "$(sql "SELECT count(*) FROM jobs WHERE scan_id = '$1'")" = 0 ]; }

# --- fresh references: the resolver downloads and compares
b=$(curl -s -H 'Content-Type: application/json' --data-binary @- "$url/v1/batches" <<EOF
{"items": [{"package": "sf-int-demo", "version": "1.0.0", "integrity": "$one512"},
           {"package": "sf-int-demo", "version": "1.0.1", "integrity": "$one512"},
           {"package": "sf-int-demo", "version": "1.0.0", "integrity": "md5-abc"},
           {"package": "sf-int-demo", "version": "1.0.0", "integrity": 5}]}
EOF
)
bid=$(jq -r .id <<<"$b")
ok "a malformed pin is a bad item" \
  '[ "$(jq -r "[.items[2,3].error.code] | join(\" \")" <<<"$b")" = "bad_item bad_item" ]'
ok "the fresh references resolve" 'wait_batch "$bid"'
v=$(view "$bid")
s0=$(jq -r '.items[0].scan_id' <<<"$v") s1=$(jq -r '.items[1].scan_id' <<<"$v")
ok "a right pin: the registry's bytes are scanned (a job)" \
  '[ "$(jq -r ".items[0].artifact" <<<"$v")" = "$(sha256sum "$work/one.tgz" | cut -d" " -f1)" ] && ! no_job "$s0"'
ok "a wrong pin: the scan fails, lockfile integrity mismatch ($(jq -r .items[1].reason <<<"$v"))" \
  '[ "$(jq -r ".items[1].status" <<<"$v")" = failed ] && jq -r ".items[1].reason" <<<"$v" | grep -q "lockfile integrity mismatch: the lockfile pins $one512, the registry.s tarball is $two512"'
ok "…and nothing of it is scanned: no job, no artifact" \
  'no_job "$s1" && [ "$(jq -r ".items[1].artifact" <<<"$v")" = null ]'

# --- remembered references (1.0.0 is in package_resolutions now), streamed
ok "1.0.0's resolution is remembered" \
  '[ "$(sql "SELECT count(*) FROM package_resolutions WHERE package = '"'sf-int-demo'"' AND version = '"'1.0.0'"'")" = 1 ]'
printf '%s\n' "{\"package\":\"sf-int-demo\",\"version\":\"1.0.0\",\"integrity\":\"$one512\"}" \
  "{\"package\":\"sf-int-demo\",\"version\":\"1.0.0\",\"integrity\":\"$two512\"}" \
  "{\"package\":\"sf-int-demo\",\"version\":\"1.0.0\",\"integrity\":\"$one1\"}" \
  "{\"package\":\"sf-int-demo\",\"version\":\"1.0.0\",\"integrity\":\"$two1\"}" \
  "{\"package\":\"sf-int-demo\",\"version\":\"1.0.0\"}" >"$work/stream.ndjson"
curl -s -H 'Content-Type: application/x-ndjson' --data-binary @"$work/stream.ndjson" \
  "$url/v1/batches" >"$work/stream.out"
line() { sed -n "$(($1 + 2))p" "$work/stream.out"; } # item N's answer
sid=$(head -n1 "$work/stream.out" | jq -r .id)
ok "remembered, right sha512 pin: answered with the stored bytes" \
  '[ "$(line 0 | jq -r .artifact)" = "$(sha256sum "$work/one.tgz" | cut -d" " -f1)" ]'
ok "remembered, wrong sha512 pin: refused at once, integrity_mismatch" \
  '[ "$(line 1 | jq -r .error.code)" = integrity_mismatch ] && line 1 | jq -r .error.message | grep -q "pins $two512, the registry publishes $one512"'
ok "a sha1 pin (the recorded digest is sha512) goes to the resolver" \
  '[ "$(line 2 | jq -r .phase) $(line 3 | jq -r .phase)" = "resolving resolving" ]'
ok "an item without a pin: as before" '[ "$(line 4 | jq -r .artifact)" = "$(line 0 | jq -r .artifact)" ]'
ok "the sha1 pins are resolved" 'wait_batch "$sid"'
v=$(view "$sid")
ok "right sha1 pin: the stored bytes hashed, they agree: scanned" \
  '[ "$(jq -r ".items[2].artifact" <<<"$v")" = "$(sha256sum "$work/one.tgz" | cut -d" " -f1)" ] && ! no_job "$(jq -r .items[2].scan_id <<<"$v")"'
ok "wrong sha1 pin: failed, no job ($(jq -r .items[3].reason <<<"$v"))" \
  '[ "$(jq -r ".items[3].status" <<<"$v")" = failed ] && jq -r ".items[3].reason" <<<"$v" | grep -q "lockfile integrity mismatch: the lockfile pins $two1, the registry.s tarball is $one1" && no_job "$(jq -r .items[3].scan_id <<<"$v")"'

# --- scanfarm deps on a tampered package-lock.json: three reports, one run
mkdir -p "$work/repos/tampered"
jq -n --arg i "$two512" '{name: "tampered", version: "1.0.0", lockfileVersion: 3, requires: true,
  packages: {"": {name: "tampered", version: "1.0.0", dependencies: {"sf-int-demo": "1.0.0"}},
    "node_modules/sf-int-demo": {version: "1.0.0", integrity: $i}}}' >"$work/repos/tampered/package-lock.json"
batches=$(sql "SELECT count(*) FROM scan_batches")
(cd "$work/repos" && "$cli" --server "$url" --timeout 60 --progress off deps --format json,table,sarif \
  --output "$work/r.json,-,$work/r.sarif" tampered >"$work/r.table" 2>"$work/r.err")
rc=$?
ok "deps exits 2: the package was not scanned ($rc)" '[ "$rc" = 2 ]'
ok "one run, one batch, three reports" \
  '[ "$(sql "SELECT count(*) FROM scan_batches")" = $((batches + 1)) ] && [ -s "$work/r.json" ] && [ -s "$work/r.table" ] && [ -s "$work/r.sarif" ]'
ok "json: verdict integrity_mismatch, counted in the summary" \
  '[ "$(jq -r ".packages[0].verdict, .summary.integrity_mismatch" "$work/r.json" | paste -sd" ")" = "integrity_mismatch 1" ]'
sed "s/^/#  /" "$work/r.table" # the table, on the log
ok "table: the package with its verdict and why" \
  'grep -qE "^npm sf-int-demo@1.0.0 +integrity_mismatch" "$work/r.table" && grep -q "the registry publishes $one512" "$work/r.table"'
line_of=$(grep -n '"node_modules/sf-int-demo"' "$work/repos/tampered/package-lock.json" | cut -d: -f1)
ok "SARIF: a finding at package-lock.json:$line_of that says so" \
  '[ "$(jq -r ".runs[0].results[0] | \"\(.locations[0].physicalLocation.artifactLocation.uri):\(.locations[0].physicalLocation.region.startLine)\"" "$work/r.sarif")" = "package-lock.json:$line_of" ] && jq -e ".runs[0].results[0] | .ruleId == \"scanfarm/lockfile-integrity-mismatch\" and .level == \"error\"" "$work/r.sarif" >/dev/null && jq -r ".runs[0].results[0].message.text" "$work/r.sarif" | grep -q "lockfile integrity mismatch\|the registry publishes"'
ok "SARIF validates against the SARIF 2.1.0 schema" \
  'python3 "$src/tests/tools/validate_json.py" "$src/tests/schemas/sarif-2.1.0-rtm.5.json" "$work/r.sarif"'
farm_finish
