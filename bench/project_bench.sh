#!/usr/bin/env bash
# project_bench — scanning a real-world project (express, esbuild and core-js,
# whose install scripts run, plus chalk, lodash and dayjs) against a plain
# `npm ci` of the same project on the same machine, in the same run, both cold
# (empty tarball caches) and warm (caches primed). The baseline runs the
# sandbox image's own node and npm (chroot into the rootfs, host network), so
# the ratio is what the farm adds: three containers, the registry proxy, the
# sensor and the rules, the import phase, the report.
#
# Scheduling: the sandbox's containers live in cgroups under /scanfarm (on a
# host with cgroup v1's cpu controller, that group as a whole gets one
# task's CPU share when the machine is busy, however many threads npm runs).
# The ratio's baseline therefore runs in a cgroup of its own beside them
# (/scanfarm/bench-baseline-PID), scheduled as the sandbox is; the same
# npm ci in the host's root cgroup is measured too and printed beside it.
# CPU time (the baseline's cgroup; the scan's containers plus the worker
# process) is printed as well: it hardly moves when the machine is loaded.
#   bench/project_bench.sh BUILD_DIR [RUNS]     (default 3; medians printed)
#   SCANFARM_BENCH_KEEP=DIR   keep the logs and every report in DIR
# The first run copies the project's dependency tree once from the public npm
# registry into var/bench-registry; every run serves that copy on loopback.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$1 runs=${2:-3}
rootfs=${SCANFARM_ROOTFS:-$top/var/rootfs}
mirror=$top/var/bench-registry
work=$(mktemp -d /var/tmp/sf-project-bench-XXXXXX)
chmod 755 "$work"
reg=
cleanup() {
  [ -n "$reg" ] && kill "$reg" 2>/dev/null
  if [ -n "${SCANFARM_BENCH_KEEP:-}" ]; then
    mkdir -p "$SCANFARM_BENCH_KEEP"
    cp -r "$work/farm/log" "$work"/*.json "$work"/*.log "$SCANFARM_BENCH_KEEP"/ 2>/dev/null || true
    # each round's figures: [bshd].{cold,warm} = baseline, host, scan, job-like disk
    cp "$work"/[bshd].cold "$work"/[bshd].warm "$SCANFARM_BENCH_KEEP"/ 2>/dev/null || true
  fi
  SCANFARM_VAR=$work/farm "$top/scripts/farm.sh" down >/dev/null 2>&1 || true
  awk -v w="$work/" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# --- the project and its tree, copied once from the public registry
if [ ! -f "$mirror/.complete" ]; then
  echo "copying the bench project's tree from registry.npmjs.org into $mirror (once)"
  rm -rf "$mirror"; mkdir -p "$mirror/project" "$mirror/raw" "$mirror/tarballs"
  cat >"$mirror/project/package.json" <<'EOF'
{
  "name": "scanfarm-bench-project",
  "version": "1.0.0",
  "private": true,
  "dependencies": {
    "express": "4.21.2",
    "esbuild": "0.24.2",
    "core-js": "3.39.0",
    "chalk": "4.1.2",
    "lodash": "4.17.21",
    "dayjs": "1.11.13"
  }
}
EOF
  ( cd "$mirror/project" && HOME=$work npm install --package-lock-only --ignore-scripts \
      --no-audit --no-fund --registry=https://registry.npmjs.org/ >/dev/null )
  # every package the lockfile installs on linux-x64 (optional ones for other
  # platforms are never fetched)
  jq -r '.packages | to_entries[] | select(.key != "" and .value.resolved != null)
    | select((.value.os // ["linux"] | index("linux")) and (.value.cpu // ["x64"] | index("x64")))
    | "\(.key | sub("^.*node_modules/"; "")) \(.value.version) \(.value.resolved)"' \
    "$mirror/project/package-lock.json" | sort -u >"$mirror/list"
  while read -r name version resolved; do
    curl -fsS -o "$mirror/tarballs/$(basename "$resolved")" "$resolved"
    f=$mirror/raw/$(printf '%s' "$name" | sed 's,/,%2f,')
    [ -f "$f" ] || curl -fsS -H 'Accept: application/vnd.npm.install-v1+json' \
      -o "$f" "https://registry.npmjs.org/$(printf '%s' "$name" | sed 's,/,%2f,')"
  done <"$mirror/list"
  touch "$mirror/.complete"
fi

# --- the loopback registry: packuments cut to the copied versions, tarballs local
port=$((31000 + $$ % 4000))
regurl=http://127.0.0.1:$((port + 3))
python3 - "$mirror" "$work/registry" "$regurl" <<'EOF'
import json, os, sys, urllib.parse
mirror, out, base = sys.argv[1:4]
os.makedirs(os.path.join(out, "-"), exist_ok=True)
keep = {}
for line in open(os.path.join(mirror, "list")):
    name, version, resolved = line.split()
    keep.setdefault(name, set()).add(version)
for name, versions in keep.items():
    doc = json.load(open(os.path.join(mirror, "raw", name.replace("/", "%2f"))))
    doc["versions"] = {v: m for v, m in doc["versions"].items() if v in versions}
    for v, m in doc["versions"].items():
        tgz = os.path.basename(urllib.parse.urlparse(m["dist"]["tarball"]).path)
        m["dist"]["tarball"] = f"{base}/-/{tgz}"
        src = os.path.join(mirror, "tarballs", tgz)
        dst = os.path.join(out, "-", tgz)
        if not os.path.exists(dst):
            os.link(src, dst)
    doc["dist-tags"] = {"latest": max(doc["versions"])}
    path = os.path.join(out, *name.split("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    json.dump(doc, open(path, "w"))
EOF
# like the public registry: persistent connections and a listen backlog
# that a burst of parallel downloads does not overflow (Python's default of
# 5 does, and the refused ones are retried seconds later, on both paths)
python3 "$top/tests/tools/fake_registry.py" "$work/registry" "$((port + 3))" "$work/registry.log" \
  --keep-alive --backlog 1024 &
reg=$!
for _ in $(seq 1 50); do curl -s -o /dev/null "$regurl/express" && break; sleep 0.1; done
npkgs=$(wc -l <"$mirror/list")
mkdir -p "$work/app"
cp "$mirror/project/package.json" "$work/app/"
# the lockfile's tarballs at the loopback registry's layout
jq --arg r "$regurl" '.packages |= with_entries(if .value.resolved then
    .value.resolved = "\($r)/-/\(.value.resolved | split("/") | last)" else . end)' \
  "$mirror/project/package-lock.json" >"$work/app/package-lock.json"
tar -czf "$work/project.tgz" -C "$work" app

now() { date +%s.%N; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN {printf "%.2f", a - b}'; }

# --- the baseline's cgroup: beside the sandbox's containers, in every hierarchy
cgdirs=()
while read -r _ mnt fstype opts _; do
  case $fstype in cgroup|cgroup2) ;; *) continue ;; esac
  case ,$opts, in *,name=*) continue ;; esac   # named v1 hierarchies: no controller
  cgdirs+=("$mnt/scanfarm/bench-baseline-$$")
done </proc/mounts
cg_cpu_ms() { # CPU time of the baseline's cgroup so far (ms)
  local d
  for d in "${cgdirs[@]}"; do
    if [ -f "$d/cpuacct.usage" ]; then echo $(( $(cat "$d/cpuacct.usage") / 1000000 )); return; fi
    if [ -f "$d/cpu.stat" ] && grep -q '^usage_usec' "$d/cpu.stat"; then
      echo $(( $(awk '$1 == "usage_usec" {print $2}' "$d/cpu.stat") / 1000 )); return
    fi
  done
  echo 0
}
cg_cleanup() { local d; for d in "${cgdirs[@]}"; do rmdir "$d" 2>/dev/null || true; done; }

# --- baseline: npm ci in the sandbox image's userland (chroot), loopback registry
# sandbox: in the cgroup beside the containers; host: in the host's root
# cgroup; jobdisk: beside the containers, and the project (node_modules)
# on a fresh ext4 image like the job's disk (worker/sandbox/disk.c: no
# journal, loop-mounted) instead of the host's file system
baseline() { # cold|warm sandbox|host|jobdisk → "seconds cpu-seconds"
  local dir=$work/base enter='' disk=''
  mountpoint -q "$dir/app" 2>/dev/null && umount "$dir/app"
  rm -rf "$dir/app"; mkdir -p "$dir/app" "$dir/cache"
  if [ "$1" = cold ]; then rm -rf "${dir:?}/cache"; mkdir -p "$dir/cache"; fi
  if [ "$2" = jobdisk ]; then
    rm -f "$dir/disk.img"; truncate -s 1100M "$dir/disk.img"
    mkfs.ext4 -q -F -O ^has_journal -m 0 -N 200000 -E lazy_itable_init=1,nodiscard "$dir/disk.img"
    disk="mount -o loop,noatime,nosuid,nodev,noinit_itable '$dir/disk.img' '$dir/app' &&
      cp '$work/app/package.json' '$work/app/package-lock.json' '$dir/app/' && "
  else
    cp "$work/app/package.json" "$work/app/package-lock.json" "$dir/app/"
  fi
  local cpu0=0 d
  if [ "$2" != host ]; then
    for d in "${cgdirs[@]}"; do
      mkdir -p "$d"
      # a v1 cpuset starts empty: the parent's cpus and memory nodes
      if [ -f "$d/cpuset.cpus" ] && [ -z "$(cat "$d/cpuset.cpus")" ]; then
        cat "$d/../cpuset.cpus" >"$d/cpuset.cpus"; cat "$d/../cpuset.mems" >"$d/cpuset.mems"
      fi
      enter+="echo \$\$ >'$d/cgroup.procs' && "
    done
    cpu0=$(cg_cpu_ms)
  fi
  TIMEFORMAT='%R %U %S'
  local t0; t0=$(now)
  { time sh -c "${enter}exec unshare -m sh -c \"${disk}mount -t tmpfs tmpfs '$rootfs/tmp' && mount -t proc proc '$rootfs/proc' &&
    mount --bind '$dir/app' '$rootfs/mnt' && mkdir -p '$rootfs/tmp/cache' &&
    mount --bind '$dir/cache' '$rootfs/tmp/cache' &&
    chroot '$rootfs' /usr/bin/env -i PATH=/usr/bin:/bin HOME=/tmp sh -c 'cd /mnt && npm ci --no-audit --no-fund --loglevel=error --registry=$regurl/ --cache=/tmp/cache'\"" \
    >"$work/base.log" 2>&1 ; } 2>"$work/base.time" || { echo "baseline npm ci failed:" >&2; tail -20 "$work/base.log" >&2; exit 1; }
  local took; took=$(since "$t0")
  local cpu
  rm -f "$dir/disk.img"
  if [ "$2" != host ]; then cpu=$(( $(cg_cpu_ms) - cpu0 ))
  else cpu=$(awk '{printf "%d", ($2 + $3) * 1000}' "$work/base.time"); fi
  awk -v t="$took" -v c="$cpu" 'BEGIN {printf "%.2f %.2f\n", t, c / 1000}'
}

# --- the farm: its own PostgreSQL, coordinator and worker, the same registry
export SCANFARM_VAR=$work/farm SCANFARM_BUILD=$build SCANFARM_SKIP_SETUP=1
export SCANFARM_HTTP_PORT=$port SCANFARM_JOBS_PORT=$((port + 1)) SCANFARM_RESULTS_PORT=$((port + 2))
export SCANFARM_NPM_REGISTRY=$regurl/ SCANFARM_ROOTFS=$rootfs.img # the image beside the tree
"$top/scripts/farm.sh" up >/dev/null 2>&1 || { echo "the farm did not start"; exit 1; }
url=http://127.0.0.1:$port
wpid=$(cat "$SCANFARM_VAR/run/worker.pid")
tick=$(getconf CLK_TCK)
proc_cpu_ms() { awk -v t="$tick" '{sub(/^.*\) /, ""); printf "%d", ($12 + $13) * 1000 / t}' "/proc/$1/stat"; }
# the registry proxy (tinyproxy, the worker's child) works for the scan too:
# its CPU time is the scan's (restarted, it is found again)
proxy_cpu_ms() {
  local p; p=$(pgrep -P "$wpid" -x tinyproxy | head -1)
  if [ -n "$p" ]; then proc_cpu_ms "$p"; else echo 0; fi
}
scan() { # cold|warm → "seconds cpu-seconds fetch-s install-s import-s" (submit → finished report)
  if [ "$1" = cold ]; then rm -rf "$SCANFARM_VAR/worker/npm-cache"; fi
  local t0 id st w0 p0 log0; t0=$(now); w0=$(proc_cpu_ms "$wpid"); p0=$(proxy_cpu_ms)
  log0=$(stat -c %s "$SCANFARM_VAR/log/worker.log")
  id=$(curl -fsS -H 'Content-Type: application/octet-stream' --data-binary @"$work/project.tgz" \
    "$url/monitor/project/npm?rescan=1" | jq -r .id)
  for _ in $(seq 1 3000); do
    st=$(curl -fsS "$url/v1/scans/$id" | jq -r .status)
    case $st in finished|failed) break ;; esac
    sleep 0.1
  done
  local took; took=$(since "$t0")
  local wcpu=$(( $(proc_cpu_ms "$wpid") - w0 + $(proxy_cpu_ms) - p0 ))
  curl -fsS "$url/v1/scans/$id" >"$work/report.json"
  cp "$work/report.json" "$work/report-$1-$id.json"
  [ "$st" = finished ] || { echo "scan $st: $(jq -r .reason "$work/report.json")" >&2; exit 1; }
  # the containers' CPU time, as the worker logs it per phase
  local ccpu; ccpu=$(tail -c +"$((log0 + 1))" "$SCANFARM_VAR/log/worker.log" |
    sed -n 's/.* phase (.*): exit .* in [0-9]* ms, \([0-9]*\) ms CPU.*/\1/p' | awk '{s += $1} END {print s + 0}')
  local phases; phases=$(jq -r '[.phases[] | (.duration_ms // 0) / 1000] | map(tostring) | join(" ")' "$work/report.json")
  awk -v t="$took" -v c="$((ccpu + wcpu))" -v p="$phases" 'BEGIN {printf "%.2f %.2f %s\n", t, c / 1000, p}'
}

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
col() { awk -v c="$2" '{print $c}' "$1" | median; }
span() { awk -v c="$2" 'NR == 1 || $c < lo {lo = $c} NR == 1 || $c > hi {hi = $c} END {printf "%.2f–%.2f", lo, hi}' "$1"; }
trap 'cg_cleanup; cleanup' EXIT
for kind in cold warm; do
  : >"$work/b.$kind"; : >"$work/h.$kind"; : >"$work/d.$kind"; : >"$work/s.$kind"
