#!/usr/bin/env bash
# sensor_drops_test — the eBPF sensor really losing records, with two jobs
# in one worker (--capacity 2) sharing its ring buffer, made small
# (--sensor-ring-kb 256) so that a flood fills it:
#   - a package whose postinstall tries to open a file as fast as it can,
#     from four processes, for three seconds: the ring buffer is full, records of its
#     cgroup are lost and counted against it; its scan does not read clean
#     (failed, the reason says the sensor lost N of its records, and
#     sensor.drops is N > 0);
#   - a package installed beside it, whose postinstall started before the
#     flood and sleeps through it (no system call the sensor records) and
#     ends after it: none of its records were lost, so it finishes clean
#     with drops 0 — the counter is per job cgroup, not per worker;
#   - the worker carries on: a scan after the flood is clean, drops 0.
# Both postinstalls take the flood's window from the wall clock (the same
# for every sandbox), fixed when the test packs them, and print when they
# ran, so the report itself shows that the quiet one spanned the flood.
#   sensor_drops_test.sh SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
[ -x "$2/worker/scanfarm-rules" ] || { echo "SKIP: rule engine not built"; exit 77; }
farm_init drops "$1" "$2" "$3"
trap 'farm_cleanup' EXIT
export SCANFARM_RULES=$src/rules
export SCANFARM_WORKER_OPTS="--capacity 2 --sensor-ring-kb 256 --worker-id drops"
"$src/scripts/farm.sh" up || { echo "FAIL - farm did not start"; exit 1; }
ok "the sensor's ring buffer is 256 KiB" 'grep -q "ring buffer 256 KiB" "$work/log/worker.log"'

# The flood starts 25 s from now (time for both jobs to fetch and reach
# their postinstalls on a loaded machine) and lasts 3 s; the quiet job
# wakes 12 s after the flood began.
t0=$(( $(date +%s%3N) + 25000 ))
mkpkg() { # NAME POSTINSTALL FILE: a package whose postinstall runs POSTINSTALL, with FILE (stdin)
  mkdir -p "$work/pkg/$1/package"
  cat >"$work/pkg/$1/package/package.json" <<EOF
{"name": "$1", "version": "1.0.0", "scripts": {"postinstall": "$2"}}
EOF
  cat >"$work/pkg/$1/package/$3"
  tar -czf "$work/$1.tgz" -C "$work/pkg/$1" package
}
# A C program, built by the postinstall (the image has a compiler, as a CI
# runner's does), so that each attempt costs the flood little: a path of 500
# bytes that does not exist, a record of that size each time.
mkpkg drops-flood "cc -O2 -o flood flood.c && ./flood" flood.c <<EOF
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static long long now_ms(void) {
  struct timespec ts; clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}
int main(void) {
  const long long t0 = ${t0}LL;
  char path[501]; memset(path, 'x', 500); path[0] = '/'; path[500] = 0;
  printf("flood: waiting, start %lld\n", now_ms()); fflush(stdout);
  while (now_ms() < t0) usleep(10000);
  int fds[2]; if (pipe(fds)) return 1;
  for (int k = 0; k < 3; k++) if (fork() == 0) {
    long n = 0; while (now_ms() < t0 + 3000) { open(path, O_RDONLY); n++; }
    if (write(fds[1], &n, sizeof(n)) != sizeof(n)) return 1;
    _exit(0);
  }
  long total = 0, n; while (now_ms() < t0 + 3000) { open(path, O_RDONLY); total++; }
  for (int k = 0; k < 3; k++) { wait(NULL); if (read(fds[0], &n, sizeof(n)) == sizeof(n)) total += n; }
  printf("flood: %ld opens, ended %lld\n", total, now_ms());
  return 0;
}
EOF
mkpkg drops-quiet "node run.js" run.js <<EOF
// sleeps through the flood: no system call the sensor records meanwhile
const t0 = $t0;
console.log('quiet: start ' + Date.now());
setTimeout(() => console.log('quiet: end ' + Date.now()), Math.max(0, t0 + 12000 - Date.now()));
EOF

