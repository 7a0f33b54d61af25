#!/usr/bin/env bash
# pypi_test — PyPI scans end to end on a whole farm (real pip in the real
# sandbox, the eBPF sensor, rules/) with a PEP 503 simple index on loopback
# built from tests/packages/pypi-* at test time (indexlib.sh):
#   - an sdist whose setup.py reads SSH/AWS keys and connects out: caught in
#     the fetch phase (pip runs setup.py to resolve it) and in the install,
#     named sf-py-setup-steal==1.0.0;
#   - a requirements.txt project pulling that sdist from the index: the
#     alert names the dependency, phase fetch; the project's own index
#     options (its file's and an included one's) are taken out and noted;
#   - a wheel shipping a .pth start-up hook: the rule fires at install, the
#     hook's code runs in the import phase;
#   - an import-time payload in a package's __init__.py: phase import;
#   - a benign sdist (tar.gz and zip), a benign wheel and a benign sdist with a C extension
#     (built with gcc in the install): three phases ran, nothing at Notice
#     or above, the extension imported;
#   - a requirement the index lacks, a Pipfile.lock digest that does not
#     match: failed, never clean; the right digest installs, from a
#     Pipfile.lock and from a poetry.lock;
#   - build isolation: sdists whose build backend is not setuptools
#     (sf-build-backend, our own PEP 517 backend, a wheel only the index
#     has): the backend is fetched through the proxy, runs in the fetch
#     phase (a build hook's key theft caught there, named by the sdist) and
#     builds the sdist in the offline install; a benign one, as the body and
#     as a project's dependency, finishes with nothing at Notice or above;
#   - a direct URL requirement (name @ URL): the proxy refuses it and the
#     scan fails saying so;
#   - with no index configured at all, a self-contained sdist still scans,
#     and one whose backend only an index has fails saying why;
#   - a private index that wants a token: the worker's gateway adds it, and
#     the token is nowhere in the report.
#   pypi_test.sh SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
. "$(dirname "$0")/indexlib.sh"
farm_init pypi "$1" "$2" "$3"
[ -x "$py_host" ] && "$py_host" -c 'import setuptools, wheel' 2>/dev/null ||
  { echo "SKIP: the host's python3 lacks setuptools or wheel (scripts/setup.sh packages)"; exit 77; }
served_pid=
trap '[ -n "$served_pid" ] && kill "$served_pid" 2>/dev/null; farm_cleanup' EXIT
check() { local before=$failed; ok "$@"; [ "$failed" = "$before" ]; }
pk=$src/tests/packages

# --- the packages and the index
dist=$work/dist
steal=$(py_build "$pk/pypi-attack-setup" "$dist")
benign=$(py_build "$pk/pypi-benign-sdist" "$dist")
benign_whl=$(py_build "$pk/pypi-benign-sdist" "$dist" wheel)
benign_zip=$(py_build "$pk/pypi-benign-sdist" "$work/zip" zip)
native=$(py_build "$pk/pypi-benign-native" "$dist")
pth_whl=$(py_build "$pk/pypi-attack-pth" "$dist" wheel)
payload=$(py_build "$pk/pypi-attack-import" "$dist")
backend_whl=$(py_build "$pk/pypi-build-backend" "$dist" wheel)
hook=$(py_build_pep517 "$pk/pypi-backend-hook" "$dist" "$pk/pypi-build-backend")
built=$(py_build_pep517 "$pk/pypi-benign-backend" "$dist" "$pk/pypi-build-backend")
ok "the test distributions were built" '[ -f "$steal" ] && [ -f "$benign_whl" ] && [ -f "$native" ] && [ -f "$pth_whl" ] && [ -f "$payload" ] &&
  [ -f "$backend_whl" ] && [ -f "$hook" ] && [ -f "$built" ]'
idxport=$((port + 3))
pypi_index "$work/index" "$steal" "$benign_whl" "$backend_whl" "$built"
serve_static "$work/index" "$idxport" "$work/index.log"
ok "the loopback index serves its simple pages" \
  'curl -s "http://127.0.0.1:$idxport/simple/sf-py-setup-steal/" | grep -c "sf-py-setup-steal-1.0.0.tar.gz#sha256=" >/dev/null'

