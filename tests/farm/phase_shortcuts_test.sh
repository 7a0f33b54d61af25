#!/usr/bin/env bash
# phase_shortcuts_test — the work a scan leaves out, and that it is left out
# only when it is safe, end to end on a whole farm (eBPF sensor, rules/):
#   - a package with a postinstall still runs it, under npm (npm's header
#     line in the output, npm run-script in the process tree), and no
#     phase is marked skipped;
#   - a package with no dependencies and no install script starts no
#     fetch and no install container: the report says each was skipped and
#     why ("no dependencies to fetch", "no install scripts: …"), and the
#     scan still finishes with the import phase run and watched (what the
#     package did when loaded is a fact of phase import, attributed to it);
#   - the import phase runs each package in a node of its own started by
#     the sandbox's init (init --each, no node driver): a package that
#     keeps node alive is killed after 10 s and said "timed out", one that
#     throws is said "failed (exit 3)", and neither fails the scan;
#   - no command line or environment a package can read in the import
#     phase names the harness (the lines' label stays out of them);
#   - a binding.gyp at the package's root with no install script is built
#     in the install phase as npm builds it (node-gyp rebuild, its implicit
#     install script: the package's gyp file runs a command, seen in phase
#     install), and the package's postinstall runs once, not twice.
#   phase_shortcuts_test.sh SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
farm_init shortcuts "$1" "$2" "$3"
trap 'farm_cleanup' EXIT
export SCANFARM_RULES=$src/rules
"$src/scripts/farm.sh" up || { echo "FAIL - farm did not start"; exit 1; }

# mkpkg NAME INDEX-JS [PACKAGE-JSON-EXTRA] → $work/NAME.tgz, an npm pack tarball
mkpkg() {
  mkdir -p "$work/pkg/$1/package"
  printf '{"name":"sf-short-%s","version":"1.0.0","main":"index.js"%s}\n' "$1" "${3:-}" \
    >"$work/pkg/$1/package/package.json"
  printf '%s\n' "$2" >"$work/pkg/$1/package/index.js"
  tar -czf "$work/$1.tgz" -C "$work/pkg/$1" package
}
# what the plain package does when loaded: leaves a file (a fact of the
# import phase) and looks for a word naming the harness in every command
# line and environment it can read
mkpkg plain "const fs = require('fs');
fs.writeFileSync('/tmp/sf-short-plain-loaded', 'x');
let seen = [];
for (const p of fs.readdirSync('/proc')) {
  if (!/^[0-9]+\$/.test(p)) continue;
  for (const f of ['cmdline', 'environ']) {
    let t = '';
    try { t = fs.readFileSync('/proc/' + p + '/' + f, 'latin1'); } catch (e) { continue; }
    if (/scanfarm|sandbox|SF_INIT/i.test(t)) seen.push(p + '/' + f);
  }
}
console.log('harness-words: ' + (seen.length ? seen.join(',') : 'none'));"
mkpkg hang "setInterval(() => {}, 1000);"
mkpkg throws "throw new Error('boom at load');"
mkpkg gyp "module.exports = 1;" ',"scripts":{"postinstall":"echo gyp-postinstall-ran"}'
# gyp runs the <!(...) command while it reads the file: what a hostile
# binding.gyp does (here: a file left, a fact of phase install)
printf "{'targets': [{'target_name': 'x', 'sources': ['x.c'], 'defines': ['<!(touch /tmp/sf-short-gyp-read && echo GYP_READ)']}]}\n" \
  >"$work/pkg/gyp/package/binding.gyp"
echo 'int sf_short_gyp;' >"$work/pkg/gyp/package/x.c"
tar -czf "$work/gyp.tgz" -C "$work/pkg/gyp" package
mkdir -p "$work/pkg/banner"
cp -R "$src/tests/packages/benign-banner" "$work/pkg/banner/package"
rm -f "$work/pkg/banner/package/expect"
tar -czf "$work/banner.tgz" -C "$work/pkg/banner" package

declare -A ids
for p in banner plain hang throws gyp; do
  ids[$p]=$(curl -s -H 'Content-Type: application/octet-stream' --data-binary @"$work/$p.tgz" \
    "$url/v1/scans?rescan=1" | jq -r '.id // empty')
  ok "$p: submitted" '[ ${#ids[$p]} -eq 36 ]'
done
report() { wait_scan "${ids[$1]}" >/dev/null; curl -s "$url/v1/scans/${ids[$1]}"; }
phase() { jq -r --arg n "$2" ".phases[] | select(.name == \$n) | $3" <<<"$1"; }

