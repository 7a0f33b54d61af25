#!/usr/bin/env bash
# project_test — scanning what a *project* really installs (the project-scan
# issue), end to end on a whole farm with a loopback npm registry
# (tools/npm_registry.py laid out, tools/fake_registry.py serving):
#   - a three-level tree (project → sf-tree-mid → sf-tree-leaf) whose
#     transitive dependency's postinstall steals a (fake) token: the alerts
#     name sf-tree-leaf@1.0.0 and phase install; with no lockfile (npm
#     install) and with a package-lock.json (npm ci);
#   - an import-time payload (sf-import-payload) → alert in phase import;
#   - dependency tampering (sf-tamper rewrites sf-victim) → the rule fires,
#     naming the writer and the victim;
#   - the fetch phase runs no lifecycle script; a crafted project .npmrc
#     pointing at another loopback port gets nothing (and is on record);
#   - a missing dependency, an integrity mismatch and the registry down are
#     never a clean finish: /v1 failed with the reason, Package Hunter's
#     view "error", the CLI exits 2;
#   - a benign project with several dependencies (a build step, a printing
#     postinstall, a shipped binary, a prepare of its own) installs
#     completely and raises nothing at Notice or above.
#   project_test.sh SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
farm_init project "$1" "$2" "$3"
reg= evil=
trap '[ -n "$reg" ] && kill "$reg" 2>/dev/null; [ -n "$evil" ] && kill "$evil" 2>/dev/null; farm_cleanup' EXIT
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
check() { local before=$failed; ok "$@"; [ "$failed" = "$before" ]; }

# --- the registry: every dependency the test projects use
regport=$((port + 3)) evilport=$((port + 4))
regurl=http://127.0.0.1:$regport
pk=$src/tests/packages
python3 "$src/tests/tools/npm_registry.py" "$work/registry" "$regurl" \
  "$pk/dep-tree-mid" "$pk/dep-tree-leaf" "$pk/dep-import-payload" "$pk/dep-tamper" \
  "$pk/dep-victim" "$pk/benign-build" "$pk/benign-banner" "$pk/benign-shipped-tool" \
  >"$work/registry.txt"
start_registry() {
  python3 "$src/tests/tools/fake_registry.py" "$work/registry" "$regport" "$work/registry.log" &
  reg=$!
  for _ in $(seq 1 50); do curl -s -o /dev/null "$regurl/sf-victim" && break; sleep 0.1; done
}
start_registry
ok "the loopback registry serves the packuments" '[ "$(code "$regurl/sf-tree-leaf")" = 200 ]'
# a second "registry" a crafted .npmrc points at: it must never be asked
mkdir -p "$work/evil"
python3 "$src/tests/tools/fake_registry.py" "$work/evil" "$evilport" "$work/evil.log" &
evil=$!
: >"$work/evil.log"

export SCANFARM_NPM_REGISTRY=$regurl/
"$src/scripts/farm.sh" up || { echo "FAIL - farm did not start"; exit 1; }

# project DIR-NAME [EXTRA-FILE-SETUP] → $work/NAME.tgz (a project tarball)
project() {
  rm -rf "$work/proj/$1"; mkdir -p "$work/proj/$1/app"
  cp "$pk/$2/package.json" "$work/proj/$1/app/"
}
pack() { tar -czf "$work/$1.tgz" -C "$work/proj/$1" app; }
submit() { curl -s -H 'Content-Type: application/octet-stream' --data-binary @"$work/$1.tgz" \
  "$url/monitor/project/npm?rescan=1" | jq -r '.id // empty'; }
wait_v1() { wait_scan "$1" >/dev/null; curl -s "$url/v1/scans/$1"; }
# alerts RULE PACKAGE PHASE: how many alerts of RULE name PACKAGE and PHASE
alerts() { jq --arg r "$1" --arg p "$2" --arg ph "$3" '[.alerts[] | select(.rule == $r
  and .output_fields["scanfarm.package"] == $p and .output_fields["scanfarm.phase"] == $ph)]
  | length' <<<"$report"; }
