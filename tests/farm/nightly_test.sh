#!/usr/bin/env bash
# nightly_test — org-wide dependency scans end to end on a whole farm with a
# loopback npm registry (tools/npm_registry.py laid out, fake_registry.py
# serving): three repositories whose lockfiles (package-lock.json,
# yarn.lock, pnpm-lock.yaml, made now by the rootfs's npm, yarn and pnpm
# against that registry) share dependencies, one of them the harmless
# npmrc-stealer, and a fourth with a requirements.txt. `scanfarm deps`
#   - scans each unique npm package once (three jobs, each tarball fetched
#     once), reports the PyPI one (not in the loopback PEP 503 index: it
#     answers 404) as failed with the reason, never clean;
#   - exits 1 for the stealer, which every report format (table, json,
#     SARIF, GitLab; the last three written by one run) shows at its
#     lockfile and line in each repository;
#   - a second run is answered entirely from the verdict cache: no job, no
#     download;
# SARIF validates against the official SARIF 2.1.0 schema, the GitLab
# report against tests/schemas' structural check (see its README); the
# progress bar redraws in place in a pseudo-terminal, plain lines without
# one. The streamed batch API directly: answers line by line, a bad line
# refused alone, a stream cut off leaves nothing.
#   nightly_test.sh SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
farm_init nightly "$1" "$2" "$3"
reg=
trap '[ -n "$reg" ] && kill "$reg" 2>/dev/null; farm_cleanup' EXIT
sql() { psql "$dsn" -tAc "$1"; }
cli=$build/cli/scanfarm

regport=$((port + 3)) regurl=http://127.0.0.1:$((port + 3))
pk=$src/tests/packages
mkdir -p "$work/pk" && cp -R "$pk/attack-npmrc-stealer" "$work/pk/" && arm "$work/pk/attack-npmrc-stealer"
python3 "$src/tests/tools/npm_registry.py" "$work/registry" "$regurl" \
  "$pk/benign-banner" "$pk/dep-victim" "$work/pk/attack-npmrc-stealer" >"$work/registry.txt"
python3 "$src/tests/tools/fake_registry.py" "$work/registry" "$regport" "$work/registry.log" &
reg=$!
for _ in $(seq 1 50); do curl -s -o /dev/null "$regurl/sf-victim" && break; sleep 0.1; done
export SCANFARM_NPM_REGISTRY=$regurl/
# the PEP 503 index: the same loopback server, which has no project page for
# requests (the references resolve to "not found", quickly, never clean)
export SCANFARM_PYPI_INDEX=$regurl/simple
"$src/scripts/farm.sh" up || { echo "FAIL - farm did not start"; exit 1; }

# --- three repositories, three lockfile formats, shared dependencies
in_rootfs() {
  unshare --mount --fork sh -c 'mount --bind "$1" "$2/mnt" && mount -t tmpfs scratch "$2/tmp" &&
    mount -t proc proc "$2/proc" && exec chroot "$2" env HOME=/tmp sh -c "cd /mnt && $3"' \
    in_rootfs "$1" "$src/var/rootfs" "$2" >>"$work/lockgen.log" 2>&1
}
repo() { # NAME DEPENDENCIES-JSON
  mkdir -p "$work/repos/$1"
  jq -n --arg n "$1" --argjson d "$2" '{name: $n, version: "1.0.0", private: true, dependencies: $d}' \
    >"$work/repos/$1/package.json"
}
stealer=scanfarm-test-attack-npmrc-stealer banner=scanfarm-test-benign-banner
repo app-npm "{\"$banner\": \"1.0.0\", \"sf-victim\": \"1.0.0\", \"$stealer\": \"1.0.0\"}"
repo app-yarn "{\"$banner\": \"^1.0.0\", \"sf-victim\": \"1.0.0\"}"
repo app-pnpm "{\"$banner\": \"1.0.0\", \"$stealer\": \"^1.0.0\"}"
in_rootfs "$work/repos/app-npm" "npm install --package-lock-only --ignore-scripts --no-audit --no-fund \
  --registry=$regurl/ --cache=/tmp/npm"