export SCANFARM_PYPI_INDEX=http://127.0.0.1:$idxport/simple/
"$src/scripts/farm.sh" up || { echo "FAIL - farm did not start"; exit 1; }

# a project: requirements.txt at the top of app/
mkdir -p "$work/proj/app" "$work/missing/app"
# the project's requirements name another index (and include a file that
# does too): the worker's must win, and the attempt is on record
printf -- '--index-url http://127.0.0.1:%s/simple/\nsf-py-setup-steal==1.0.0\n-r more.txt\n' \
  $((port + 4)) >"$work/proj/app/requirements.txt"
printf -- '--extra-index-url=http://127.0.0.1:%s/simple/\nsf-py-benign\n' $((port + 4)) >"$work/proj/app/more.txt"
tar -czf "$work/project.tgz" -C "$work/proj" app
printf 'sf-py-not-in-index==1.0\n' >"$work/missing/app/requirements.txt"
tar -czf "$work/missing.tgz" -C "$work/missing" app

# a Pipfile.lock project pinning the wheel by its sha256, and the same with a
# digest that does not match what the index serves
mkdir -p "$work/pipfile/app" "$work/badhash/app"
whl_sha=$(sha256sum "$benign_whl" | cut -d' ' -f1)
pipfile() { jq -n --arg h "sha256:$1" '{_meta: {sources: [{name: "pypi", url: "https://pypi.org/simple", verify_ssl: true}]},
  default: {"sf-py-benign": {version: "==1.2.0", hashes: [$h], index: "pypi"}}, develop: {}}'; }
pipfile "$whl_sha" >"$work/pipfile/app/Pipfile.lock"
pipfile "$(printf '%064d' 0)" >"$work/badhash/app/Pipfile.lock"
# a poetry project (pyproject.toml whose build backend the image lacks, and
# its poetry.lock): the lock's packages are what is installed
mkdir -p "$work/poetry/app"
printf '[tool.poetry]\nname = "app"\nversion = "0.1.0"\n\n[build-system]\nrequires = ["poetry-core"]\nbuild-backend = "poetry.core.masonry.api"\n' \
  >"$work/poetry/app/pyproject.toml"
printf '[[package]]\nname = "sf-py-benign"\nversion = "1.2.0"\ndescription = ""\noptional = false\npython-versions = "*"\nfiles = [\n    {file = "sf_py_benign-1.2.0-py3-none-any.whl", hash = "sha256:%s"},\n]\n\n[metadata]\nlock-version = "2.0"\npython-versions = "^3.11"\ncontent-hash = "%064d"\n' \
  "$whl_sha" 0 >"$work/poetry/app/poetry.lock"
tar -czf "$work/poetry.tgz" -C "$work/poetry" app
tar -czf "$work/pipfile.tgz" -C "$work/pipfile" app
# a project whose dependency is an sdist built by sf-build-backend; one with
# a direct URL requirement (a host the proxy does not allow)
mkdir -p "$work/bproj/app" "$work/direct/app"
printf 'sf-py-built==1.0.0\n' >"$work/bproj/app/requirements.txt"
tar -czf "$work/bproj.tgz" -C "$work/bproj" app
printf 'sf-py-benign @ http://127.0.0.1:%s/packages/sf_py_benign-1.2.0-py3-none-any.whl\n' $((port + 5)) \
  >"$work/direct/app/requirements.txt"
tar -czf "$work/direct.tgz" -C "$work/direct" app
tar -czf "$work/badhash.tgz" -C "$work/badhash" app

submit() { curl -s -H 'Content-Type: application/octet-stream' --data-binary @"$1" \
  "$url/v1/scans?ecosystem=pypi&rescan=1" | jq -r ".id // empty"; }
