#!/usr/bin/env bash
# ecosystems_test — the coordinator's side of PyPI and RubyGems, with a real
# coordinator and PostgreSQL and no worker (what the scans then do is the
# worker's tests' business): bodies built here with setuptools, wheel and
# gem — sdist, wheel, Python project (tar and zip), gem, Gemfile project,
# npm package and project tarballs — are submitted to POST
# /v1/scans?ecosystem=… and POST /monitor/project/bundler and
# recorded with the kind read from their content, their job queued with its
# ecosystem and artifact; wrong bodies (an npm tarball named .whl, a gem as
# pypi, a gzip bomb, garbage, an sdist as npm) are refused with the reason
# and the service stays up; Package Hunter's npm route still takes any body. Batch references are resolved from a PEP 503 index (with a
# token, sent to its origin only) and a gem source (a compact index for
# some gems, static `gem generate_index` output for another) on 127.0.0.1:
# digests checked, a mismatch and a wrong file fail with the reason, a
# static gem is scanned unverified and says so. The CLI submits with
# --ecosystem and sends `deps` references as pypi and rubygems items.
#   ecosystems_test.sh SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
src=$1 build=$2
passed=0 failed=0
ok() { if eval "$2"; then passed=$((passed + 1)); echo "ok   - $1"; else failed=$((failed + 1)); echo "FAIL - $1"; fi; }
py=/usr/bin/python3
for t in gem jq curl psql; do
  command -v $t >/dev/null || { echo "SKIP: $t missing (scripts/setup.sh packages)"; exit 77; }