submit() { # FILE → scan id
  curl -s -H 'Content-Type: application/octet-stream' --data-binary @"$1" \
    "$url/monitor/project/npm" | jq -r '.id // empty'
}
idq=$(submit "$work/drops-quiet.tgz")
idf=$(submit "$work/drops-flood.tgz")
ok "both submitted" '[ ${#idq} -eq 36 ] && [ ${#idf} -eq 36 ]'
wait_scan "$idf" >/dev/null
wait_scan "$idq" >/dev/null
rf=$(curl -s "$url/v1/scans/$idf")
rq=$(curl -s "$url/v1/scans/$idq")

stamp() { # REPORT WORD: the time the postinstall printed after "WORD "
  jq -r .install.stdout_tail <<<"$1" | sed -n "s/.*$2 \([0-9]\{13\}\).*/\1/p" | head -1
}
qs=$(stamp "$rq" "quiet: start") qe=$(stamp "$rq" "quiet: end") fe=$(stamp "$rf" "ended")
fs=$(stamp "$rf" "flood: waiting, start")
ok "the flood ran in its window ($(jq -r .install.stdout_tail <<<"$rf" | grep -o 'flood: [0-9]* opens' | head -1))" \
  '[ -n "$fs" ] && [ -n "$fe" ] && [ "$fs" -lt "$t0" ] && [ "$fe" -ge $((t0 + 3000)) ]'
ok "the quiet install spanned the flood (start $qs, end $qe; flood $t0-$fe)" \
  '[ -n "$qs" ] && [ -n "$qe" ] && [ "$qs" -lt "$t0" ] && [ "$qe" -gt "$fe" ]'

drops_f=$(jq -r '.sensor.drops // 0' <<<"$rf")
ok "the flooding job lost records, counted against it (sensor.drops $drops_f)" '[ "$drops_f" -gt 0 ]'
ok "its scan does not read clean: failed" '[ "$(jq -r .status <<<"$rf")" = failed ]'
ok "its reason says the sensor lost its records ($(jq -r .reason <<<"$rf"))" \
  'jq -r .reason <<<"$rf" | grep -q "^the sensor lost $drops_f of this job.s records (its ring buffer was full)"'
ok "the Package Hunter view says error, with the reason" \
  '[ "$(curl -s "$url/?id=$idf" | jq -r ".status, .reason" | head -2 | paste -sd" " | cut -c1-22)" = "error the sensor lost " ]'

loud='["emergency","alert","critical","error","warning","warn","notice"]'
ok "the job beside it lost nothing (sensor.drops $(jq -r .sensor.drops <<<"$rq"), events $(jq -r .sensor.events <<<"$rq"))" \
  '[ "$(jq -r ".sensor.drops" <<<"$rq")" = 0 ] && [ "$(jq -r ".sensor.events // 0" <<<"$rq")" -gt 0 ]'
ok "and finished clean: install exit 0, no reason, nothing at Notice or above" \
  '[ "$(jq -r ".status, .install.exit_status, .reason" <<<"$rq" | paste -sd" ")" = "finished 0 null" ] &&
   [ "$(jq "[.alerts[]? | select(.priority | ascii_downcase | IN($loud[]))] | length" <<<"$rq")" = 0 ]'
ok "its report holds its own facts (the quiet postinstall's node ran)" \
  'jq -e "any(.facts.process[]?; .detail | test(\"node run.js\"))" <<<"$rq" >/dev/null'

# The worker carries on: the next scan is clean and lost nothing.
mkdir -p "$work/pkg/benign-banner" && cp -R "$src/tests/packages/benign-banner" "$work/pkg/benign-banner/package"
rm -f "$work/pkg/benign-banner/package/expect"
tar -czf "$work/benign-banner.tgz" -C "$work/pkg/benign-banner" package
idb=$(submit "$work/benign-banner.tgz")
wait_scan "$idb" >/dev/null
rb=$(curl -s "$url/v1/scans/$idb")
ok "after the flood the next scan finishes with drops 0" \
  '[ "$(jq -r ".status, .sensor.drops" <<<"$rb" | paste -sd" ")" = "finished 0" ]' ||
  jq -r '.status, .reason' <<<"$rb"
"$src/scripts/farm.sh" down >/dev/null 2>&1
ok "no sanitizer findings in the worker's log" '! grep -E "Sanitizer|runtime error:" "$work/log/worker.log"'
farm_finish