loud='["emergency","alert","critical","error","warning","warn","notice"]'

# Lockfiles are made at test time against the loopback registry by the
# rootfs's own npm, yarn and pnpm (chroot, the project at /mnt, a private
# /tmp and /proc): the host needs none of them.
in_rootfs() {
  unshare --mount --fork sh -c 'mount --bind "$1" "$2/mnt" && mount -t tmpfs scratch "$2/tmp" &&
    mount -t proc proc "$2/proc" && exec chroot "$2" env HOME=/tmp sh -c "cd /mnt && $3"' \
    in_rootfs "$1" "$src/var/rootfs" "$2" >>"$work/lockgen.log" 2>&1
}
# --- 1. the tree, no lockfile: npm install; then with a package-lock.json: npm ci
project tree project-tree; pack tree
mkdir -p "$work/proj/treelock/app"; cp "$pk/project-tree/package.json" "$work/proj/treelock/app/"
in_rootfs "$work/proj/treelock/app" "npm install --package-lock-only --ignore-scripts --no-audit \
  --no-fund --registry=$regurl/ --cache=/tmp/npm"
ok "a package-lock.json was made for the tree" '[ -f "$work/proj/treelock/app/package-lock.json" ]'
pack treelock
# --- the crafted .npmrc: registry and a scope sent to another loopback port
project npmrc project-tree
printf 'registry=http://127.0.0.1:%s/\n@evil:registry=http://127.0.0.1:%s/\nignore-scripts=true\nfund=false\n' \
  "$evilport" "$evilport" >"$work/proj/npmrc/app/.npmrc"
pack npmrc
# --- failures: a missing dependency, an integrity mismatch
project missing project-tree
jq '.dependencies["sf-not-in-registry"] = "1.0.0"' "$pk/project-tree/package.json" \
  >"$work/proj/missing/app/package.json"
pack missing
project benign project-benign; pack benign
# --- the tree with a yarn.lock (yarn classic) and with a pnpm-lock.yaml (pnpm),
# each made now against the loopback registry by the rootfs's own yarn/pnpm
# (chroot, the project at /mnt, a private /tmp and /proc)
yarn_lock() { in_rootfs "$1" "yarnpkg install --ignore-scripts --non-interactive --no-default-rc \
  --registry $regurl/ --cache-folder /tmp/yarn" && rm -rf "$1/node_modules"; }
pnpm_lock() { in_rootfs "$1" "pnpm install --lockfile-only --ignore-scripts --ignore-pnpmfile \
  --registry=$regurl/ --store-dir=/tmp/pnpm-store"; }
for tool in yarn pnpm; do
  lock=yarn.lock; [ $tool = pnpm ] && lock=pnpm-lock.yaml
  project $tool project-tree
  ${tool}_lock "$work/proj/$tool/app"
  ok "$tool: a $lock was made for the tree" '[ -f "$work/proj/$tool/app/$lock" ] && [ ! -e "$work/proj/$tool/app/node_modules" ]'
  pack $tool
  # the lockfile made without sf-victim, the package.json asking for it
  project ${tool}stale project-tree
  jq 'del(.dependencies["sf-victim"])' "$pk/project-tree/package.json" >"$work/proj/${tool}stale/app/package.json"
  ${tool}_lock "$work/proj/${tool}stale/app"
  cp "$pk/project-tree/package.json" "$work/proj/${tool}stale/app/"
  pack ${tool}stale
done

