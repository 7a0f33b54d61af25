#!/usr/bin/env bash
# sweep_test — the store sweep (coordinator/sweep.h), run every second with a
# 15 s grace. Objects without an artifacts row are made for real: a trigger
# installed by this test makes PostgreSQL refuse scans named `refuse-me`, so
# those submissions are answered 503 after their bytes were stored. Checks:
#   deleted within a few seconds: orphans older than the grace (a real 503
#     one aged with touch -d, and one planted by hand), and a stale upload
#     temporary (tmp/up-*);
#   kept: an object with a row even when it is old (and its scan's artifact
#     still downloads), fresh orphans within the grace, an old orphan whose
#     bytes were uploaded again (the upload refreshes its mtime), a fresh
#     temporary, a file in tmp/ that is not an upload's; an object a crashed
#     sweep left in tmp/ is put back;
#   after the grace the fresh orphans go too, the object with a row stays;
#   /metrics counts what was deleted.
#   sweep_test.sh SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
farm_init sweep "$1" "$2" "$3"
export SCANFARM_SWEEP_INTERVAL=1 SCANFARM_ORPHAN_GRACE=15
trap farm_cleanup EXIT
sql() { psql "$dsn" -qAtc "$1"; }
store=$work/artifacts
metric() { curl -s "$url/metrics" | sed -n "s/^$1 //p"; }
obj() { echo "$store/objects/${1:0:2}/$1"; }
pack() { # NAME -> $work/NAME.tgz, the sample with its own bytes; prints its sha256
  mkdir -p "$work/pkg/$1/package" && cp "$src/samples/hello-npm/"* "$work/pkg/$1/package/"
  echo "$1 $$" >"$work/pkg/$1/package/nonce.txt"
  tar -czf "$work/$1.tgz" -C "$work/pkg/$1" package
  sha256sum "$work/$1.tgz" | cut -d' ' -f1
}
submit() { # NAME [QUERY] -> HTTP code; body in $work/NAME.out
  curl -s -o "$work/$1.out" -w '%{http_code}' -H 'Content-Type: application/octet-stream' \
    --data-binary @"$work/$1.tgz" "$url/v1/scans?${2:-}"
}
old() { touch -d '2 hours ago' "$@"; }

"$src/scripts/farm.sh" up || { echo "FAIL - farm did not start"; exit 1; }
ok "the coordinator warns that a 15 s grace is for tests only" \
  'grep -q "orphan-grace 15 s" "$work/log/coordinator.log"'

# An artifact with its row, scanned; then made to look old.
kept=$(pack kept)
code=$(submit kept)
kept_id=$(jq -r '.id // empty' "$work/kept.out")
ok "a submission is accepted (HTTP $code)" '[ "$code" = 201 ] && [ ${#kept_id} -eq 36 ]'
ok "and finishes" '[ "$(wait_scan "$kept_id" | jq -r .status)" = finished ]'

sql "CREATE FUNCTION sf_test_refuse() RETURNS trigger LANGUAGE plpgsql AS
       \$\$BEGIN RAISE EXCEPTION 'refused by sweep_test'; END\$\$;
     CREATE TRIGGER sf_test_refuse BEFORE INSERT ON scans FOR EACH ROW
       WHEN (NEW.name = 'refuse-me') EXECUTE FUNCTION sf_test_refuse();" >/dev/null
fresh=$(pack fresh) aged=$(pack aged) again=$(pack again)
for n in fresh aged again; do
  code=$(submit $n name=refuse-me)
  ok "a submission PostgreSQL refuses ($n) is answered 503 (HTTP $code)" \
    '[ "$code" = 503 ] && [ "$(jq -r .error.code "$work/$n.out")" = database_unavailable ]'
done
ok "their bytes stay in the store without an artifacts row" \
  '[ -f "$(obj "$fresh")" ] && [ -f "$(obj "$aged")" ] && [ -f "$(obj "$again")" ] &&
   [ "$(sql "SELECT count(*) FROM artifacts WHERE sha256 IN ('"'$fresh','$aged','$again'"')")" = 0 ]'

# Quickly, so that every check below runs within the grace of the fresh ones:
old "$(obj "$kept")" "$(obj "$aged")" "$(obj "$again")"
code=$(submit again name=refuse-me) # the same bytes again: refreshes the mtime
ok "the old orphan's bytes uploaded again (refused again, HTTP $code)" '[ "$code" = 503 ]'
ok "that upload refreshed the old object's mtime" \
  '[ $(( $(date +%s) - $(stat -c %Y "$(obj "$again")") )) -lt 10 ]'
