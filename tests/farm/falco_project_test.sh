#!/usr/bin/env bash
# falco_project_test — attribution with a Falco backend: a project whose
# dependency tree comes from a loopback npm registry is scanned through
# real Falco (gRPC); the transitive dependency's postinstall (a token
# theft simulation) is named sf-tree-leaf@1.0.0 in phase install, the
# import-time payload sf-import-payload@1.0.0 in phase import — the same
# attribution the eBPF path gives (project_test), here from the process's
# cwd and npm's npm_package_json as Falco reports them.
#   falco_project_test.sh SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
. "$(dirname "$0")/falcolib.sh"
src=$1
falco_locate
farm_init falco_project "$1" "$2" "$3"
reg=
trap '[ -n "$reg" ] && kill "$reg" 2>/dev/null; falco_stop; farm_cleanup' EXIT
falco_configure grpc
falco_start
falco_wait_ready || exit 1

regport=$((port + 3))
regurl=http://127.0.0.1:$regport
pk=$src/tests/packages
python3 "$src/tests/tools/npm_registry.py" "$work/registry" "$regurl" \
  "$pk/dep-tree-mid" "$pk/dep-tree-leaf" "$pk/dep-import-payload" "$pk/dep-tamper" \
  "$pk/dep-victim" >"$work/registry.txt"
python3 "$src/tests/tools/fake_registry.py" "$work/registry" "$regport" "$work/registry.log" &
reg=$!
for _ in $(seq 1 50); do curl -s -o /dev/null "$regurl/sf-victim" && break; sleep 0.1; done
export SCANFARM_NPM_REGISTRY=$regurl/
"$src/scripts/farm.sh" up || { echo "FAIL - farm did not start"; exit 1; }

mkdir -p "$work/proj/app" && cp "$pk/project-tree/package.json" "$work/proj/app/"
tar -czf "$work/tree.tgz" -C "$work/proj" app
id=$(curl -s -H 'Content-Type: application/octet-stream' --data-binary @"$work/tree.tgz" \
  "$url/monitor/project/npm" | jq -r '.id // empty')
wait_scan "$id" >/dev/null
report=$(curl -s "$url/v1/scans/$id")
alerts() { jq --arg r "$1" --arg p "$2" --arg ph "$3" '[.alerts[] | select(.rule == $r
  and .output_fields["scanfarm.package"] == $p and .output_fields["scanfarm.phase"] == $ph)]
  | length' <<<"$report"; }
ok "the project scan finished" '[ "$(jq -r .status <<<"$report")" = finished ]' || jq -r .reason <<<"$report"
ok "all three phases ran" '[ "$(jq "[.phases[] | select(.ran)] | length" <<<"$report")" = 3 ]'
ok "the transitive dependency's theft is named sf-tree-leaf@1.0.0, install" \
  '[ "$(alerts "Read npm credentials file" sf-tree-leaf@1.0.0 install)" -ge 1 ]'
ok "its connection attempt too" '[ "$(alerts "Outbound connection attempt" sf-tree-leaf@1.0.0 install)" -ge 1 ]'
ok "the import-time payload is named sf-import-payload@1.0.0, import" \
  '[ "$(alerts "Outbound connection attempt" sf-import-payload@1.0.0 import)" -ge 1 ]'
ok "no alert blames the project for its dependencies' doing" \
  '[ "$(jq "[.alerts[] | select(.rule == \"Read npm credentials file\" and .output_fields[\"scanfarm.package\"] == \"scanfarm-test-project-tree@1.0.0\")] | length" <<<"$report")" = 0 ]'
jq -r '.alerts[] | "    \(.output_fields["scanfarm.package"]) \(.output_fields["scanfarm.phase"]) \(.rule)"' <<<"$report" | sort | uniq -c
farm_finish