declare -A id
for s in tree treelock npmrc missing benign; do id[$s]=$(submit "$s"); done
ok "five projects submitted" '[ ${#id[tree]} -eq 36 ] && [ ${#id[benign]} -eq 36 ] && [ ${#id[missing]} -eq 36 ]'
for s in yarn pnpm yarnstale pnpmstale; do id[$s]=$(submit "$s"); done
ok "the yarn and pnpm projects submitted" '[ ${#id[yarn]} -eq 36 ] && [ ${#id[pnpm]} -eq 36 ] && [ ${#id[yarnstale]} -eq 36 ] && [ ${#id[pnpmstale]} -eq 36 ]'

# What every package manager's scan of the tree must show ($s, $report).
tree_findings() {
  check "$s: finished (not failed): $(jq -r '.status + " " + (.reason // "")' <<<"$report")" \
    '[ "$(jq -r .status <<<"$report")" = finished ]' || jq '.phases' <<<"$report"
  ok "$s: three phases ran and exited 0" \
    '[ "$(jq -c "[.phases[] | [.name, .ran, .exit_status]]" <<<"$report")" = "[[\"fetch\",true,0],[\"install\",true,0],[\"import\",true,0]]" ]'
  ok "$s: the transitive dependency's token theft is named sf-tree-leaf@1.0.0, phase install" \
    '[ "$(alerts "Read npm credentials file" sf-tree-leaf@1.0.0 install)" -ge 1 ] &&
     [ "$(alerts "Outbound connection attempt" sf-tree-leaf@1.0.0 install)" -ge 1 ]'
  ok "$s: the import-time payload is named sf-import-payload@1.0.0, phase import" \
    '[ "$(alerts "Outbound connection attempt" sf-import-payload@1.0.0 import)" -ge 1 ]'
}
tree_scripts() { # fetch ran no script; install ran the leaf's, as the leaf
  local fetch_cmds install_cmds
  fetch_cmds=$(jq -r '.facts.process[]? | select(.phase == "fetch") | .detail' <<<"$report")
  install_cmds=$(jq -r '.facts.process[]? | select(.phase == "install" and .package == "sf-tree-leaf@1.0.0") | .detail' <<<"$report")
  ok "$s: no lifecycle script ran in the fetch phase" '! grep -q "mark.js\|steal.js\|tamper.js" <<<"$fetch_cmds"'
  ok "$s: the leaf's preinstall ran in the install phase, as sf-tree-leaf" 'grep -q "mark.js" <<<"$install_cmds"'
}
tree_install_scripts() {
  ok "$s: install scripts: sf-tree-leaf and sf-tamper declared and ran them" \
    '[ "$(jq -c "[.packages[] | select(.install_scripts) | .name] | sort" <<<"$report")" = "[\"sf-tamper\",\"sf-tree-leaf\"]" ] &&
     [ "$(jq -c "[.packages[] | select(.ran_install_scripts) | .name] | sort" <<<"$report")" = "[\"sf-tamper\",\"sf-tree-leaf\"]" ]'
}

