#!/usr/bin/env bash
# registry_auth_test — a private npm registry that wants a token, over HTTPS
# with a certificate of its own CA, as a company's registry is:
#   - the worker holds the token and the CA (--npm-registry-auth,
#     --npm-registry-ca); its gateway adds the token, so every request the
#     registry sees carries it;
#   - the same project tree as the project-scan test (a transitive
#     dependency's postinstall steals a fake token) scans completely with no
#     lockfile (npm install), a package-lock.json (npm ci), a yarn.lock
#     (yarn classic) and a pnpm-lock.yaml (pnpm), each lockfile naming the
#     registry's own https:// URLs;
#   - the token is never visible in the sandbox: sf-env-dump's postinstall
#     searches its environment, every .npmrc and every process's command
#     line and environment and finds none, and the report holds it nowhere;
#   - a /v1/batches package reference is resolved by the coordinator from the
#     same registry, with the same credential and CA;
#   - with the token taken away, the same scan fails, never clean.
#   registry_auth_test.sh SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
farm_init regauth "$1" "$2" "$3"
reg=
trap '[ -n "$reg" ] && kill "$reg" 2>/dev/null; farm_cleanup' EXIT
check() { local before=$failed; ok "$@"; [ "$failed" = "$before" ]; }

# --- the registry: HTTPS with its own certificate, a token required
token=sftest-$(openssl rand -hex 16)
mkdir -p "$work/tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$work/tls/key.pem" -out "$work/tls/ca.pem" \
  >/dev/null 2>&1
regport=$((port + 3))
regurl=https://127.0.0.1:$regport
pk=$src/tests/packages
python3 "$src/tests/tools/npm_registry.py" "$work/registry" "$regurl" \
  "$pk/dep-tree-mid" "$pk/dep-tree-leaf" "$pk/dep-import-payload" "$pk/dep-tamper" \
  "$pk/dep-victim" "$pk/dep-env-dump" >"$work/registry.txt"
python3 "$src/tests/tools/fake_registry.py" "$work/registry" "$regport" "$work/registry.log" \
  --token "$token" --tls "$work/tls/ca.pem" "$work/tls/key.pem" &
reg=$!
rcode() { curl -s -o /dev/null -w '%{http_code}' --cacert "$work/tls/ca.pem" "$@"; }
for _ in $(seq 1 50); do [ "$(rcode "$regurl/sf-victim")" = 401 ] && break; sleep 0.1; done
ok "the registry wants the token (401 without, 200 with)" \
  '[ "$(rcode "$regurl/sf-victim")" = 401 ] &&
   [ "$(rcode -H "Authorization: Bearer $token" "$regurl/sf-victim")" = 200 ]'
umask 077; printf '%s\n' "$token" >"$work/token"; umask 022
: >"$work/registry.log"

export SCANFARM_NPM_REGISTRY=$regurl/ SCANFARM_NPM_REGISTRY_AUTH=$work/token
export SCANFARM_NPM_REGISTRY_CA=$work/tls/ca.pem
"$src/scripts/farm.sh" up || { echo "FAIL - farm did not start"; exit 1; }

# The projects: the tree plus sf-env-dump. Lockfiles are made now by the
# rootfs's own npm, yarn and pnpm (chroot), with the token and the CA in a
# project .npmrc that is removed again: the lockfiles name $regurl.
project() {
  rm -rf "$work/proj/$1"; mkdir -p "$work/proj/$1/app"
  jq '.dependencies["sf-env-dump"] = "1.0.0"' "$pk/project-tree/package.json" \
    >"$work/proj/$1/app/package.json"
}
in_rootfs() {
  local dir=$1
  cp "$work/tls/ca.pem" "$dir/.ca.pem"
  printf '//127.0.0.1:%s/:_authToken=%s\nalways-auth=true\ncafile=/mnt/.ca.pem\nregistry=%s/\n' \
    "$regport" "$token" "$regurl" >"$dir/.npmrc"
  unshare --mount --fork sh -c 'mount --bind "$1" "$2/mnt" && mount -t tmpfs scratch "$2/tmp" &&
    mount -t proc proc "$2/proc" && exec chroot "$2" env HOME=/tmp sh -c "cd /mnt && $3"' \
    in_rootfs "$dir" "$src/var/rootfs" "$2" >>"$work/lockgen.log" 2>&1
  local rc=$?
  rm -rf "$dir/.npmrc" "$dir/.ca.pem" "$dir/node_modules"
  return $rc
}
pack() { tar -czf "$work/$1.tgz" -C "$work/proj/$1" app; }
submit() { curl -s -H 'Content-Type: application/octet-stream' --data-binary @"$work/$1.tgz" \
  "$url/monitor/project/npm?rescan=1" | jq -r '.id // empty'; }
wait_v1() { wait_scan "$1" >/dev/null; curl -s "$url/v1/scans/$1"; }
alerts() { jq --arg r "$1" --arg p "$2" --arg ph "$3" '[.alerts[] | select(.rule == $r
  and .output_fields["scanfarm.package"] == $p and .output_fields["scanfarm.phase"] == $ph)]
  | length' <<<"$report"; }

project plain; pack plain
project npm
in_rootfs "$work/proj/npm/app" "npm install --package-lock-only --ignore-scripts --no-audit --no-fund --cache=/tmp/npm"
project yarn
in_rootfs "$work/proj/yarn/app" "yarnpkg install --ignore-scripts --non-interactive --cache-folder /tmp/yarn"
project pnpm
in_rootfs "$work/proj/pnpm/app" "pnpm install --lockfile-only --ignore-scripts --ignore-pnpmfile --store-dir=/tmp/pnpm-store"
ok "lockfiles made against the private registry name its https:// URLs (npm, yarn)" \
  'grep -q "\"resolved\": \"$regurl/-/sf-tree-leaf-1.0.0.tgz" "$work/proj/npm/app/package-lock.json" &&
   grep -q "resolved \"$regurl/-/sf-tree-leaf-1.0.0.tgz" "$work/proj/yarn/app/yarn.lock"'