declare -A id
id[steal]=$(submit "$steal")
id[project]=$(submit "$work/project.tgz")
id[pth]=$(submit "$pth_whl")
id[payload]=$(submit "$payload")
id[benign]=$(submit "$benign")
id[benign_whl]=$(submit "$benign_whl")
id[benign_zip]=$(submit "$benign_zip")
id[native]=$(submit "$native")
id[missing]=$(submit "$work/missing.tgz")
id[pipfile]=$(submit "$work/pipfile.tgz")
id[badhash]=$(submit "$work/badhash.tgz")
id[poetry]=$(submit "$work/poetry.tgz")
id[hook]=$(submit "$hook")
id[built]=$(submit "$built")
id[bproj]=$(submit "$work/bproj.tgz")
id[direct]=$(submit "$work/direct.tgz")
ok "sixteen PyPI bodies submitted" '[ ${#id[steal]} -eq 36 ] && [ ${#id[native]} -eq 36 ] && [ ${#id[missing]} -eq 36 ] && [ ${#id[badhash]} -eq 36 ] &&
  [ ${#id[hook]} -eq 36 ] && [ ${#id[built]} -eq 36 ] && [ ${#id[bproj]} -eq 36 ] && [ ${#id[direct]} -eq 36 ]'

# --- 1. the malicious sdist itself
report=$(wait_v1 "${id[steal]}"); echo "$report" >"$work/steal.json"
expect_fired pypi-attack-setup
check "steal: finished with three phases: $(jq -r '.status + " " + (.reason // "")' <<<"$report") $(phases)" \
  '[ "$(jq -r .status <<<"$report")" = finished ] && [ "$(phases)" = "$all3" ]'
ok "steal: setup.py's key theft caught while pip resolved it (phase fetch), named sf-py-setup-steal==1.0.0" \
  '[ "$(alerts "Credential file read during install" sf-py-setup-steal==1.0.0 fetch)" -ge 1 ]'
ok "steal: and again when the install built it (phase install), with its connection out" \
  '[ "$(alerts "Credential file read during install" sf-py-setup-steal==1.0.0 install)" -ge 1 ] &&
   [ "$(alerts "Outbound connection attempt" sf-py-setup-steal==1.0.0 install)" -ge 1 ]'
ok "steal: the keys it tried are in the alerts" \
  '[ "$(jq "[.alerts[] | select(.output_fields[\"fd.name\"] | tostring | test(\"id_rsa|aws/credentials|pypirc\"))] | length" <<<"$report")" -ge 3 ]'

# --- 2. the project whose dependency is that sdist, from the index
report=$(wait_v1 "${id[project]}"); echo "$report" >"$work/project.json"
check "project: finished with three phases: $(jq -r '.status + " " + (.reason // "")' <<<"$report") $(phases)" \
  '[ "$(jq -r .status <<<"$report")" = finished ] && [ "$(phases)" = "$all3" ]'
ok "project: the dependency's setup.py is named sf-py-setup-steal==1.0.0 in the fetch phase" \
  '[ "$(alerts "Credential file read during install" sf-py-setup-steal==1.0.0 fetch)" -ge 1 ]'
ok "project: pip itself (the project) raised nothing at Notice or above: $(loud_alerts | jq -c '[.[] | select(.[1] == "app")]')" \
  '[ "$(loud_alerts | jq "[.[] | select(.[1] == \"app\")] | length")" -eq 0 ]'
ok "project: both distributions installed, the sdist built from source" \
  '[ "$(jq -c "[.packages[] | select(.path != \"\") | [.name, .version, .install_scripts]] | sort" <<<"$report")" = "[[\"sf-py-benign\",\"1.2.0\",false],[\"sf-py-setup-steal\",\"1.0.0\",true]]" ]'
ok "project: the index options of both requirements files were taken out, and noted" \
  '[ "$(jq "[.facts.index_override[]? | select(.phase == \"fetch\")] | length" <<<"$report")" -eq 2 ]'
ok "project: the index served both, through the proxy" \
  'grep -q "GET /packages/sf-py-setup-steal-1.0.0.tar.gz 200" "$work/index.log" && grep -q "GET /packages/sf_py_benign-1.2.0-py3-none-any.whl 200" "$work/index.log"'

# --- 3. the .pth start-up hook
report=$(wait_v1 "${id[pth]}"); echo "$report" >"$work/pth.json"
expect_fired pypi-attack-pth
check "pth: finished with three phases: $(jq -r '.status + " " + (.reason // "")' <<<"$report") $(phases)" \
  '[ "$(jq -r .status <<<"$report")" = finished ] && [ "$(phases)" = "$all3" ]'
ok "pth: the start-up hook written at install is caught, phase install" \
  '[ "$(jq "[.alerts[] | select(.rule == \"Python start-up hook written during install\" and .output_fields[\"scanfarm.phase\"] == \"install\")] | length" <<<"$report")" -ge 1 ]'
ok "pth: the hook's code ran in the import phase's interpreters and connected out" \
  '[ "$(jq "[.alerts[] | select(.rule == \"Outbound connection attempt\" and .output_fields[\"scanfarm.phase\"] == \"import\")] | length" <<<"$report")" -ge 1 ]'

# --- 4. the import-time payload
report=$(wait_v1 "${id[payload]}"); echo "$report" >"$work/payload.json"
expect_fired pypi-attack-import
check "payload: finished: $(jq -r '.status + " " + (.reason // "")' <<<"$report") $(phases)" \
  '[ "$(jq -r .status <<<"$report")" = finished ] && [ "$(phases)" = "$all3" ]'
ok "payload: its __init__.py's connection is named sf-py-import-payload==1.0.0, phase import" \
  '[ "$(alerts "Outbound connection attempt" sf-py-import-payload==1.0.0 import)" -ge 1 ]'
ok "payload: nothing of it ran before the import" \
  '[ "$(jq "[.alerts[] | select(.rule == \"Outbound connection attempt\" and .output_fields[\"scanfarm.phase\"] != \"import\")] | length" <<<"$report")" -eq 0 ]'

# --- 5. benign sdist, wheel, native extension: clean
for s in benign benign_whl benign_zip native; do
  report=$(wait_v1 "${id[$s]}"); echo "$report" >"$work/$s.json"
  check "$s: finished with three phases: $(jq -r '.status + " " + (.reason // "")' <<<"$report") $(phases)" \
    '[ "$(jq -r .status <<<"$report")" = finished ] && [ "$(phases)" = "$all3" ]'
  ok "$s: nothing at Notice or above: $(loud_alerts)" '[ "$(loud_alerts)" = "[]" ]'
done
report=$(cat "$work/native.json")
ok "native: the extension was compiled in the install phase" \
  'jq -r ".facts.process[]? | select(.phase == \"install\") | .detail" <<<"$report" | grep -c "sf_py_native.c" >/dev/null'
ok "native: and imported in the import phase" \
  'jq -r ".phases[2].stdout_tail" <<<"$report" | grep -c "sf_py_native: ok" >/dev/null'
report=$(cat "$work/benign.json")
ok "benign: its module imported in the import phase" \
  'jq -r ".phases[2].stdout_tail" <<<"$report" | grep -c "sf_py_benign: ok" >/dev/null'

# --- 6. a requirement the index does not have: failed, never clean
report=$(wait_v1 "${id[missing]}"); echo "$report" >"$work/missing.json"
ok "missing: failed in the fetch phase with the reason: $(jq -r '.reason // ""' <<<"$report" | head -c 200)" \
  '[ "$(jq -r .status <<<"$report")" = failed ] && [ "$(jq -r ".phases[0].ran" <<<"$report")" = true ] &&
   [ "$(jq -r ".phases[1].ran" <<<"$report")" = false ]'
ok "missing: the Package Hunter view says error" '[ "$(curl -s "$url/?id=${id[missing]}" | jq -r .status)" = error ]'

# --- 6b. a Pipfile.lock: its pinned wheel installed, checked against its digest
report=$(wait_v1 "${id[pipfile]}"); echo "$report" >"$work/pipfile.json"
check "pipfile: finished with three phases: $(jq -r '.status + " " + (.reason // "")' <<<"$report") $(phases)" \
  '[ "$(jq -r .status <<<"$report")" = finished ] && [ "$(phases)" = "$all3" ]'
ok "pipfile: the pinned wheel was installed" \
  '[ "$(jq -c "[.packages[] | select(.path != \"\") | [.name, .version]]" <<<"$report")" = "[[\"sf-py-benign\",\"1.2.0\"]]" ]'
report=$(wait_v1 "${id[poetry]}"); echo "$report" >"$work/poetry.json"
check "poetry: finished with three phases: $(jq -r '.status + " " + (.reason // "")' <<<"$report") $(phases)" \
  '[ "$(jq -r .status <<<"$report")" = finished ] && [ "$(phases)" = "$all3" ]'
ok "poetry: the locked wheel was installed by its digest" \
  '[ "$(jq -c "[.packages[] | select(.path != \"\") | [.name, .version]]" <<<"$report")" = "[[\"sf-py-benign\",\"1.2.0\"]]" ] &&
   jq -r ".facts.process[]? | select(.phase == \"fetch\") | .detail" <<<"$report" | grep -c "poetry.lock.txt" >/dev/null'
report=$(wait_v1 "${id[badhash]}"); echo "$report" >"$work/badhash.json"
ok "badhash: a digest mismatch fails the fetch, never clean: $(jq -r '.reason // ""' <<<"$report" | head -c 160)" \
  '[ "$(jq -r .status <<<"$report")" = failed ] && [ "$(jq -r ".phases[0].exit_status" <<<"$report")" = 1 ] &&
   jq -r ".phases[0].stderr_tail" <<<"$report" | grep -c "DO NOT MATCH THE HASHES" >/dev/null &&
   [ "$(jq -r ".phases[1].ran" <<<"$report")" = false ]'

# --- 6c. build isolation: sdists whose build backend only the index has
report=$(wait_v1 "${id[hook]}"); echo "$report" >"$work/hook.json"
expect_fired pypi-backend-hook
check "hook: finished with three phases: $(status) $(phases)" \
  '[ "$(jq -r .status <<<"$report")" = finished ] && [ "$(phases)" = "$all3" ]'
ok "hook: the build hook run by the backend while pip resolved the sdist is caught (phase fetch), named sf-py-backend-hook==1.0.0" \
  '[ "$(alerts "Credential file read during install" sf-py-backend-hook==1.0.0 fetch)" -ge 1 ]'
ok "hook: and again when the install built it (phase install), with its connection out" \
  '[ "$(alerts "Credential file read during install" sf-py-backend-hook==1.0.0 install)" -ge 1 ] &&
   [ "$(alerts "Outbound connection attempt" sf-py-backend-hook==1.0.0 install)" -ge 1 ]'
ok "hook: the backend came from the index, through the proxy" \
  'grep -q "GET /packages/sf_build_backend-1.0.0-py3-none-any.whl 200" "$work/index.log"'
report=$(wait_v1 "${id[built]}"); echo "$report" >"$work/built.json"
check "built: finished with three phases: $(status) $(phases)" \
  '[ "$(jq -r .status <<<"$report")" = finished ] && [ "$(phases)" = "$all3" ]'
ok "built: nothing at Notice or above: $(loud_alerts)" '[ "$(loud_alerts)" = "[]" ]'
ok "built: the backend's hooks ran in the fetch phase and built it in the install, named sf-py-built==1.0.0" \
  '[ "$(jq "[.facts.process[]? | select(.phase == \"fetch\" and .package == \"sf-py-built==1.0.0\" and (.detail | test(\"_in_process.py prepare_metadata_for_build_wheel\")))] | length" <<<"$report")" -ge 1 ] &&
   [ "$(jq "[.facts.process[]? | select(.phase == \"install\" and .package == \"sf-py-built==1.0.0\" and (.detail | test(\"_in_process.py build_wheel\")))] | length" <<<"$report")" -ge 1 ]'
ok "built: installed and imported; the backend itself is not installed" \
  'jq -r ".phases[2].stdout_tail" <<<"$report" | grep -c "sf_py_built: ok" >/dev/null &&
   [ "$(jq -c "[.packages[] | select(.path != \"\") | .name]" <<<"$report")" = "[]" ]'
report=$(wait_v1 "${id[bproj]}"); echo "$report" >"$work/bproj.json"
check "bproj: the project finished with three phases: $(status) $(phases)" \
  '[ "$(jq -r .status <<<"$report")" = finished ] && [ "$(phases)" = "$all3" ]'
ok "bproj: nothing at Notice or above: $(loud_alerts)" '[ "$(loud_alerts)" = "[]" ]'
ok "bproj: its dependency was built from the sdist by the backend fetched for it" \
  '[ "$(jq -c "[.packages[] | select(.path != \"\") | [.name, .version, .install_scripts]]" <<<"$report")" = "[[\"sf-py-built\",\"1.0.0\",true]]" ] &&
   jq -r ".phases[0].stdout_tail" <<<"$report" | grep -c "scanfarm-build-requires sf_py_built-1.0.0.tar.gz: sf-build-backend" >/dev/null'

# --- 6d. a direct URL requirement: refused by the proxy, and the reason says so
report=$(wait_v1 "${id[direct]}"); echo "$report" >"$work/direct.json"
ok "direct: failed in the fetch phase, the reason naming the refusal: $(jq -r '.reason // ""' <<<"$report" | head -c 300)" \
  '[ "$(jq -r .status <<<"$report")" = failed ] && [ "$(jq -r ".phases[1].ran" <<<"$report")" = false ] &&
   jq -r ".reason" <<<"$report" | grep -q "registry proxy refused http://127.0.0.1:$((port + 5))/packages/sf_py_benign-1.2.0-py3-none-any.whl .*direct URL requirement"'
ok "direct: the refusal is a registry_refused fact" \
  '[ "$(jq "[.facts.registry_refused[]? | select(.value | contains(\"127.0.0.1:$((port + 5))\"))] | length" <<<"$report")" -ge 1 ]'

# --- 7. no index configured at all: a self-contained sdist still scans
"$src/scripts/farm.sh" down >/dev/null 2>&1
kill "$served_pid" 2>/dev/null; served_pid=
# (the worker's option alone: the coordinator resolves references from its default)
unset SCANFARM_PYPI_INDEX
export SCANFARM_WORKER_OPTS=--pypi-index=
"$src/scripts/farm.sh" up || { echo "FAIL - farm did not restart without an index"; exit 1; }
unset SCANFARM_WORKER_OPTS
report=$(wait_v1 "$(submit "$native")"); echo "$report" >"$work/noindex.json"
check "no index: the native sdist finished with three phases: $(jq -r '.status + " " + (.reason // "")' <<<"$report") $(phases)" \
  '[ "$(jq -r .status <<<"$report")" = finished ] && [ "$(phases)" = "$all3" ]'
ok "no index: nothing at Notice or above: $(loud_alerts)" '[ "$(loud_alerts)" = "[]" ]'
ok "no index: pip resolved it with no index at all" \
  'jq -r ".facts.process[]? | select(.phase == \"fetch\") | .detail" <<<"$report" | grep -c "pip download .*--no-index" >/dev/null'
# ... and one whose build backend only an index has fails, saying why
report=$(wait_v1 "$(submit "$built")"); echo "$report" >"$work/noindex-built.json"
ok "no index: the sdist built by sf-build-backend failed in the fetch phase: $(status | head -c 300)" \
  '[ "$(jq -r .status <<<"$report")" = failed ] && [ "$(jq -r ".phases[0].ran" <<<"$report")" = true ] &&
   [ "$(jq -r ".phases[1].ran" <<<"$report")" = false ] &&
   jq -r .reason <<<"$report" | grep -q "no index is configured, and building it needs sf-build-backend"'

# --- 8. a private index: the worker's gateway holds its token, pip never sees it
"$src/scripts/farm.sh" down >/dev/null 2>&1
token=pypi-FAKE0scanfarm0test0token0000000000
printf '%s\n' "$token" >"$work/index.token"
: >"$work/private.log"
serve_static "$work/index" "$idxport" "$work/private.log" --token "$token"
export SCANFARM_PYPI_INDEX=http://127.0.0.1:$idxport/simple/ SCANFARM_PYPI_INDEX_AUTH=$work/index.token
"$src/scripts/farm.sh" up || { echo "FAIL - farm did not restart with a private index"; exit 1; }
report=$(wait_v1 "$(submit "$work/project.tgz")"); echo "$report" >"$work/private.json"
check "private: the project finished with three phases: $(jq -r '.status + " " + (.reason // "")' <<<"$report") $(phases)" \
  '[ "$(jq -r .status <<<"$report")" = finished ] && [ "$(phases)" = "$all3" ]'
ok "private: every request the index saw carried the token" \
  'grep -q "GET /packages/sf-py-setup-steal-1.0.0.tar.gz 200 auth=yes" "$work/private.log" &&
   ! grep -E "^GET /(simple|packages)/" "$work/private.log" | grep -q "auth=no"'
ok "private: the token is nowhere in the report" '! grep -q "$token" "$work/private.json"'
unset SCANFARM_PYPI_INDEX_AUTH

# SCANFARM_TEST_KEEP=DIR keeps the reports for a look
[ -n "${SCANFARM_TEST_KEEP:-}" ] && mkdir -p "$SCANFARM_TEST_KEEP" && cp "$work"/*.json "$SCANFARM_TEST_KEEP"/
farm_finish
