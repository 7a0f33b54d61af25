#!/usr/bin/env bash
# gem_test — RubyGems scans end to end on a whole farm (real gem and
# bundler in the real sandbox, the eBPF sensor, rules/) with a static gem
# source on loopback made by `gem generate_index` from tests/packages/gem-*
# at test time (indexlib.sh):
#   - a .gem whose extconf.rb reads ~/.gem/credentials and runs curl: both
#     caught in the install phase, named sf-gem-callhome-1.0.0;
#   - a bundler project (Gemfile; and with a Gemfile.lock, frozen) whose
#     gems come from the source: the same gem caught as a dependency, the
#     fetch through the proxy, three gems installed; the Gemfile alone takes
#     the newest sf-gem-pure (1.2.0, published after the lock was made), the
#     lock its own (1.1.0);
#   - a Gemfile.lock that disagrees with its Gemfile: failed in the fetch
#     with bundler's reason, never re-resolved;
#   - a Gemfile.lock BUNDLED WITH another bundler (2.4.22): installed with
#     the image's bundler, no attempt to fetch that one, the lock's version
#     recorded as a bundled_with fact;
#   - benign gems: plain, with a C extension (extconf.rb, make, gcc in the
#     install), with a runtime dependency the fetch downloads: three phases
#     ran, nothing at Notice or above, each required in the import phase;
#   - a Gemfile asking for a gem the source lacks: failed, never clean;
#   - a gem with two require paths whose second path's file connects out
#     when required: caught in the import phase, named sf-gem-twopaths-1.0.0.
#   gem_test.sh SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
. "$(dirname "$0")/indexlib.sh"
farm_init gem "$1" "$2" "$3"
command -v gem >/dev/null || { echo "SKIP: no gem on the host (scripts/setup.sh packages)"; exit 77; }
served_pid=
trap '[ -n "$served_pid" ] && kill "$served_pid" 2>/dev/null; farm_cleanup' EXIT
check() { local before=$failed; ok "$@"; [ "$failed" = "$before" ]; }
pk=$src/tests/packages

# --- the gems and the source
gems=$work/gems
callhome=$(gem_build "$pk/gem-attack-extconf" "$gems")
native=$(gem_build "$pk/gem-benign-native" "$gems")
pure=$(gem_build "$pk/gem-benign-pure" "$gems")
withdep=$(gem_build "$pk/gem-benign-withdep" "$gems")
twopaths=$(gem_build "$pk/gem-attack-requirepath" "$gems")
ok "the test gems were built" '[ -f "$callhome" ] && [ -f "$native" ] && [ -f "$pure" ] && [ -f "$withdep" ] && [ -f "$twopaths" ]'
srcport=$((port + 3))
gem_index "$work/source" "$callhome" "$native" "$pure"
serve_static "$work/source" "$srcport" "$work/source.log"
ok "the loopback gem source serves its index" '[ "$(curl -s -o /dev/null -w "%{http_code}" "http://127.0.0.1:$srcport/specs.4.8.gz")" = 200 ]'
export SCANFARM_GEM_SOURCE=http://127.0.0.1:$srcport/

# The bundler project, and the same with a Gemfile.lock made now against the
# loopback source by the rootfs's own bundler (chroot, a private /tmp).
mkdir -p "$work/proj/app" "$work/lock/app" "$work/missing/app" "$work/drift/app" "$work/newer/app"
cp "$pk/gem-project-bundler/Gemfile" "$work/proj/app/"
cp "$pk/gem-project-bundler/Gemfile" "$work/lock/app/"
unshare --mount --fork sh -c 'mount --bind "$1" "$2/mnt" && mount -t tmpfs scratch "$2/tmp" &&
  exec chroot "$2" env HOME=/tmp BUNDLE_MIRROR__ALL="$3" BUNDLE_APP_CONFIG=/tmp/b sh -c "cd /mnt && bundle lock"' \
  lock "$work/lock/app" "$src/var/rootfs" "$SCANFARM_GEM_SOURCE" >"$work/lockgen.log" 2>&1
ok "a Gemfile.lock was made for the project" 'grep -q "sf-gem-callhome (1.0.0)" "$work/lock/app/Gemfile.lock" && grep -q "sf-gem-pure (1.1.0)" "$work/lock/app/Gemfile.lock"'
printf 'source "https://rubygems.org"\ngem "sf-gem-absent"\n' >"$work/missing/app/Gemfile"
# the lock with a Gemfile that asks for more than it holds; the lock
# naming a bundler the image does not have
cp "$work/lock/app/Gemfile.lock" "$work/drift/app/"
sed 's/gem "sf-gem-pure", "~> 1.1"/gem "sf-gem-pure", "~> 1.2"/' "$pk/gem-project-bundler/Gemfile" >"$work/drift/app/Gemfile"
cp "$pk/gem-project-bundler/Gemfile" "$work/newer/app/"
awk 'prev == "BUNDLED WITH" { print "   2.4.22"; prev = ""; next } { print; prev = $0 }' \
  "$work/lock/app/Gemfile.lock" >"$work/newer/app/Gemfile.lock"