done
load0=$(cut -d' ' -f1-3 /proc/loadavg)
# interleaved, so that a change in the machine's load falls on all of them
for _ in $(seq 1 "$runs"); do
  for kind in cold warm; do
    baseline "$kind" sandbox >>"$work/b.$kind"
    scan "$kind" >>"$work/s.$kind"
    baseline "$kind" host >>"$work/h.$kind"
    baseline "$kind" jobdisk >>"$work/d.$kind"
  done
done
echo "project: express, esbuild, core-js, chalk, lodash, dayjs — $npkgs packages (lockfile), $runs runs, medians (range)"
echo "  report: $(jq -r '"\(.status), \(.packages | length) packages listed, phases " + ([.phases[] | "\(.name) \(.duration_ms) ms"] | join(", ")) + ", \(.alerts | length) alerts"' "$work/report.json")"
echo "  load average at the start: $load0; at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
for kind in cold warm; do
  b=$(col "$work/b.$kind" 1) s=$(col "$work/s.$kind" 1) h=$(col "$work/h.$kind" 1)
  d=$(col "$work/d.$kind" 1)
  awk -v k="$kind" -v b="$b" -v s="$s" -v h="$h" -v d="$d" -v br="$(span "$work/b.$kind" 1)" \
    -v sr="$(span "$work/s.$kind" 1)" -v hr="$(span "$work/h.$kind" 1)" -v dr="$(span "$work/d.$kind" 1)" 'BEGIN {
    printf "  %s: npm ci %.2f s (%s)   scan %.2f s (%s)   ratio %.2f\n", k, b, br, s, sr, s / b
    printf "  %s: npm ci in the host root cgroup %.2f s (%s): scan / that %.2f\n", k, h, hr, s / h
    printf "  %s: npm ci on a job-like disk %.2f s (%s): scan / that %.2f\n", k, d, dr, s / d }'
  # each round's scan over the baseline measured just before it: the load
  # changes less between the two than over the whole run
  paste -d' ' "$work/s.$kind" "$work/b.$kind" | awk '{print $1 / $(NF - 1)}' >"$work/r.$kind"
  paste -d' ' "$work/s.$kind" "$work/d.$kind" | awk '{print $1 / $(NF - 1)}' >"$work/rd.$kind"
  awk -v k="$kind" -v r="$(median <"$work/r.$kind")" -v rr="$(span "$work/r.$kind" 1)" \
    -v d="$(median <"$work/rd.$kind")" -v dr="$(span "$work/rd.$kind" 1)" 'BEGIN {
    printf "  %s: per-round ratio scan / npm ci: median %.2f (%s); scan / npm ci on a job-like disk: median %.2f (%s)\n", k, r, rr, d, dr }'
  awk -v k="$kind" -v bc="$(col "$work/b.$kind" 2)" -v sc="$(col "$work/s.$kind" 2)" \
    -v dc="$(col "$work/d.$kind" 2)" \
    -v f="$(col "$work/s.$kind" 3)" -v n="$(col "$work/s.$kind" 4)" -v m="$(col "$work/s.$kind" 5)" 'BEGIN {
    printf "  %s: CPU npm ci %.2f s, on a job-like disk %.2f s, scan %.2f s (containers + worker + proxy): ratios %.2f, %.2f\n",
      k, bc, dc, sc, sc / bc, sc / dc
    printf "  %s: phases fetch %.2f s, install %.2f s, import %.2f s\n", k, f, n, m }'
  # what the scan spends outside its three phases (set-up, between phases,
  # the end, the coordinator's side, the polling), per round
  awk '{print $1 - $3 - $4 - $5}' "$work/s.$kind" >"$work/o.$kind"
  awk -v k="$kind" -v o="$(median <"$work/o.$kind")" -v r="$(span "$work/o.$kind" 1)" 'BEGIN {
    printf "  %s: outside the phases (submit to finished report, less the phases) %.2f s (%s)\n", k, o, r }'
done