in_rootfs "$work/repos/app-yarn" "yarnpkg install --ignore-scripts --non-interactive --no-default-rc \
  --registry $regurl/ --cache-folder /tmp/yarn"
rm -rf "$work/repos/app-yarn/node_modules"
in_rootfs "$work/repos/app-pnpm" "pnpm install --lockfile-only --ignore-scripts --ignore-pnpmfile \
  --registry=$regurl/ --store-dir=/tmp/pnpm-store"
mkdir -p "$work/repos/app-py"
printf 'requests==2.31.0\n' >"$work/repos/app-py/requirements.txt"
ok "the three lockfiles were made by npm, yarn and pnpm" \
  '[ -f "$work/repos/app-npm/package-lock.json" ] && [ -f "$work/repos/app-yarn/yarn.lock" ] && [ -f "$work/repos/app-pnpm/pnpm-lock.yaml" ]'
cd "$work/repos"
line_of() { grep -n "$2" "$1" | head -n1 | cut -d: -f1; } # FILE PATTERN
npm_line=$(line_of app-npm/package-lock.json "\"node_modules/$stealer\"")
pnpm_line=$(line_of app-pnpm/pnpm-lock.yaml "^  $stealer@1.0.0:")

# --- the inventory alone
"$cli" deps --scan no app-npm app-yarn app-pnpm app-py >"$work/inv.json" 2>"$work/inv.err"
ok "deps --scan no: 4 unique packages from 4 lockfiles" \
  '[ "$(jq -c "[(.packages | length), .lockfiles]" "$work/inv.json")" = "[4,4]" ]'
ok "the banner is one package used in all three repositories" \
  '[ "$(jq -r --arg b "$banner" "[.packages[] | select(.name == \$b) | .uses[].repository] | sort | join(\" \")" "$work/inv.json")" = "app-npm app-pnpm app-yarn" ]'

# --- first run: each unique package scanned once (yarn fetched tarballs
# to make its lockfile: downloads count from here)
logstart=$(wc -l <"$work/registry.log")
downloads() { tail -n +"$((logstart + 1))" "$work/registry.log" | grep -c "^GET /-/.*\.tgz 200"; }
"$cli" --server "$url" deps --format json --output "$work/run1.json" --progress lines \
  app-npm app-yarn app-pnpm app-py 2>"$work/run1.err"
rc=$?
ok "first run exits 1: the stealer raised alerts ($rc)" '[ "$rc" = 1 ]'
ok "three jobs for three unique npm packages" '[ "$(sql "SELECT count(*) FROM jobs")" = 3 ]'
ok "each tarball was downloaded once" \
  '[ "$(downloads)" = 3 ]'
verdict() { jq -r --arg n "$2" '.packages[] | select(.name == $n) | .verdict' "$1"; }
ok "the stealer's verdict: alerts" '[ "$(verdict "$work/run1.json" "$stealer")" = alerts ]'
ok "the banner and sf-victim: clean" \
  '[ "$(verdict "$work/run1.json" "$banner") $(verdict "$work/run1.json" sf-victim)" = "clean clean" ]'
ok "requests (PyPI): not in the index, failed, not clean" '[ "$(verdict "$work/run1.json" requests)" = failed ]'
ok "the stealer's alerts name its rule" \
  'jq -e --arg n "$stealer" "[.packages[] | select(.name == \$n) | .alerts[].rule] | index(\"Read npm credentials file\") != null" "$work/run1.json" >/dev/null'
ok "its uses: app-npm package-lock.json:$npm_line and app-pnpm pnpm-lock.yaml:$pnpm_line" \
  '[ "$(jq -r --arg n "$stealer" ".packages[] | select(.name == \$n) | .uses | map(\"\(.repository) \(.file):\(.line)\") | sort | join(\",\")" "$work/run1.json")" = "app-npm package-lock.json:$npm_line,app-pnpm pnpm-lock.yaml:$pnpm_line" ]'
ok "plain progress lines on a non-terminal" 'grep -q "^scanfarm: .* done, .* cached, .* queued, .* running, .* failed, .*/s, ETA" "$work/run1.err"'