ok "the drifted and the newer-bundler projects were made" \
  'grep -q "~> 1.2" "$work/drift/app/Gemfile" && grep -qx "   2.4.22" "$work/newer/app/Gemfile.lock"'
for p in proj lock missing drift newer; do tar -czf "$work/$p.tgz" -C "$work/$p" app; done
# published after the lock: sf-gem-pure 1.2.0
cp -r "$pk/gem-benign-pure" "$work/pure12"
sed -i 's/s.version = "1.1.0"/s.version = "1.2.0"/' "$work/pure12/sf-gem-pure.gemspec"
pure12=$(gem_build "$work/pure12" "$gems")
gem_index "$work/source" "$pure12"
ok "the source has sf-gem-pure 1.2.0 too" '[ "$(curl -s -o /dev/null -w "%{http_code}" "http://127.0.0.1:$srcport/gems/sf-gem-pure-1.2.0.gem")" = 200 ]'

"$src/scripts/farm.sh" up || { echo "FAIL - farm did not start"; exit 1; }

submit() { curl -s -H 'Content-Type: application/octet-stream' --data-binary @"$1" \
  "$url/v1/scans?ecosystem=rubygems&rescan=1" | jq -r '.id // empty'; }
declare -A id
for s in callhome native pure withdep twopaths; do id[$s]=$(submit "${!s}"); done
for s in proj lock missing drift newer; do id[$s]=$(submit "$work/$s.tgz"); done
ok "ten RubyGems bodies submitted" '[ ${#id[callhome]} -eq 36 ] && [ ${#id[twopaths]} -eq 36 ] && [ ${#id[lock]} -eq 36 ] && [ ${#id[missing]} -eq 36 ] && [ ${#id[drift]} -eq 36 ] && [ ${#id[newer]} -eq 36 ]'

# --- 1. the gem whose extconf.rb calls home
report=$(wait_v1 "${id[callhome]}"); echo "$report" >"$work/callhome.json"
expect_fired gem-attack-extconf
check "callhome: finished, nothing to fetch: $(status) $(phases)" \
  '[ "$(jq -r .status <<<"$report")" = finished ] && [ "$(phases)" = "$nofetch" ]'
ok "callhome: extconf.rb's read of ~/.gem/credentials is named sf-gem-callhome-1.0.0, phase install" \
  '[ "$(alerts "Credential file read during install" sf-gem-callhome-1.0.0 install)" -ge 1 ]'
ok "callhome: the curl it ran is a network tool run by a package build script" \
  '[ "$(alerts "Network tool run by a package build script" sf-gem-callhome-1.0.0 install)" -ge 1 ]'

# --- 2. the bundler project, without and with a Gemfile.lock
declare -A purever=([proj]=1.2.0 [lock]=1.1.0 [newer]=1.1.0)
for s in proj lock newer; do
  report=$(wait_v1 "${id[$s]}"); echo "$report" >"$work/$s.json"
  check "$s: finished with three phases: $(status) $(phases)" \
    '[ "$(jq -r .status <<<"$report")" = finished ] && [ "$(phases)" = "$all3" ]'
  ok "$s: the dependency's extconf.rb is named sf-gem-callhome-1.0.0, phase install" \
    '[ "$(alerts "Credential file read during install" sf-gem-callhome-1.0.0 install)" -ge 1 ] &&
     [ "$(alerts "Network tool run by a package build script" sf-gem-callhome-1.0.0 install)" -ge 1 ]'
  ok "$s: the three gems are in the report, the native ones flagged" \
    '[ "$(jq -c "[.packages[] | select(.path != \"\") | [.name, .version, .install_scripts]] | sort" <<<"$report")" = "[[\"sf-gem-callhome\",\"1.0.0\",true],[\"sf-gem-native\",\"0.2.0\",true],[\"sf-gem-pure\",\"${purever[$s]}\",false]]" ]'
  ok "$s: bundler itself (the project) raised nothing at Notice or above: $(loud_alerts | jq -c '[.[] | select(.[1] == "app")]')" \
    '[ "$(loud_alerts | jq "[.[] | select(.[1] == \"app\")] | length")" -eq 0 ]'
done
report=$(cat "$work/newer.json")
ok "newer: the lock's bundler is a fact, run with the image's: $(jq -c '.facts.bundled_with // []' <<<"$report")" \
  '[ "$(jq -r ".facts.bundled_with[0].value" <<<"$report")" = 2.4.22 ] &&
   jq -r ".facts.bundled_with[0].detail" <<<"$report" | grep -q "image.s bundler 2\."'