ok "a pnpm-lock.yaml was made" '[ -f "$work/proj/pnpm/app/pnpm-lock.yaml" ]'
for s in npm yarn pnpm; do pack $s; done

declare -A id
for s in plain npm yarn pnpm; do id[$s]=$(submit $s); done
ok "four projects submitted" '[ ${#id[plain]} -eq 36 ] && [ ${#id[npm]} -eq 36 ] && [ ${#id[yarn]} -eq 36 ] && [ ${#id[pnpm]} -eq 36 ]'
for s in plain npm yarn pnpm; do
  report=$(wait_v1 "${id[$s]}")
  echo "$report" >"$work/$s.json"
  check "$s: finished: $(jq -r '.status + " " + (.reason // "")' <<<"$report")" \
    '[ "$(jq -r .status <<<"$report")" = finished ]' || jq '.phases' <<<"$report"
  ok "$s: three phases ran and exited 0" \
    '[ "$(jq -c "[.phases[] | [.name, .ran, .exit_status]]" <<<"$report")" = "[[\"fetch\",true,0],[\"install\",true,0],[\"import\",true,0]]" ]'
  ok "$s: the transitive dependency's theft is still named sf-tree-leaf@1.0.0, phase install" \
    '[ "$(alerts "Read npm credentials file" sf-tree-leaf@1.0.0 install)" -ge 1 ]'
  check "$s: sf-env-dump searched the sandbox and found no credential" \
    'jq -r ".phases[1].stdout_tail" <<<"$report" | grep -Eq "sf-env-dump: no credential in ([5-9]|[1-9][0-9]+) places"' ||
    jq -r '.phases[1].stdout_tail' <<<"$report" | tail -n 20
  ok "$s: the token is nowhere in the report" '! grep -qF "$token" "$work/$s.json"'
done
check "the registry saw every request with the token, and only those" \
  '[ "$(grep -c " auth=yes$" "$work/registry.log")" -ge 12 ] && ! grep -q " auth=no$" "$work/registry.log"' ||
  sort "$work/registry.log" | uniq -c | head -n 30
ok "tarballs came from the registry (through the gateway)" \
  'grep -q "^GET /-/sf-tree-leaf-1.0.0.tgz 200 auth=yes$" "$work/registry.log"'
ok "npm ci fetched with the lockfile's URLs swapped to the gateway" \
  'jq -r ".facts.process[]? | select(.phase == \"fetch\") | .detail" "$work/npm.json" | grep -q "npm ci .*--replace-registry-host=always"'
ok "yarn and pnpm fetched with their lockfiles frozen, the lockfiles' URLs sent to the gateway" \
  'jq -r ".facts.process[]? | select(.phase == \"fetch\") | .detail" "$work/yarn.json" | grep -q "yarnpkg install --frozen-lockfile" &&
   jq -r ".facts.process[]? | select(.phase == \"fetch\") | .detail" "$work/pnpm.json" | grep -q "pnpm install --frozen-lockfile" &&
   [ "$(grep -c "lockfile URLs of https://127.0.0.1:$regport fetched through the registry gateway" "$work/log/worker.log")" = 2 ]'
ok "the worker log names the gateway, not the token" \
  'grep -q "registry gateway on http://127.0.0.1:" "$work/log/worker.log" && ! grep -qF "$token" "$work/log/worker.log"'

# --- a /v1/batches package reference: the coordinator fetches it from the
# private registry with the same credential and CA
bref=$(jq -nc '{rescan: true, items: [{package: "sf-tree-leaf", version: "1.0.0"}]}' |
  curl -s -H 'Content-Type: application/json' --data-binary @- "$url/v1/batches" |
  jq -r '.items[0].scan_id // empty')
report=$(wait_v1 "$bref")
echo "$report" >"$work/bref.json"
check "a batch's package reference is resolved from the private registry and scanned ($(jq -r '.status + " " + (.reason // "")' <<<"$report"))" \
  '[ "$(jq -r .status <<<"$report")" = finished ] &&
   [ "$(jq "[.alerts[] | select(.rule == \"Read npm credentials file\")] | length" <<<"$report")" -ge 1 ]' ||
  tail -n 5 "$work/log/coordinator.log"
ok "the coordinator fetched the packument and the tarball with the token" \
  'grep -q "^GET /sf-tree-leaf 200 auth=yes$" "$work/registry.log" && ! grep -q " auth=no$" "$work/registry.log" &&
   ! grep -qF "$token" "$work/log/coordinator.log"'

# --- without the token: the same scan fails, never clean (the tarball cache
# emptied first: what it holds, pinned by integrity, it serves without asking)
"$src/scripts/farm.sh" down >/dev/null 2>&1
rm -rf "$work/worker/npm-cache"
unset SCANFARM_NPM_REGISTRY_AUTH
: >"$work/registry.log"
"$src/scripts/farm.sh" up || { echo "FAIL - farm did not restart"; exit 1; }
nid=$(submit npm)
report=$(wait_v1 "$nid")
echo "$report" >"$work/notoken.json"
check "without the worker's token the scan fails in the fetch phase ($(jq -r .reason <<<"$report"))" \
  '[ "$(jq -r .status <<<"$report")" = failed ] && jq -r .reason <<<"$report" | grep -q "^fetch failed"' || head -c 2000 "$work/notoken.json"
farm_finish