head -c 4096 /dev/urandom >"$work/planted"
planted=$(sha256sum "$work/planted" | cut -d' ' -f1)
mkdir -p "$(dirname "$(obj "$planted")")" && cp "$work/planted" "$(obj "$planted")" && old "$(obj "$planted")"
echo partial >"$store/tmp/up-00000000-0000-4000-8000-000000000001" && old "$store/tmp/up-00000000-0000-4000-8000-000000000001"
echo partial >"$store/tmp/up-00000000-0000-4000-8000-000000000002"
echo other >"$store/tmp/notes.txt" && old "$store/tmp/notes.txt"
# An object with a row that a crashed sweep left in quarantine (tmp/sweep-<sha>).
mv "$(obj "$kept")" "$store/tmp/sweep-$kept"
t_fresh=$(date +%s)

for _ in $(seq 1 60); do
  [ ! -e "$(obj "$aged")" ] && [ ! -e "$(obj "$planted")" ] &&
    [ ! -e "$store/tmp/up-00000000-0000-4000-8000-000000000001" ] && [ -e "$(obj "$kept")" ] && break
  sleep 0.1
done
ok "an old real orphan (503) is deleted" '[ ! -e "$(obj "$aged")" ]'
ok "an old planted orphan is deleted" '[ ! -e "$(obj "$planted")" ]'
ok "a stale upload temporary is deleted" '[ ! -e "$store/tmp/up-00000000-0000-4000-8000-000000000001" ]'
ok "an object a crashed sweep left in tmp/ is put back" \
  '[ -f "$(obj "$kept")" ] && [ ! -e "$store/tmp/sweep-$kept" ]'
sleep 2 # two more passes
ok "checks below run within the grace of the fresh files ($(( $(date +%s) - t_fresh )) s)" \
  '[ $(( $(date +%s) - t_fresh )) -lt 12 ]'
ok "an old object with an artifacts row is kept" '[ -f "$(obj "$kept")" ]'
ok "and its artifact still downloads, intact" \
  '[ "$(curl -s "$url/v1/artifacts/$kept" | sha256sum | cut -d" " -f1)" = "$kept" ]'
ok "a fresh orphan is kept within the grace" '[ -f "$(obj "$fresh")" ]'
ok "an old orphan uploaded again is kept within the grace" '[ -f "$(obj "$again")" ]'
ok "a fresh upload temporary is kept" '[ -f "$store/tmp/up-00000000-0000-4000-8000-000000000002" ]'
ok "a file in tmp/ that is no upload's is left alone" '[ -f "$store/tmp/notes.txt" ]'
ok "/metrics counts 2 orphan objects and 1 temporary deleted" \
  '[ "$(metric "scanfarm_sweep_deleted_total{kind=\"orphan_object\"}")" = 2 ] &&
   [ "$(metric "scanfarm_sweep_deleted_total{kind=\"stale_temporary\"}")" = 1 ]'
ok "the sweep ran every second ($(metric scanfarm_sweep_runs_total) passes)" \
  '[ "$(metric scanfarm_sweep_runs_total)" -ge 4 ]'

# After the grace the fresh orphans go as well.
# (The temporary was written a moment after the objects' mtimes: it may go
# one pass later, so wait for it too.)
for _ in $(seq 1 250); do
  [ ! -e "$(obj "$fresh")" ] && [ ! -e "$(obj "$again")" ] &&
    [ ! -e "$store/tmp/up-00000000-0000-4000-8000-000000000002" ] && break
  sleep 0.1
done
ok "after the grace the fresh orphans are deleted too ($(( $(date +%s) - t_fresh )) s)" \
  '[ ! -e "$(obj "$fresh")" ] && [ ! -e "$(obj "$again")" ]'
ok "and so is the temporary" '[ ! -e "$store/tmp/up-00000000-0000-4000-8000-000000000002" ]'
ok "the object with a row is still kept" '[ -f "$(obj "$kept")" ]'
ok "/metrics: 4 orphan objects, 2 temporaries" \
  '[ "$(metric "scanfarm_sweep_deleted_total{kind=\"orphan_object\"}")" = 4 ] &&
   [ "$(metric "scanfarm_sweep_deleted_total{kind=\"stale_temporary\"}")" = 2 ]'
ok "the scans' artifacts are all still in the store" \
  '[ -z "$(sql "SELECT artifact_sha256 FROM scans WHERE artifact_sha256 IS NOT NULL" |
     while read -r s; do [ -f "$(obj "$s")" ] || echo "$s"; done)" ]'
ok "no sanitizer findings in the daemons' logs" '! grep -E "Sanitizer|runtime error:" "$work/log/"*.log'

farm_finish
