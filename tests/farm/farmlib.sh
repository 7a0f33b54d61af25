# farmlib.sh — sourced by the shell tests that run a whole farm.
#
#   farm_init NAME SOURCE_DIR BUILD_DIR DSN_FILE   fresh database + state dir + ports,
#                                                  exported for scripts/farm.sh
#   ok DESCRIPTION 'shell condition'               one check, counted
#   farm_finish                                    summary line, exit status
# Sets: src build work dsn base_dsn db port url. Call farm_cleanup from an EXIT trap.

passed=0 failed=0
ok() { if eval "$2"; then passed=$((passed + 1)); echo "ok   - $1"; else failed=$((failed + 1)); echo "FAIL - $1"; fi; }
# true once the condition holds, within 10 s: what the worker undoes after
# it has sent a job's result (its disk, its directory) may still be going
eventually() { for _ in $(seq 1 40); do eval "$1" && return 0; sleep 0.25; done; return 1; }

farm_init() {
  local name=$1
  src=$2 build=$3
  [ -d "$src/var/rootfs" ] && [ -f "$src/var/rootfs.img" ] ||
    { echo "SKIP: no sandbox rootfs (scripts/setup.sh rootfs)"; exit 77; }
  command -v crun >/dev/null || { echo "SKIP: crun missing"; exit 77; }
  work=$(mktemp -d "/tmp/sf-$name-XXXXXX")
  # the sandbox's user namespace must reach the worker's dirs below it
  chmod 0755 "$work"
  base_dsn=$(cat "$4")
  db=sf_${name}_$$
  psql "$base_dsn" -qc "CREATE DATABASE $db" >/dev/null
  dsn="${base_dsn/dbname=scanfarm/dbname=$db}"
  export SCANFARM_DB_DSN=$dsn SCANFARM_VAR=$work SCANFARM_BUILD=$build SCANFARM_SKIP_SETUP=1
  # the worker's: the image (the tree beside it is for tools that chroot)
  export SCANFARM_ROOTFS=$src/var/rootfs.img
  # Ports from the pid and the test name, so tests running side by side differ;
  # below 32768, where Linux hands out ephemeral ports (a client's source port
  # there once took a test's listening port).
  port=$((20000 + ($$ * 7 + $(printf '%s' "$name" | cksum | cut -d' ' -f1)) % 12000))
  export SCANFARM_HTTP_PORT=$port SCANFARM_JOBS_PORT=$((port + 1)) SCANFARM_RESULTS_PORT=$((port + 2))
  url=http://127.0.0.1:$port
}

# Stops the farm; on failure shows the daemons' last log lines first.
farm_cleanup() {
  "$src/scripts/farm.sh" down >/dev/null 2>&1
  if [ "$failed" -ne 0 ]; then
    for f in "$work"/log/*.log "$work"/*.log; do
      [ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }
    done
  fi
  # a worker killed mid-job leaves its job's /tmp mounted (the next worker on
  # that directory sweeps it; a test may not start one): unmount, then remove
  awk -v w="$work/" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$work"
  psql "$base_dsn" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
}

# Arms a copy of a tests/packages/attack-* package (its directory): they act
# only then, since nothing in the sandbox tells them where they are (it looks
# like a CI runner's job). Harmless elsewhere, the copy or not.
arm() { touch "$1/armed"; }

# Polls the Package Hunter view until the scan is no longer pending; prints it.
wait_scan() {
  local body
  for _ in $(seq 1 240); do
    body=$(curl -s "$url/?id=$1")
    [ "$(jq -r .status <<<"$body")" != pending ] && { echo "$body"; return 0; }
    sleep 0.5
  done
  echo "$body"; return 1
}

farm_finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