# --- second run: entirely from the verdict cache
jobs=$(sql "SELECT count(*) FROM jobs")
"$cli" --server "$url" deps --format json --output "$work/run2.json" app-npm app-yarn app-pnpm app-py 2>/dev/null
rc=$?
ok "second run exits 1 again ($rc)" '[ "$rc" = 1 ]'
ok "no job queued by the second run" '[ "$(sql "SELECT count(*) FROM jobs")" = "$jobs" ]'
ok "no tarball downloaded again" '[ "$(downloads)" = 3 ]'
ok "every npm package from the cache" \
  '[ "$(jq -c "[.packages[] | select(.ecosystem == \"npm\") | .cached] | unique" "$work/run2.json")" = "[true]" ] && [ "$(jq .summary.cached "$work/run2.json")" = 3 ]'
ok "the same verdicts" '[ "$(jq -c "[.packages[].verdict]" "$work/run1.json")" = "$(jq -c "[.packages[].verdict]" "$work/run2.json")" ]'

# --- every report format shows the stealer at its lockfile and line: the
# three written by one run (one batch, one set of verdicts)
batches=$(sql "SELECT count(*) FROM scan_batches")
"$cli" --server "$url" deps --format table,sarif,gitlab --output "-,$work/r.sarif,$work/r.gitlab" \
  --progress off app-npm app-yarn app-pnpm app-py >"$work/r.table" 2>/dev/null
rc=$?
ok "one run, three reports: exit 1 for the stealer, one batch ($rc)" \
  '[ "$rc" = 1 ] && [ "$(sql "SELECT count(*) FROM scan_batches")" = $((batches + 1)) ] && [ -s "$work/r.sarif" ] && [ -s "$work/r.gitlab" ]'
ok "table: the stealer with its verdict and a lockfile line" \
  'grep -E "^npm $stealer@1.0.0 +alerts" "$work/r.table" | grep -q "package-lock.json:$npm_line\|pnpm-lock.yaml:$pnpm_line"'
ok "table: requests failed; the summary line" \
  'grep -qE "^pypi requests@2.31.0 +failed" "$work/r.table" && grep -q "^4 packages from 4 lockfiles" "$work/r.table"'
ok "SARIF validates against the SARIF 2.1.0 schema" \
  'python3 "$src/tests/tools/validate_json.py" "$src/tests/schemas/sarif-2.1.0-rtm.5.json" "$work/r.sarif"'
