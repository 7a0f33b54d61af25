#!/usr/bin/env bash
# kind_test — the worker installs a body as the kind the coordinator read it
# to be (the job's artifact.kind), on a whole farm with no package index:
#   - a tar whose root holds PKG-INFO, setup.py and pyproject.toml: the
#     coordinator reads a project (pyproject.toml at the root; an sdist keeps
#     PKG-INFO in its single top directory), and the worker installs it as
#     one (`pip install` of the directory), where its own guess would have
#     been an sdist: the report's body is the project, the distribution
#     setup.py names is installed beside it and imported;
#   - an "sdist" whose PKG-INFO has neither setup.py nor pyproject.toml
#     beside it: the coordinator takes it as an sdist, the worker's reading
#     disagrees, and the scan fails saying so before any phase runs;
#   - a Python project delivered as a zip: accepted, installed, imported.
#   kind_test.sh SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
. "$(dirname "$0")/indexlib.sh"
farm_init kind "$1" "$2" "$3"
trap farm_cleanup EXIT
check() { local before=$failed; ok "$@"; [ "$failed" = "$before" ]; }

# --- the bodies
mkdir -p "$work/both" "$work/bare/sf_kind_bare-1.0" "$work/zipsrc/app"
printf 'Metadata-Version: 2.1\nName: sf-kind-both\nVersion: 1.0\n' >"$work/both/PKG-INFO"
printf 'from setuptools import setup\nsetup(name="sf-kind-both", version="1.0", py_modules=["sf_kind_both"])\n' \
  >"$work/both/setup.py"
printf '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n' \
  >"$work/both/pyproject.toml"
echo 'WORDS = "installed as a project"' >"$work/both/sf_kind_both.py"
tar -czf "$work/both.tgz" -C "$work/both" PKG-INFO setup.py pyproject.toml sf_kind_both.py
printf 'Metadata-Version: 2.1\nName: sf-kind-bare\nVersion: 1.0\n' >"$work/bare/sf_kind_bare-1.0/PKG-INFO"
echo 'nothing to build' >"$work/bare/sf_kind_bare-1.0/README.txt"
tar -czf "$work/bare.tgz" -C "$work/bare" sf_kind_bare-1.0
printf 'from setuptools import setup\nsetup(name="sf-kind-zip", version="0.3", py_modules=["sf_kind_zip"])\n' \
  >"$work/zipsrc/app/setup.py"
cp "$work/both/pyproject.toml" "$work/zipsrc/app/"
echo 'WORDS = "a project from a zip"' >"$work/zipsrc/app/sf_kind_zip.py"
(cd "$work/zipsrc" && python3 -c 'import shutil; shutil.make_archive("../proj", "zip", ".", "app")')
ok "the bodies were made" '[ -s "$work/both.tgz" ] && [ -s "$work/bare.tgz" ] && [ -s "$work/proj.zip" ]'

# no index at all: these bodies need nothing beyond the image (the
# worker's option alone: the coordinator keeps its default, unused here)
unset SCANFARM_PYPI_INDEX
export SCANFARM_WORKER_OPTS=--pypi-index=
"$src/scripts/farm.sh" up || { echo "FAIL - farm did not start"; exit 1; }
unset SCANFARM_WORKER_OPTS

declare -A id kind
for s in both bare proj; do
  f=$work/$s.tgz; [ $s = proj ] && f=$work/proj.zip
  r=$(curl -s -H 'Content-Type: application/octet-stream' --data-binary @"$f" \
    "$url/v1/scans?ecosystem=pypi&rescan=1")
  id[$s]=$(jq -r '.id // empty' <<<"$r") kind[$s]=$(jq -r '.kind.kind // empty' <<<"$r")
done
ok "the coordinator read them as project, sdist, project: ${kind[both]} ${kind[bare]} ${kind[proj]}" \
  '[ "${kind[both]} ${kind[bare]} ${kind[proj]}" = "project sdist project" ]'

# --- 1. installed as the project the coordinator read, not re-guessed
report=$(wait_v1 "${id[both]}"); echo "$report" >"$work/both.json"
check "both: finished with three phases: $(status) $(phases)" \
  '[ "$(jq -r .status <<<"$report")" = finished ] && [ "$(phases)" = "$all3" ]'
ok "both: the body is the project, the distribution installed beside it: $(jq -c '[.packages[] | [.name, .version]]' <<<"$report")" \
  '[ "$(jq -c "[.packages[] | [.name, .version]]" <<<"$report")" = "[[\"project\",\"\"],[\"sf-kind-both\",\"1.0\"]]" ] &&
   [ "$(jq -r .artifact.kind <<<"$report")" = project ]'
ok "both: and imported" \
  'jq -r ".phases[2].stdout_tail" <<<"$report" | grep -q "sf_kind_both: ok"'

# --- 2. the worker's reading disagrees: refused, saying so
report=$(wait_v1 "${id[bare]}"); echo "$report" >"$work/bare.json"
ok "bare: failed, the disagreement its reason: $(jq -r '.reason // ""' <<<"$report" | head -c 300)" \
  '[ "$(jq -r .status <<<"$report")" = failed ] &&
   jq -r ".reason // \"\"" <<<"$report" | grep -q "coordinator read this body as kind sdist.*disagrees"'
ok "bare: no phase ran" '[ "$(jq "[.phases[]? | select(.ran)] | length" <<<"$report")" -eq 0 ]'

# --- 3. a zip project
report=$(wait_v1 "${id[proj]}"); echo "$report" >"$work/proj.json"
check "zip project: finished with three phases: $(status) $(phases)" \
  '[ "$(jq -r .status <<<"$report")" = finished ] && [ "$(phases)" = "$all3" ]'
ok "zip project: its distribution installed and imported, nothing at Notice or above: $(loud_alerts)" \
  '[ "$(jq -c "[.packages[] | [.name, .version]]" <<<"$report")" = "[[\"app\",\"\"],[\"sf-kind-zip\",\"0.3\"]]" ] &&
   jq -r ".phases[2].stdout_tail" <<<"$report" | grep -q "sf_kind_zip: ok" && [ "$(loud_alerts)" = "[]" ]'

[ -n "${SCANFARM_TEST_KEEP:-}" ] && mkdir -p "$SCANFARM_TEST_KEEP" && cp "$work"/*.json "$SCANFARM_TEST_KEEP"/
farm_finish