r=$(report banner)
ok "banner: finished" '[ "$(jq -r .status <<<"$r")" = finished ]'
ok "banner: the install phase ran, nothing marked skipped" \
  '[ "$(phase "$r" install .ran)" = true ] && [ "$(phase "$r" install .skipped)" = null ]'
ok "banner: the postinstall ran under npm (npm's header line, npm run-script in the tree)" \
  'phase "$r" install .stdout_tail | grep -q "^> sf-short-banner@1.0.0 postinstall\|^> scanfarm-test-benign-banner@1.0.0 postinstall" &&
   jq -e "[.facts.process[].detail] | any(test(\"npm run-script --offline --ignore-scripts postinstall\"))" <<<"$r" >/dev/null'
# (it has no index.js: its require fails, said so, as it always was)
ok "banner: the package itself was imported too" \
  'phase "$r" import .stdout_tail | grep -qx "scanfarm-import .: failed (exit 3)"'

r=$(report plain)
ok "plain: finished" '[ "$(jq -r .status <<<"$r")" = finished ]'
ok "plain: fetch skipped, saying there is nothing to fetch" \
  '[ "$(phase "$r" fetch .ran)" = false ] && [ "$(phase "$r" fetch .skipped)" = "no dependencies to fetch" ] &&
   [ "$(phase "$r" fetch .error)" = null ]'
ok "plain: install skipped, saying there is no install script" \
  '[ "$(phase "$r" install .ran)" = false ] && phase "$r" install .skipped | grep -q "^no install scripts: " &&
   [ "$(phase "$r" install .error)" = null ]'
ok "plain: no npm ran at all (no install container)" \
  'jq -e "[.facts.process[]?.detail] | any(test(\"npm\")) | not" <<<"$r" >/dev/null'
ok "plain: the import phase ran and loaded the package" \
  '[ "$(phase "$r" import .ran)" = true ] && phase "$r" import .stdout_tail | grep -qx "scanfarm-import .: ok"'
ok "plain: what it did when loaded is a fact of phase import, attributed to it" \
  'jq -e ".facts.file_written[] | select(.value == \"/tmp/sf-short-plain-loaded\" and .phase == \"import\" and .package == \"sf-short-plain@1.0.0\")" <<<"$r" >/dev/null'
ok "plain: no command line or environment it could read names the harness" \
  'phase "$r" import .stdout_tail | grep -qx "harness-words: none" || { phase "$r" import .stdout_tail; false; }'
# the import phase's processes: the one node loading the package, whose
# parent is the init's runner (vpid 2, a fork of pid 1), no node driver
ok "plain: the package's node was started by the init, no node driver in the tree" \
  '[ "$(jq "[.facts.process[]? | select(.phase == \"import\")] | length" <<<"$r")" = 1 ] &&
   jq -e ".facts.process[] | select(.phase == \"import\") | .detail | test(\"^ppid=2 node -e .* [.]\$\")" <<<"$r" >/dev/null'

r=$(report hang)
ok "hang: finished (one package timing out is no failure)" '[ "$(jq -r .status <<<"$r")" = finished ]'
ok "hang: said timed out, after its 10 s" \
  'phase "$r" import .stdout_tail | grep -qx "scanfarm-import .: timed out" && [ "$(phase "$r" import .duration_ms)" -ge 10000 ]'

r=$(report throws)
ok "throws: finished, said failed with node's exit status and the reason on stderr" \
  '[ "$(jq -r .status <<<"$r")" = finished ] && phase "$r" import .stdout_tail | grep -qx "scanfarm-import .: failed (exit 3)" &&
   phase "$r" import .stderr_tail | grep -q "boom at load"'

r=$(report gyp)
ok "gyp: finished, the install phase ran node-gyp rebuild as npm's implicit install script" \
  '[ "$(jq -r .status <<<"$r")" = finished ] && [ "$(phase "$r" install .ran)" = true ] &&
   [ "$(phase "$r" install .exit_status)" = 0 ] && phase "$r" install .stdout_tail | grep -q "^> node-gyp rebuild"'
ok "gyp: what the binding.gyp ran is seen in phase install" \
  'jq -e ".facts.file_written[] | select(.value == \"/tmp/sf-short-gyp-read\" and .phase == \"install\" and .package == \"sf-short-gyp@1.0.0\")" <<<"$r" >/dev/null'
ok "gyp: the package's postinstall ran once" \
  '[ "$(phase "$r" install .stdout_tail | grep -cx "gyp-postinstall-ran")" = 1 ]'

[ -n "${SF_SHORTCUTS_KEEP:-}" ] && for p in "${!ids[@]}"; do curl -s "$url/v1/scans/${ids[$p]}" >"$SF_SHORTCUTS_KEEP.$p.json"; done
farm_finish