sarif_loc() { jq -r --arg repo "scanfarm/$1/" '.runs[] | select(.automationDetails.id == $repo) | .results[]
  | select(.ruleId == "scanfarm/read-npm-credentials-file") | .locations[0].physicalLocation
  | "\(.artifactLocation.uri):\(.region.startLine)"' "$work/r.sarif"; }
ok "SARIF: a run per repository; the stealer at app-npm package-lock.json:$npm_line" \
  '[ "$(jq ".runs | length" "$work/r.sarif")" = 4 ] && [ "$(sarif_loc app-npm)" = "package-lock.json:$npm_line" ]'
ok "SARIF: …and at app-pnpm pnpm-lock.yaml:$pnpm_line" '[ "$(sarif_loc app-pnpm)" = "pnpm-lock.yaml:$pnpm_line" ]'
ok "SARIF: fingerprints, the rule in the driver, the failed package as incomplete" \
  'jq -e "[.runs[].results[] | .partialFingerprints[\"scanfarmFinding/v1\"] | length == 64] | all" "$work/r.sarif" >/dev/null &&
   jq -e ".runs[] | select(.automationDetails.id == \"scanfarm/app-npm/\") | .tool.driver.rules | map(.id) | index(\"scanfarm/read-npm-credentials-file\") != null" "$work/r.sarif" >/dev/null &&
   jq -e ".runs[] | select(.automationDetails.id == \"scanfarm/app-py/\") | .results[0].ruleId == \"scanfarm/scan-incomplete\"" "$work/r.sarif" >/dev/null'
ok "GitLab report validates against GitLab's dependency-scanning schema 15.0.7" \
  'python3 "$src/tests/tools/validate_json.py" "$src/tests/schemas/gitlab-dependency-scanning-15.0.7.json" "$work/r.gitlab"'
ok "GitLab report also passes our structural check (tests/schemas/README.md)" \
  'python3 "$src/tests/tools/validate_json.py" "$src/tests/schemas/gitlab-ds-structure.json" "$work/r.gitlab"'
ok "GitLab: the stealer's finding at each lockfile, with the dependency" \
  '[ "$(jq -r --arg n "$stealer" "[.vulnerabilities[] | select(.location.dependency.package.name == \$n and (.identifiers[0].value == \"scanfarm/read-npm-credentials-file\")) | .location.file] | sort | join(\",\")" "$work/r.gitlab")" = "package-lock.json,pnpm-lock.yaml" ]'
ok "GitLab: dependency_files list every lockfile" \
  '[ "$(jq -r "[.dependency_files[].path] | sort | join(\",\")" "$work/r.gitlab")" = "package-lock.json,pnpm-lock.yaml,requirements.txt,yarn.lock" ]'

# --- the progress bar in a pseudo-terminal: redrawn in place
script -qfec "$cli --server $url deps --format json --output $work/pty.json app-npm app-yarn" "$work/pty.out" >/dev/null 2>&1
ok "on a terminal the bar redraws in place (\\r, [###…], cleared line)" \
  'grep -q $'"'"'\r\[#'"'"' "$work/pty.out" && grep -q $'"'"'\033\[K'"'"' "$work/pty.out" && grep -q "3/3 done, 3 cached" "$work/pty.out"'

# --- the streamed batch API itself
printf '%s\n' "{\"package\":\"$banner\",\"version\":\"1.0.0\"}" 'not json' \
  '{"ecosystem":"cargo","package":"serde","version":"1.0.0"}' '' \
  "{\"package\":\"sf-victim\",\"version\":\"1.0.0\"}" >"$work/stream.ndjson"
curl -s -D "$work/sh" -H 'Content-Type: application/x-ndjson' --data-binary @"$work/stream.ndjson" \
  "$url/v1/batches?labels=run=nightly" >"$work/stream.out"
ok "NDJSON: 202, the batch first, then one answer line per item" \
  'grep -q "^HTTP/1.1 202" "$work/sh" && [ "$(wc -l <"$work/stream.out")" = 5 ] && [ "$(head -n1 "$work/stream.out" | jq -c .counts)" = "{\"items\":4,\"accepted\":2,\"cached\":2,\"queued\":0,\"resolving\":0,\"rejected\":2}" ]'
ok "NDJSON: cached items answered with their scan, bad and cargo lines refused alone" \
  '[ "$(sed -n 2,5p "$work/stream.out" | jq -r "if .error then .error.code else \"\(.cached)\" end" | tr "\n" " ")" = "true bad_item unsupported_ecosystem true " ]'
sid=$(head -n1 "$work/stream.out" | jq -r .id)
ok "NDJSON: the batch's view has the same counts" \
  '[ "$(curl -s "$url/v1/batches/$sid" | jq -c "[.counts.items, .counts.cached, .counts.rejected, .done]")" = "[4,2,2,true]" ]'
batches=$(sql "SELECT count(*) FROM scan_batches")
python3 - "$port" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /v1/batches HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
          b"Content-Length: 100000\r\n\r\n" + b'{"package":"sf-victim","version":"1.0.0"}\n' * 50)
s.close()
PY
sleep 1
ok "a stream cut off leaves no batch behind" '[ "$(sql "SELECT count(*) FROM scan_batches")" = "$batches" ]'
ok "coordinator still up" 'curl -fs "$url/healthz" >/dev/null'

# SCANFARM_TEST_KEEP=DIR keeps the reports (docs/nightly.md shows them)
[ -n "${SCANFARM_TEST_KEEP:-}" ] && mkdir -p "$SCANFARM_TEST_KEEP" &&
  cp "$work"/run1.err "$work"/run1.json "$work"/r.* "$work/pty.out" "$work/stream.out" "$SCANFARM_TEST_KEEP"/
cd /
"$src/scripts/farm.sh" down >/dev/null 2>&1
ok "no sanitizer findings in the daemons' logs" '! grep -E "Sanitizer|runtime error:" "$work/log/"*.log'
farm_finish