for s in tree treelock; do
  report=$(wait_v1 "${id[$s]}")
  echo "$report" >"$work/$s.json"
  tree_findings
  ok "$s: dependency tampering names the writer and the victim" \
    '[ "$(jq "[.alerts[] | select(.rule == \"Dependency tampering\" and .output_fields[\"scanfarm.package\"] == \"sf-tamper@1.0.0\" and (.output | contains(\"sf-victim@1.0.0\")))] | length" <<<"$report")" -ge 1 ]'
  tree_scripts
  ok "$s: the packages: the project and its five dependencies, with their paths" \
    '[ "$(jq -c "[.packages[] | .path] | sort" <<<"$report")" = "[\"\",\"node_modules/sf-import-payload\",\"node_modules/sf-tamper\",\"node_modules/sf-tree-leaf\",\"node_modules/sf-tree-mid\",\"node_modules/sf-victim\"]" ]'
  tree_install_scripts
  ok "$s: packages that raised alerts are counted" \
    '[ "$(jq "[.packages[] | select(.name == \"sf-tree-leaf\") | .alerts] | .[0]" <<<"$report")" -ge 2 ] &&
     [ "$(jq "[.packages[] | select(.name == \"sf-victim\") | .alerts] | .[0]" <<<"$report")" = 0 ]'
done
ok "tree: fetched with npm install (no lockfile)" \
  'jq -r ".facts.process[]? | select(.phase == \"fetch\") | .detail" "$work/tree.json" | grep -q "npm install --ignore-scripts"'
ok "treelock: fetched with npm ci (its package-lock.json)" \
  'jq -r ".facts.process[]? | select(.phase == \"fetch\") | .detail" "$work/treelock.json" | grep -q "npm ci --ignore-scripts"'

# --- yarn classic and pnpm: the same tree, the same findings
for s in yarn pnpm; do
  report=$(wait_v1 "${id[$s]}")
  echo "$report" >"$work/$s.json"
  tree_findings
  tree_scripts
  tree_install_scripts
  ok "$s: the four direct dependencies are marked direct" \
    '[ "$(jq -c "[.packages[] | select(.direct) | .name] | sort" <<<"$report")" = "[\"sf-import-payload\",\"sf-tamper\",\"sf-tree-mid\",\"sf-victim\"]" ]'
done
ok "yarn: fetched with yarn classic, its lockfile frozen" \
  'jq -r ".facts.process[]? | select(.phase == \"fetch\") | .detail" "$work/yarn.json" | grep -q "yarnpkg install --frozen-lockfile --ignore-scripts"'
ok "pnpm: fetched with pnpm, its lockfile frozen" \
  'jq -r ".facts.process[]? | select(.phase == \"fetch\") | .detail" "$work/pnpm.json" | grep -q "pnpm install --frozen-lockfile --ignore-scripts"'
ok "pnpm: dependencies rebuilt by pnpm rebuild in the install phase" \
  'jq -r ".facts.process[]? | select(.phase == \"install\") | .detail" "$work/pnpm.json" | grep -q "pnpm rebuild"'
ok "yarn: dependency tampering names the writer and the victim" \
  '[ "$(jq "[.alerts[] | select(.rule == \"Dependency tampering\" and .output_fields[\"scanfarm.package\"] == \"sf-tamper@1.0.0\" and (.output | contains(\"sf-victim@1.0.0\")))] | length" "$work/yarn.json")" -ge 1 ]'
ok "pnpm: sf-tamper's postinstall ran in the install phase, as sf-tamper" \
  'jq -r ".facts.process[]? | select(.phase == \"install\" and .package == \"sf-tamper@1.0.0\") | .detail" "$work/pnpm.json" | grep -q "tamper.js"'
ok "pnpm: it found no sf-victim beside it (pnpm's isolated layout)" \
  'jq -r ".phases[1].stdout_tail" "$work/pnpm.json" | grep -q "could not rewrite sf-victim: ENOENT"'
ok "pnpm: the tampering attempt (an open of sf-victim's path that failed) names the writer and the victim" \
  '[ "$(jq "[.alerts[] | select(.rule == \"Dependency tampering\" and .output_fields[\"scanfarm.package\"] == \"sf-tamper@1.0.0\" and .output_fields[\"scanfarm.fd.package\"] == \"sf-victim\" and .output_fields[\"evt.res\"] == \"ENOENT\")] | length" "$work/pnpm.json")" -ge 1 ]'
ok "yarn: the packages: the project and its five dependencies, flat" \
  '[ "$(jq -c "[.packages[] | .path] | sort" "$work/yarn.json")" = "[\"\",\"node_modules/sf-import-payload\",\"node_modules/sf-tamper\",\"node_modules/sf-tree-leaf\",\"node_modules/sf-tree-mid\",\"node_modules/sf-victim\"]" ]'
ok "pnpm: the packages: the project and its five dependencies, in pnpm's store" \
  '[ "$(jq -c "[.packages[] | .path] | sort" "$work/pnpm.json")" = "[\"\",\"node_modules/.pnpm/sf-import-payload@1.0.0/node_modules/sf-import-payload\",\"node_modules/.pnpm/sf-tamper@1.0.0/node_modules/sf-tamper\",\"node_modules/.pnpm/sf-tree-leaf@1.0.0/node_modules/sf-tree-leaf\",\"node_modules/.pnpm/sf-tree-mid@1.0.0/node_modules/sf-tree-mid\",\"node_modules/.pnpm/sf-victim@1.0.0/node_modules/sf-victim\"]" ]'
# The package managers read the user's ~/.npmrc (in the install phase the
# runner look's home, holding a canary token): that is no credential theft.
for s in npm yarn pnpm; do
  f=$work/$s.json; [ $s = npm ] && f=$work/tree.json
  ok "$s: its own reading of npm's configuration raises nothing (only sf-tree-leaf's does)" \
    '[ "$(jq "[.alerts[] | select(.rule == \"Read npm credentials file\" and
        .output_fields[\"scanfarm.package\"] != \"sf-tree-leaf@1.0.0\")] | length" "$f")" = 0 ]'
done
for s in yarnstale pnpmstale; do
  report=$(wait_v1 "${id[$s]}")
  echo "$report" >"$work/$s.json"
  ok "$s: a lockfile that lacks what package.json asks for fails the fetch ($(jq -r .reason <<<"$report"))" \
    '[ "$(jq -r .status <<<"$report")" = failed ] && jq -r .reason <<<"$report" | grep -qi "^fetch failed.*\(lockfile needs to be updated\|OUTDATED_LOCKFILE\|not up to date\)"'
  ok "$s: install and import did not run" '[ "$(jq -c "[.phases[] | .ran]" <<<"$report")" = "[true,false,false]" ]'
done

report=$(wait_v1 "${id[npmrc]}")
ok "crafted .npmrc: the scan still installed from the worker's registry ($(jq -r .status <<<"$report"))" \
  '[ "$(jq -r .status <<<"$report")" = finished ] && [ "$(jq "[.packages[]] | length" <<<"$report")" = 6 ]'
ok "crafted .npmrc: the other loopback port got nothing" '[ ! -s "$work/evil.log" ]'
ok "crafted .npmrc: its registry and ignore-scripts lines are on record, phase fetch" \
  '[ "$(jq "[.facts.npmrc_override[]? | select(.phase == \"fetch\")] | length" <<<"$report")" = 3 ]'
ok "crafted .npmrc: ignore-scripts=true did not stop the install scripts" \
  '[ "$(alerts "Read npm credentials file" sf-tree-leaf@1.0.0 install)" -ge 1 ]'

report=$(wait_v1 "${id[missing]}")
ok "missing dependency: failed, reason names the fetch ($(jq -r .reason <<<"$report"))" \
  '[ "$(jq -r .status <<<"$report")" = failed ] && jq -r .reason <<<"$report" | grep -q "^fetch failed"'
ok "missing dependency: install and import did not run" \
  '[ "$(jq -c "[.phases[] | .ran]" <<<"$report")" = "[true,false,false]" ]'
ok "missing dependency: Package Hunter view says error with the reason" \
  '[ "$(curl -s "$url/?id=${id[missing]}" | jq -r ".status + \" \" + (.reason != null | tostring)")" = "error true" ]'
"$build/cli/scanfarm" --server "$url" scan "$work/missing.tgz" >"$work/cli.out" 2>&1
rc=$?
ok "missing dependency: the CLI exits 2 ($rc)" '[ "$rc" = 2 ]'

report=$(wait_v1 "${id[benign]}")
echo "$report" >"$work/benign.json"
check "benign project: finished ($(jq -r '.status + " " + (.reason // "")' <<<"$report"))" \
  '[ "$(jq -r .status <<<"$report")" = finished ]' || jq '.phases' <<<"$report"
ok "benign project: nothing at Notice or above" \
  '[ "$(jq --argjson loud "$loud" "[.alerts[] | select(.priority | ascii_downcase | IN(\$loud[]))] | length" <<<"$report")" = 0 ]' ||
  jq -r '.alerts[] | "    \(.priority) \(.rule): \(.output)"' <<<"$report"
ok "benign project: every dependency installed, the build ran, the project's prepare ran" \
  '[ "$(jq "[.packages[] | select(.path != \"\")] | length" <<<"$report")" = 3 ] &&
   jq -r ".phases[1].stdout_tail" <<<"$report" | grep -q "benign-build: built" &&
   jq -r ".phases[1].stdout_tail" <<<"$report" | grep -q "project-benign: prepare ran"'
ok "benign project: each direct dependency was imported" \
  '[ "$(jq -r ".phases[2].stdout_tail" <<<"$report" | grep -c "^scanfarm-import .*: ")" = 3 ]'

# --- a lockfile that sends a tarball to another loopback port: the proxy
# refuses it (the fetch phase reaches nothing but the registry), on record
mkdir -p "$work/proj/evillock/app"
cp "$work/proj/treelock/app/package.json" "$work/proj/evillock/app/"
jq --arg u "http://127.0.0.1:$evilport/-/sf-victim-1.0.0.tgz" \
  '.packages["node_modules/sf-victim"].resolved = $u' \
  "$work/proj/treelock/app/package-lock.json" >"$work/proj/evillock/app/package-lock.json"
pack evillock
rm -rf "$SCANFARM_VAR/worker/npm-cache" # a cached copy would be used without asking
eid=$(submit evillock)
report=$(wait_v1 "$eid")
ok "lockfile naming another host: failed ($(jq -r .reason <<<"$report"))" \
  '[ "$(jq -r .status <<<"$report")" = failed ] && jq -r .reason <<<"$report" | grep -q "^fetch failed"'
ok "lockfile naming another host: the proxy refused it, on record" \
  'jq -e --arg u "http://127.0.0.1:$evilport/-/sf-victim-1.0.0.tgz" "[.facts.registry_refused[]? | select(.value == \$u and .phase == \"fetch\")] | length >= 1" <<<"$report" >/dev/null'
ok "lockfile naming another host: that port got nothing" '[ ! -s "$work/evil.log" ]'

# --- integrity mismatch: sf-victim's bytes change under its packument
project corrupt project-tree; pack corrupt
cp "$work/registry/-/sf-victim-1.0.0.tgz" "$work/victim.orig"
cp "$work/registry/-/sf-tamper-1.0.0.tgz" "$work/registry/-/sf-victim-1.0.0.tgz"
rm -rf "$SCANFARM_VAR/worker/npm-cache" # a cached good copy would hide the change
cid=$(submit corrupt)
report=$(wait_v1 "$cid")
ok "integrity mismatch: failed with the reason ($(jq -r .reason <<<"$report"))" \
  '[ "$(jq -r .status <<<"$report")" = failed ] && jq -r .reason <<<"$report" | grep -qi "fetch failed.*\(integrity\|EINTEGRITY\|checksum\)"'
cp "$work/victim.orig" "$work/registry/-/sf-victim-1.0.0.tgz"

# --- the registry down: the fetch cannot complete
kill "$reg"; wait "$reg" 2>/dev/null; reg=
rm -rf "$SCANFARM_VAR/worker/npm-cache"
project down project-tree; pack down
did=$(submit down)
report=$(wait_v1 "$did")
ok "registry down: failed, not clean ($(jq -r .reason <<<"$report"))" \
  '[ "$(jq -r .status <<<"$report")" = failed ] && jq -r .reason <<<"$report" | grep -q "^fetch failed"'
ok "registry down: no alerts were invented" '[ "$(jq ".alerts | length" <<<"$report")" = 0 ]'

farm_finish