ok "newer: bundler did not try to install bundler 2.4.22" \
  '! jq -r ".phases[] | (.stdout_tail // \"\") + (.stderr_tail // \"\")" <<<"$report" | grep -qi "installing bundler\|locked to a version of bundler"'
report=$(wait_v1 "${id[drift]}"); echo "$report" >"$work/drift.json"
ok "drift: a lock that disagrees with its Gemfile failed in the fetch, with bundler's reason: $(jq -r '.reason // ""' <<<"$report" | head -c 300)" \
  '[ "$(jq -r .status <<<"$report")" = failed ] && [ "$(jq -r ".phases[0].ran" <<<"$report")" = true ] &&
   [ "$(jq -r ".phases[1].ran" <<<"$report")" = false ] &&
   jq -r "(.reason // \"\") + (.phases[0].stdout_tail // \"\") + (.phases[0].stderr_tail // \"\")" <<<"$report" | grep -qi "gemfile changed"'
ok "proj: the gems came from the source, through the proxy" \
  'grep -q "GET /gems/sf-gem-callhome-1.0.0.gem 200" "$work/source.log" && grep -q "GET /gems/sf-gem-native-0.2.0.gem 200" "$work/source.log"'

# --- 3. benign gems: clean, installed, required
for s in native pure withdep; do
  report=$(wait_v1 "${id[$s]}"); echo "$report" >"$work/$s.json"
  want=$nofetch; [ $s = withdep ] && want=$all3
  check "$s: finished: $(status) $(phases)" \
    '[ "$(jq -r .status <<<"$report")" = finished ] && [ "$(phases)" = "$want" ]'
  ok "$s: nothing at Notice or above: $(loud_alerts)" '[ "$(loud_alerts)" = "[]" ]'
done
report=$(cat "$work/native.json")
ok "native: the extension was built with make and gcc in the install phase" \
  'jq -r ".facts.process[]? | select(.phase == \"install\") | .detail" <<<"$report" | grep -c "sf_gem_native.c" >/dev/null'
ok "native: and required in the import phase" \
  'jq -r ".phases[2].stdout_tail" <<<"$report" | grep -c "sf-gem-native/sf_gem_native: ok" >/dev/null'
report=$(cat "$work/withdep.json")
ok "withdep: its dependency was fetched and installed, and both required" \
  '[ "$(jq -c "[.packages[] | [.name, .version]] | sort" <<<"$report")" = "[[\"sf-gem-pure\",\"1.2.0\"],[\"sf-gem-withdep\",\"2.0.1\"]]" ] &&
   jq -r ".phases[2].stdout_tail" <<<"$report" | grep -c "sf-gem-withdep/sf_gem_withdep: ok" >/dev/null'

# --- 4. a gem the source lacks: failed, never clean
report=$(wait_v1 "${id[missing]}"); echo "$report" >"$work/missing.json"
ok "missing: failed in the fetch phase with the reason: $(jq -r '.reason // ""' <<<"$report" | head -c 200)" \
  '[ "$(jq -r .status <<<"$report")" = failed ] && [ "$(jq -r ".phases[0].ran" <<<"$report")" = true ] &&
   [ "$(jq -r ".phases[1].ran" <<<"$report")" = false ]'

# --- 5. a payload in a gem's second require path
report=$(wait_v1 "${id[twopaths]}"); echo "$report" >"$work/twopaths.json"
expect_fired gem-attack-requirepath
check "twopaths: finished, nothing to fetch: $(status) $(phases)" \
  '[ "$(jq -r .status <<<"$report")" = finished ] && [ "$(phases)" = "$nofetch" ]'
ok "twopaths: both require paths' files were required" \
  'jq -r ".phases[2].stdout_tail" <<<"$report" | grep -c "sf-gem-twopaths/sf_gem_twopaths: ok" >/dev/null &&
   jq -r ".phases[2].stdout_tail" <<<"$report" | grep -c "sf-gem-twopaths/sf_gem_twopaths_plugin: ok" >/dev/null'
ok "twopaths: the second path's connection is named sf-gem-twopaths-1.0.0, phase import" \
  '[ "$(alerts "Outbound connection attempt" sf-gem-twopaths-1.0.0 import)" -ge 1 ]'
ok "twopaths: nothing of it ran before the import" \
  '[ "$(jq "[.alerts[] | select(.rule == \"Outbound connection attempt\" and .output_fields[\"scanfarm.phase\"] != \"import\")] | length" <<<"$report")" -eq 0 ]'

# SCANFARM_TEST_KEEP=DIR keeps the reports for a look
[ -n "${SCANFARM_TEST_KEEP:-}" ] && mkdir -p "$SCANFARM_TEST_KEEP" && cp "$work"/*.json "$SCANFARM_TEST_KEEP"/
farm_finish
