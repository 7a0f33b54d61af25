#!/usr/bin/env bash
# project_bench — scanning a real-world project (express, esbuild and core-js,
# whose install scripts run, plus chalk, lodash and dayjs) against a plain
# `npm ci` of the same project on the same machine, in the same run, both cold
# (empty tarball caches) and warm (caches primed). The baseline runs the
# sandbox image's own node and npm (chroot into the rootfs, host network), so
# the ratio is what the farm adds: three containers, the registry proxy, the
# sensor and the rules, the import phase, the report.
#   bench/project_bench.sh BUILD_DIR [RUNS]     (default 3; medians printed)
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
python3 "$top/tests/tools/fake_registry.py" "$work/registry" "$((port + 3))" "$work/registry.log" &
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

# --- baseline: npm ci in the sandbox image's userland (chroot), loopback registry
baseline() { # cold|warm → seconds
  local dir=$work/base
  rm -rf "$dir/app"; mkdir -p "$dir/app" "$dir/cache"
  if [ "$1" = cold ]; then rm -rf "${dir:?}/cache"; mkdir -p "$dir/cache"; fi
  cp "$work/app/package.json" "$work/app/package-lock.json" "$dir/app/"
  local t0; t0=$(now)
  unshare -m sh -c "mount -t tmpfs tmpfs '$rootfs/tmp' && mount -t proc proc '$rootfs/proc' &&
    mount --bind '$dir/app' '$rootfs/mnt' && mkdir -p '$rootfs/tmp/cache' &&
    mount --bind '$dir/cache' '$rootfs/tmp/cache' &&
    chroot '$rootfs' /usr/bin/env -i PATH=/usr/bin:/bin HOME=/tmp sh -c 'cd /mnt && npm ci --no-audit --no-fund --loglevel=error --registry=$regurl/ --cache=/tmp/cache'" \
    >"$work/base.log" 2>&1 || { echo "baseline npm ci failed:" >&2; tail -20 "$work/base.log" >&2; exit 1; }
  since "$t0"
}

# --- the farm: its own PostgreSQL, coordinator and worker, the same registry
export SCANFARM_VAR=$work/farm SCANFARM_BUILD=$build SCANFARM_SKIP_SETUP=1
export SCANFARM_HTTP_PORT=$port SCANFARM_JOBS_PORT=$((port + 1)) SCANFARM_RESULTS_PORT=$((port + 2))
export SCANFARM_NPM_REGISTRY=$regurl/ SCANFARM_ROOTFS=$rootfs.img # the image beside the tree
"$top/scripts/farm.sh" up >/dev/null 2>&1 || { echo "the farm did not start"; exit 1; }
url=http://127.0.0.1:$port
scan() { # cold|warm → seconds (submit → finished report)
  if [ "$1" = cold ]; then rm -rf "$SCANFARM_VAR/worker/npm-cache"; fi
  local t0 id st; t0=$(now)
  id=$(curl -fsS -H 'Content-Type: application/octet-stream' --data-binary @"$work/project.tgz" \
    "$url/monitor/project/npm?rescan=1" | jq -r .id)
  for _ in $(seq 1 3000); do
    st=$(curl -fsS "$url/v1/scans/$id" | jq -r .status)
    case $st in finished|failed) break ;; esac
    sleep 0.1
  done
  local took; took=$(since "$t0")
  curl -fsS "$url/v1/scans/$id" >"$work/report.json"
  [ "$st" = finished ] || { echo "scan $st: $(jq -r .reason "$work/report.json")" >&2; exit 1; }
  echo "$took"
}

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
declare -A t
for kind in cold warm; do
  : >"$work/b.$kind"; : >"$work/s.$kind"
done
for i in $(seq 1 "$runs"); do
  baseline cold >>"$work/b.cold"; baseline warm >>"$work/b.warm"
  scan cold >>"$work/s.cold"; scan warm >>"$work/s.warm"
done
for kind in cold warm; do
  t[b$kind]=$(median <"$work/b.$kind"); t[s$kind]=$(median <"$work/s.$kind")
done
echo "project: express, esbuild, core-js, chalk, lodash, dayjs — $npkgs packages (lockfile), $runs runs, medians"
echo "  report: $(jq -r '"\(.status), \(.packages | length) packages listed, phases " + ([.phases[] | "\(.name) \(.duration_ms) ms"] | join(", ")) + ", \(.alerts | length) alerts"' "$work/report.json")"
for kind in cold warm; do
  awk -v k="$kind" -v b="${t[b$kind]}" -v s="${t[s$kind]}" 'BEGIN {
    printf "  %s: npm ci %.2f s   scan %.2f s   ratio %.2f\n", k, b, s, s / b }'
done