done
$py -c 'import setuptools, wheel' 2>/dev/null || { echo "SKIP: python3-setuptools, python3-wheel missing"; exit 77; }
work=$(mktemp -d /tmp/sf-eco-XXXXXX)
base_dsn=$(cat "$3")
db=sf_eco_$$
psql "$base_dsn" -qc "CREATE DATABASE $db" >/dev/null
dsn="${base_dsn/dbname=scanfarm/dbname=$db}"
port=$((20000 + ($$ * 7 + 4111) % 12000))
url=http://127.0.0.1:$port idx_port=$((port + 3)) gem_port=$((port + 4))
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  if [ "$failed" -ne 0 ]; then for f in "$work"/*.log; do echo "--- $f"; tail -n 30 "$f"; done; fi
  rm -rf "$work"
  psql "$base_dsn" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
}
trap cleanup EXIT
sql() { psql "$dsn" -tAc "$1"; }
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
post() { # ROUTE FILE → body, then the status on the last line
  curl -s -w '\n%{http_code}' -H 'Content-Type: application/octet-stream' --data-binary @"$2" "$url$1"
}
sha() { sha256sum "$1" | cut -d' ' -f1; }

# --- the bodies, built as their tools build them
mk_py() { # DIR NAME VERSION [py_modules]
  mkdir -p "$1"
  cat >"$1/setup.py" <<EOF
from setuptools import setup
setup(name="$2", version="$3", py_modules=["${4:-sfmod}"])
EOF
  echo 'print("hello")' >"$1/${4:-sfmod}.py"
  (cd "$1" && $py setup.py -q sdist bdist_wheel >/dev/null 2>&1)
}
mk_py "$work/py/benign" sf_benign 1.0.0
mk_py "$work/py/wheelonly" sf-wheelonly 2.0 sfwheel
sdist=$(ls "$work"/py/benign/dist/*.tar.gz) whl=$(ls "$work"/py/benign/dist/*.whl)
ok "setuptools built an sdist and a wheel" '[ -f "$sdist" ] && [ -f "$whl" ]'
mkdir -p "$work/proj/app" && echo 'requests==2.31.0' >"$work/proj/app/requirements.txt"
tar -czf "$work/pyproject.tgz" -C "$work/proj" app
(cd "$work/proj" && $py -c 'import shutil; shutil.make_archive("../pyproject", "zip", ".", "app")')
mkdir -p "$work/npmproj/web" && echo '{"name":"web","private":true}' >"$work/npmproj/web/package.json"
tar -czf "$work/npmproj.tgz" -C "$work/npmproj" web
mkdir -p "$work/npm/package" && echo '{"name":"x","version":"1.0.0"}' >"$work/npm/package/package.json"
tar -czf "$work/npm.whl" -C "$work/npm" package    # an npm tarball, named as a wheel

mk_gem() { # NAME VERSION → $work/gems/NAME-VERSION.gem
  local d=$work/gemsrc/$1-$2
  mkdir -p "$d/lib" "$work/gems"
  echo "puts 1" >"$d/lib/$1.rb"
  cat >"$d/$1.gemspec" <<EOF
Gem::Specification.new do |s|
  s.name = "$1"; s.version = "$2"; s.summary = "scanfarm test"; s.authors = ["t"]
  s.files = ["lib/$1.rb"]; s.license = "MIT"
end
EOF
  (cd "$d" && gem build -q "$1.gemspec" >/dev/null 2>&1 && mv "$1-$2.gem" "$work/gems/")
}
mk_gem sf-gem-compact 0.4.1
mk_gem sf-gem-bad 0.1.0
mk_gem sf-gem-static 0.2.0
gemfile=$work/gems/sf-gem-compact-0.4.1.gem
ok "gem built the gems" '[ -f "$gemfile" ] && [ -f "$work/gems/sf-gem-static-0.2.0.gem" ]'
mkdir -p "$work/site/web" && printf "source 'https://rubygems.org'\ngem 'rake'\n" >"$work/site/web/Gemfile"
tar -czf "$work/gemproject.tgz" -C "$work/site" web

# --- a PEP 503 index (its token required) whose files live on another
# origin (the gem source's server), and the gem source
tok=$work/index.token && echo "sf-index-secret" >"$tok"
simple=$work/index/simple files=$work/gemsrv/files
mkdir -p "$simple" "$files"
gemurl=http://127.0.0.1:$gem_port
cp "$sdist" "$whl" "$work"/py/wheelonly/dist/*.whl "$files/"
cp "$work/npm.whl" "$files/sf-npm-1.0.tar.gz"     # an npm tarball served as an sdist
cp "$sdist" "$files/sf-bad-1.0.tar.gz"
page() { # NAME then "FILE HASH" pairs
  local n=$1; shift
  mkdir -p "$simple/$n"
  { echo "<!DOCTYPE html><html><body>"
    while [ $# -gt 0 ]; do echo "<a href=\"$gemurl/files/$1#sha256=$2\">$1</a><br/>"; shift 2; done
    echo "</body></html>"; } >"$simple/$n/index.html"
}
page sf-benign "$(basename "$sdist")" "$(sha "$sdist")" "$(basename "$whl")" "$(sha "$whl")"
wo=$(ls "$work"/py/wheelonly/dist/*.whl)
page sf-wheelonly "$(basename "$wo")" "$(sha "$wo")"
page sf-bad sf-bad-1.0.tar.gz "$(sha "$work/npm.whl")"             # the digest of other bytes
page sf-npm sf-npm-1.0.tar.gz "$(sha "$files/sf-npm-1.0.tar.gz")"
page sf-platform sf_platform-1.0-cp311-cp311-manylinux_2_17_x86_64.whl "$(sha "$sdist")"
python3 "$src/tests/tools/fake_registry.py" "$work/index" "$idx_port" "$work/index.log" --token sf-index-secret &
pids+=($!)
# the gem source: gem generate_index's static files for all; a compact
# index (info/NAME) for two, one with a checksum of other bytes
mkdir -p "$work/gemsrv/gems" "$work/gemsrv/info"
cp "$work"/gems/*.gem "$work/gemsrv/gems/"
gem generate_index -q -d "$work/gemsrv" >/dev/null 2>&1
printf -- '---\n0.4.1 |checksum:%s\n' "$(sha "$gemfile")" >"$work/gemsrv/info/sf-gem-compact"
printf -- '---\n0.1.0 |checksum:%s\n' "$(sha "$gemfile")" >"$work/gemsrv/info/sf-gem-bad"
ok "gem generate_index wrote a static source (specs, no info/ for the static gem)" \
  '[ -f "$work/gemsrv/specs.4.8.gz" ] && [ ! -e "$work/gemsrv/info/sf-gem-static" ]'
python3 "$src/tests/tools/fake_registry.py" "$work/gemsrv" "$gem_port" "$work/gemsrv.log" &
pids+=($!)

"$build/coordinator/scanfarm-coordinator" --db-dsn "$dsn" --http-address "127.0.0.1:$port" \
  --store-dir "$work/artifacts" --jobs-url "tcp://127.0.0.1:$((port + 1))" \
  --results-url "tcp://127.0.0.1:$((port + 2))" --npm-registry http://127.0.0.1:9 \
  --pypi-index "http://127.0.0.1:$idx_port/simple/" --pypi-index-auth "$tok" \
  --gem-source "$gemurl" --max-unpacked-mb 8 >"$work/coordinator.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ "$(code "$url/readyz")" = 200 ] && break; sleep 0.1; done
ok "coordinator ready" '[ "$(code "$url/readyz")" = 200 ]'

# --- submissions: the kind from the content
submit_ok() { # DESCRIPTION ECOSYSTEM FILE KIND NAME
  local eco=$2 f=$3 kind=$4 nm=${5:-} r id
  r=$(post "/v1/scans?ecosystem=$eco" "$f")
  id=$(head -n1 <<<"$r" | jq -r .id)
  ok "$1: 201, kind $kind ($(tail -n1 <<<"$r"))" \
    '[ "$(tail -n1 <<<"$r")" = 201 ] && [ "$(head -n1 <<<"$r" | jq -r .kind.kind)" = "$kind" ]'
  ok "$1: recorded as $eco $kind ${nm:-(no name)}, its job queued with the artifact" \
    '[ "$(sql "SELECT s.ecosystem, k.kind, coalesce(k.name, '"''"'), j.state
               FROM scans s JOIN artifact_kinds k ON k.sha256 = s.artifact_sha256
               AND k.ecosystem = s.ecosystem JOIN jobs j ON j.scan_id = s.id
               WHERE s.id = '"'"'$id'"'"' AND s.artifact_sha256 = '"'"'$(sha "$f")'"'"'")" \
       = "$eco|$kind|$nm|queued" ]'
  ok "$1: the report shows the kind" \
    '[ "$(curl -s "$url/v1/scans/$id" | jq -r ".ecosystem + \" \" + .artifact.kind")" = "$eco $kind" ]'
}
submit_ok "sdist" pypi "$sdist" sdist sf_benign
submit_ok "wheel" pypi "$whl" wheel sf-benign
submit_ok "Python project" pypi "$work/pyproject.tgz" project
submit_ok "gem" rubygems "$gemfile" gem sf-gem-compact
submit_ok "Gemfile project" rubygems "$work/gemproject.tgz" project
submit_ok "Python project as a zip" pypi "$work/pyproject.zip" project
submit_ok "npm package tarball" npm "$work/npm.whl" package
submit_ok "npm project tarball" npm "$work/npmproj.tgz" project

refused() { # DESCRIPTION ROUTE FILE STATUS CODE WORDS
  local st=$4 cd=$5 words=$6 before r
  before=$(sql "SELECT count(*) FROM scans")
  r=$(post "$2" "$3")
  ok "$1: $st $cd ($(head -n1 <<<"$r" | jq -r .error.message 2>/dev/null))" \
    '[ "$(tail -n1 <<<"$r")" = "$st" ] && [ "$(head -n1 <<<"$r" | jq -r .error.code)" = "$cd" ] &&
     head -n1 <<<"$r" | jq -r .error.message | grep -q "$words"'
  ok "$1: no scan recorded" '[ "$(sql "SELECT count(*) FROM scans")" = "$before" ]'
}
refused "an npm tarball named .whl, as pypi" "/v1/scans?ecosystem=pypi" "$work/npm.whl" 422 \
  invalid_artifact "not a Python package"
refused "a gem as pypi" "/v1/scans?ecosystem=pypi" "$gemfile" 422 invalid_artifact "not a Python"
refused "an sdist as rubygems" "/v1/scans?ecosystem=rubygems" "$sdist" 422 invalid_artifact \
  "not a Ruby gem"
head -c 100000 /dev/urandom >"$work/garbage"
refused "garbage as pypi" "/v1/scans?ecosystem=pypi" "$work/garbage" 422 invalid_artifact \
  "not a readable archive"
mkdir -p "$work/bomb/sf_bomb-1" && cp "$work/py/benign/sf_benign.egg-info/PKG-INFO" "$work/bomb/sf_bomb-1/"
head -c $((64 << 20)) /dev/zero >"$work/bomb/sf_bomb-1/zeros"
tar -czf "$work/bomb.tgz" -C "$work/bomb" sf_bomb-1
refused "a gzip bomb ($(stat -c %s "$work/bomb.tgz") bytes, 64 MiB unpacked; the limit is 8)" \
  "/v1/scans?ecosystem=pypi" "$work/bomb.tgz" 413 too_large "unpacks to more than"
refused "garbage as npm" "/v1/scans?ecosystem=npm" "$work/garbage" 422 invalid_artifact \
  "not a readable archive"
refused "an sdist as npm" "/v1/scans?ecosystem=npm" "$sdist" 422 invalid_artifact \
  "not an npm package or project"
# Package Hunter's npm route took any body and let the scan say what was
# wrong: it still does (the worker fails it; e2e_test), with no kind
r=$(post /monitor/project/npm "$work/garbage")
ok "garbage to Package Hunter's npm route: 200 {status: ok, id}, as before" \
  '[ "$(tail -n1 <<<"$r")" = 200 ] && [ "$(head -n1 <<<"$r" | jq -r .status)" = ok ]'
ok "…queued for the worker, no kind recorded" \
  '[ "$(sql "SELECT j.state || count(k.kind) FROM scans s JOIN jobs j ON j.scan_id = s.id LEFT JOIN artifact_kinds k ON k.sha256 = s.artifact_sha256 AND k.ecosystem = s.ecosystem WHERE s.id = '"'"'$(head -n1 <<<"$r" | jq -r .id)'"'"' GROUP BY j.state")" = queued0 ]'
r=$(post /monitor/project/npm "$work/npmproj.tgz")
ok "an npm project to Package Hunter's npm route: 200, its kind recorded" \
  '[ "$(tail -n1 <<<"$r")" = 200 ] &&
   [ "$(sql "SELECT k.kind FROM scans s JOIN artifact_kinds k ON k.sha256 = s.artifact_sha256 AND k.ecosystem = s.ecosystem WHERE s.id = '"'"'$(head -n1 <<<"$r" | jq -r .id)'"'"'")" = project ]'
refused "the npm tarball to Package Hunter's bundler route" /monitor/project/bundler \
  "$work/npm.whl" 422 invalid_artifact "not a Ruby gem or project"
ok "an unknown ecosystem: 400" \
  '[ "$(code -H "Content-Type: application/octet-stream" --data-binary @"$sdist" "$url/v1/scans?ecosystem=cargo")" = 400 ]'
ok "Package Hunter has no pypi route: 400" \
  '[ "$(code -H "Content-Type: application/octet-stream" --data-binary @"$sdist" "$url/monitor/project/pypi")" = 400 ]'
ok "the service is still up after the refusals" '[ "$(code "$url/readyz")" = 200 ]'

# --- Package Hunter's bundler route, answered like its npm route
r=$(post /monitor/project/bundler "$work/gemproject.tgz")
phid=$(head -n1 <<<"$r" | jq -r .id)
ok "POST /monitor/project/bundler: 200 {status: ok, id}" \
  '[ "$(tail -n1 <<<"$r")" = 200 ] && [ "$(head -n1 <<<"$r" | jq -r .status)" = ok ] &&
   [ "$(head -n1 <<<"$r" | jq -r "keys | join(\",\")")" = "id,status" ]'
ok "GET /?id= shows it pending" '[ "$(curl -s "$url/?id=$phid" | jq -r .status)" = pending ]'
ok "a rubygems project scan with its job queued" \
  '[ "$(sql "SELECT s.ecosystem || j.state FROM scans s JOIN jobs j ON j.scan_id = s.id WHERE s.id = '"'"'$phid'"'"'")" = rubygemsqueued ]'

# --- the CLI
cli=$build/cli/scanfarm
cid=$("$cli" --server "$url" --ecosystem pypi submit "$whl" 2>"$work/cli.err")
ok "scanfarm --ecosystem pypi submit: the scan id" \
  '[ "$(sql "SELECT ecosystem FROM scans WHERE id = '"'"'$cid'"'"'")" = pypi ]'
"$cli" --server "$url" --ecosystem rubygems submit "$work/npm.whl" >/dev/null 2>"$work/cli.err"
ok "scanfarm --ecosystem rubygems submit of an npm tarball: exit 2 with the reason" \
  '[ $? -eq 2 ] && grep -q "not a Ruby gem" "$work/cli.err"'

# --- batch references
batch=$(jq -n '{items: [
  {ecosystem: "pypi", package: "SF_Benign", version: "1.0.0"},
  {ecosystem: "pypi", package: "sf.wheelonly", version: "2.0"},
  {ecosystem: "pypi", package: "sf-bad", version: "1.0"},
  {ecosystem: "pypi", package: "sf-npm", version: "1.0"},
  {ecosystem: "pypi", package: "sf-platform", version: "1.0"},
  {ecosystem: "pypi", package: "sf-benign", version: "9.9"},
  {ecosystem: "rubygems", package: "sf-gem-compact", version: "0.4.1"},
  {ecosystem: "rubygems", package: "sf-gem-bad", version: "0.1.0"},
  {ecosystem: "rubygems", package: "sf-gem-static", version: "0.2.0"},
  {ecosystem: "rubygems", package: "sf-gem-compact", version: "9.9"},
  {ecosystem: "pypi", package: "../etc", version: "1.0"},
  {ecosystem: "rubygems", package: "x", version: "~> 1.0"},
  {ecosystem: "cargo", package: "x", version: "1.0"}]}')
b=$(curl -s -H 'Content-Type: application/json' -d "$batch" "$url/v1/batches")
bid=$(jq -r .id <<<"$b")
ok "batch accepted: 10 resolving, 3 refused" \
  '[ "$(jq -c "[.counts.resolving, .counts.rejected]" <<<"$b")" = "[10,3]" ]'
ok "bad names and versions: bad_item; an unknown ecosystem: unsupported_ecosystem" \
  '[ "$(jq -r "[.items[10,11,12].error.code] | join(\",\")" <<<"$b")" = "bad_item,bad_item,unsupported_ecosystem" ]'
for _ in $(seq 1 100); do
  [ "$(curl -s "$url/v1/batches/$bid" | jq -r .counts.resolving)" = 0 ] && break; sleep 0.3
done
view=$(curl -s "$url/v1/batches/$bid")
item() { jq -r ".items[$1] | $2" <<<"$view"; }
scan_of() { item "$1" .scan_id; }
report() { curl -s "$url/v1/scans/$(scan_of "$1")"; }
ok "every reference resolved or failed" '[ "$(jq -r .counts.resolving <<<"$view")" = 0 ]'
ok "pypi sf-benign 1.0.0: the sdist, its sha256 checked, recorded as sdist, job queued" \
  '[ "$(report 0 | jq -r "[.status, .artifact.sha256, .artifact.kind, .resolution.verified, .name] | join(\" \")")" = "queued $(sha "$sdist") sdist true sf-benign" ] &&
   [ "$(report 0 | jq -r .resolution.integrity)" = "sha256-$(openssl dgst -sha256 -binary "$sdist" | base64 -w0)" ] &&
   [ "$(sql "SELECT state FROM jobs WHERE scan_id = '"'"'$(scan_of 0)'"'"'")" = queued ]'
ok "pypi sf-wheelonly 2.0: no sdist, the pure wheel" \
  '[ "$(report 1 | jq -r "[.status, .artifact.kind, .artifact.sha256] | join(\" \")")" = "queued wheel $(sha "$wo")" ]'
ok "pypi sf-bad: digest mismatch → failed, with the reason ($(item 2 .reason))" \
  '[ "$(item 2 .status)" = failed ] && item 2 .reason | grep -q "integrity mismatch"'
ok "pypi sf-npm: an npm tarball behind a good digest → failed, not a Python package" \
  '[ "$(item 3 .status)" = failed ] && item 3 .reason | grep -q "not a Python package"'
ok "pypi sf-platform: only a platform wheel → failed ($(item 4 .reason))" \
  '[ "$(item 4 .status)" = failed ] && item 4 .reason | grep -q "only platform wheels"'
ok "pypi sf-benign 9.9: no such version → failed" \
  '[ "$(item 5 .status)" = failed ] && item 5 .reason | grep -q "no version 9.9"'
ok "rubygems sf-gem-compact: the compact index's checksum checked, recorded as gem" \
  '[ "$(report 6 | jq -r "[.status, .artifact.kind, .artifact.name, .resolution.verified] | join(\" \")")" = "queued gem sf-gem-compact true" ]'
ok "rubygems sf-gem-bad: checksum mismatch → failed ($(item 7 .reason))" \
  '[ "$(item 7 .status)" = failed ] && item 7 .reason | grep -q "integrity mismatch"'
ok "rubygems sf-gem-static: a static source, scanned unverified and saying so" \
  '[ "$(report 8 | jq -r "[.status, .artifact.kind, .resolution.verified, .resolution.integrity] | join(\" \")")" = "queued gem false " ] &&
   [ "$(report 8 | jq -r .resolution.url)" = "$gemurl/gems/sf-gem-static-0.2.0.gem" ]'
ok "rubygems 9.9: not in the compact index → failed" \
  '[ "$(item 9 .status)" = failed ] && item 9 .reason | grep -q "no version 9.9 in the gem source"'
ok "every request to the index carried its token" \
  'grep -q "^GET /simple/sf-benign/ 200 auth=yes" "$work/index.log" && ! grep -q "auth=no" "$work/index.log"'
ok "the files' other origin never got the index's token" \
  'grep -q "GET /files/" "$work/gemsrv.log" && ! grep -q "auth=sent" "$work/gemsrv.log"'
downloads=$(grep -c "GET /files/\|GET /gems/" "$work/gemsrv.log")
b2=$(curl -s -H 'Content-Type: application/json' -d "$batch" "$url/v1/batches")
ok "the same batch again: the resolved references answered at once (queued, not resolving)" \
  '[ "$(jq -r "[.items[0,1,6,8].status, .items[0].phase] | join(\",\")" <<<"$b2")" = "queued,queued,queued,queued," ]'
sleep 1
ok "…with no second download, and still saying how they were checked" \
  '[ "$(grep -c "GET /files/\|GET /gems/" "$work/gemsrv.log")" -le "$((downloads + 3))" ] &&
   [ "$(curl -s "$url/v1/scans/$(jq -r .items[8].scan_id <<<"$b2")" | jq -r .resolution.verified)" = false ] &&
   [ "$(curl -s "$url/v1/scans/$(jq -r .items[0].scan_id <<<"$b2")" | jq -r .resolution.verified)" = true ]'

# --- scanfarm deps: lockfile references as pypi and rubygems items
mkdir -p "$work/repo"
echo "sf-benign==1.0.0" >"$work/repo/requirements.txt"
cat >"$work/repo/Gemfile.lock" <<'EOF'
GEM
  remote: https://rubygems.org/
  specs:
    sf-gem-compact (0.4.1)

PLATFORMS
  ruby

DEPENDENCIES
  sf-gem-compact
EOF
before=$(sql "SELECT count(*) FROM scan_batches")
timeout 60 "$cli" --server "$url" --timeout 3 --progress off deps "$work/repo" >"$work/deps.out" 2>"$work/deps.err"
last=$(sql "SELECT id FROM scan_batches ORDER BY created_at DESC LIMIT 1")
ok "scanfarm deps sent one batch of a pypi and a rubygems reference" \
  '[ "$(sql "SELECT count(*) FROM scan_batches")" = "$((before + 1))" ] &&
   [ "$(sql "SELECT string_agg(s.ecosystem || '"':'"' || s.name, '"','"' ORDER BY s.ecosystem)
             FROM scan_batch_items i JOIN scans s ON s.id = i.scan_id WHERE i.batch_id = '"'"'$last'"'"'")" = "pypi:sf-benign,rubygems:sf-gem-compact" ]'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
