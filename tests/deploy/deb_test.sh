#!/usr/bin/env bash
# deb_test.sh SRC BUILD — the .deb packages: built here with CPack
# (cmake --build BUILD --target package), then inspected without installing:
#   - dpkg --contents lists the files each package must carry;
#   - Depends names the Debian 12 runtime packages of the binaries' libraries
#     (what dpkg -S says of the libraries the binaries need) and the programs
#     the worker runs;
#   - dpkg -x into a scratch root: the binaries run there (--help), the
#     packaged rules load (scanfarm-rules check), the maintainer scripts pass
#     sh -n and shellcheck, and the units pass systemd-analyze verify with
#     their ExecStart= pointed into the scratch root (verify checks the
#     program exists; no systemd needs to run).
# shellcheck disable=SC2016 # the bash -c scripts expand their own arguments
set -euo pipefail
src=$1 build=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
for t in dpkg-deb systemd-analyze shellcheck; do
	command -v "$t" >/dev/null || { echo "SKIP: $t is not installed" >&2; exit 77; }
done
cmake --build "$build" --target package >"$build/deb_test.package.log" 2>&1 ||
	{ tail -20 "$build/deb_test.package.log" >&2; fail "cmake --build --target package"; }
ver=$(sed -n 's/^project(scanfarm VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
arch=$(dpkg --print-architecture)
pkgdir=$build/packages
root=$build/deploy-tests/debroot
rm -rf "$root" && mkdir -p "$root"
fails=0
check() {
	local what=$1
	shift
	if "$@"; then echo "ok: $what" >&2; else echo "FAIL: $what" >&2; fails=$((fails + 1)); fi
}
has_file() { dpkg --contents "$1" | awk '{print $6}' | grep -x "./$2" >/dev/null; }
depends_on() { dpkg-deb -f "$1" Depends | tr ',' '\n' | sed 's/^ *//; s/ .*//' | grep -x -- "$2" >/dev/null; }

declare -A files=(
	[scanfarm-coordinator]="usr/bin/scanfarm-coordinator usr/lib/systemd/system/scanfarm-coordinator.service"
	[scanfarm-worker]="usr/bin/scanfarm-worker usr/bin/scanfarm-rules usr/lib/scanfarm/setup.sh
		usr/lib/scanfarm/scanfarm-init
		usr/lib/systemd/system/scanfarm-worker.service usr/lib/systemd/system/scanfarm-worker@.service
		usr/lib/systemd/system/scanfarm-worker.target
		usr/lib/systemd/system/scanfarm-prepare.service usr/share/scanfarm/rules/00-macros.yaml
		usr/share/scanfarm/rules/falco/90-dns.yaml usr/share/scanfarm/falco/config.d/50-scanfarm.yaml
		usr/share/scanfarm/falco/outputs/falco-grpc.yaml usr/share/scanfarm/falco/outputs/falco-json.yaml"
	[scanfarm-cli]="usr/bin/scanfarm"
)
declare -A deps=(
	[scanfarm-coordinator]="libc6 libnng1 libpq5 libmicrohttpd12 libjansson4 libcurl4 libssl3 libmsgpackc2 adduser"
	[scanfarm-worker]="libc6 libnng1 libjansson4 libcurl4 libssl3 libarchive13 libbpf1 libyaml-0-2 libmsgpackc2 tinyproxy mmdebstrap e2fsprogs"
	[scanfarm-cli]="libc6 libcurl4 libjansson4 libssl3"
)
for p in scanfarm-coordinator scanfarm-worker scanfarm-cli; do
	deb=$pkgdir/${p}_${ver}_${arch}.deb
	[ -f "$deb" ] || fail "$deb was not built"
	check "$p: Package field" test "$(dpkg-deb -f "$deb" Package)" = "$p"
	for f in ${files[$p]}; do check "$p contains /$f" has_file "$deb" "$f"; done
	for d in ${deps[$p]}; do check "$p depends on $d" depends_on "$deb" "$d"; done
	dpkg-deb -x "$deb" "$root"
	ctl=$build/deploy-tests/control-$p
	rm -rf "$ctl" && dpkg-deb -e "$deb" "$ctl"
	for s in postinst prerm; do
		[ -f "$ctl/$s" ] || continue
		check "$p $s: sh -n" sh -n "$ctl/$s"
		check "$p $s: shellcheck" shellcheck -s sh "$ctl/$s"
	done
done
check "worker depends on crun | runc" bash -c 'dpkg-deb -f "$1" Depends | grep -q "crun | runc"' _ "$pkgdir/scanfarm-worker_${ver}_${arch}.deb"

# The direct NEEDED libraries of each binary, mapped to packages by dpkg -S:
# every one must be in that package's Depends.
for pair in scanfarm-coordinator:usr/bin/scanfarm-coordinator scanfarm-worker:usr/bin/scanfarm-worker scanfarm-cli:usr/bin/scanfarm; do
	p=${pair%%:*} bin=$root/${pair#*:}
	for lib in $(readelf -d "$bin" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p'); do
		path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ && !p {p = $NF} END {print p}')
		[ -n "$path" ] || { check "$p: $lib resolvable" false; continue; }
		# dpkg knows a library by the path its package ships it at: with
		# merged /usr, /lib/... may be what /usr/lib/... is to dpkg
		real=$(realpath "$path")
		owner=$({ dpkg -S "$real" || dpkg -S "${real#/usr}" || dpkg -S "$path" || true; } 2>/dev/null | sed -n '1s/:.*//p')
		check "$p: $lib (from $owner) in Depends" depends_on "$pkgdir/${p}_${ver}_${arch}.deb" "$owner"
	done
done

for b in scanfarm-coordinator scanfarm-worker scanfarm scanfarm-rules; do
	check "$b --help runs from the scratch root" bash -c '"$1" --help 2>&1 | grep -i usage >/dev/null' _ "$root/usr/bin/$b"
done
check "packaged rules load" "$root/usr/bin/scanfarm-rules" check "$root/usr/share/scanfarm/rules"
check "packaged setup.sh: bash -n" bash -n "$root/usr/lib/scanfarm/setup.sh"
# the sandbox's pid 1 runs on the sandbox's rootfs: no shared library at all
check "packaged scanfarm-init is static" bash -c '[ -x "$1" ] && ! readelf -d "$1" 2>/dev/null | grep -q NEEDED' _ "$root/usr/lib/scanfarm/scanfarm-init"

units=$build/deploy-tests/units
rm -rf "$units" && mkdir -p "$units"
for u in "$root"/usr/lib/systemd/system/*; do
	sed "s#=/usr/bin/#=$root/usr/bin/#g; s#=/usr/lib/scanfarm/#=$root/usr/lib/scanfarm/#g" "$u" >"$units/$(basename "$u")"
done
for u in scanfarm-coordinator.service scanfarm-worker.service scanfarm-worker@1.service scanfarm-worker@7.service \
	scanfarm-prepare.service scanfarm-worker.target; do
	out=$(cd "$units" && systemd-analyze verify --man=no "$units/$u" 2>&1) || { out="exit $?: $out"; }
	check "systemd-analyze verify $u" test -z "$out"
	[ -z "$out" ] || echo "$out" >&2
done
# the drain contract: stop timeouts above what a stop may take
check "coordinator TimeoutStopSec (90 s) > drain-timeout default (30 s)" \
	grep -qx 'TimeoutStopSec=90s' "$units/scanfarm-coordinator.service"
for u in scanfarm-worker.service scanfarm-worker@.service; do
	check "$u: SIGTERM to the main process only, 480 s to finish its jobs" \
		bash -c 'grep -qx KillMode=mixed "$1" && grep -qx KillSignal=SIGTERM "$1" && grep -qx TimeoutStopSec=480s "$1" && grep -qx User=root "$1"' _ "$units/$u"
done
check "units: Restart=on-failure, --config /etc/scanfarm/*.conf" \
	bash -c 'for u in "$@"; do grep -qx Restart=on-failure "$u" && grep -q -- "--config /etc/scanfarm/" "$u" || exit 1; done' _ \
	"$units/scanfarm-coordinator.service" "$units/scanfarm-worker.service" "$units/scanfarm-worker@.service"
# One process, capacity from worker.conf (user-namespace slots 0 … N-1); the
# older one-slot-per-instance units keep to one slot (the command line wins
# over worker.conf) on slot N, and the two layouts never run at once.
check "scanfarm-worker.service: one process, --work-dir of its own, no --capacity or --userns-slot of the unit's" \
	bash -c 'e=$(sed -n "s/^ExecStart=//p" "$1"); [[ "$e" == *" --worker-id %H --work-dir /var/lib/scanfarm/worker/main" ]] && [[ "$e" != *--capacity* ]] && [[ "$e" != *--userns-slot* ]] && grep -qx PartOf=scanfarm-worker.target "$1"' _ "$units/scanfarm-worker.service"
check "scanfarm-worker@.service: --userns-slot %i --capacity 1, conflicts with scanfarm-worker.service" \
	bash -c 'grep -q -- "--userns-slot %i --capacity 1\$" "$1" && grep -qx Conflicts=scanfarm-worker.service "$1"' _ "$units/scanfarm-worker@.service"
[ "$fails" -eq 0 ] || fail "$fails check(s) failed"
echo PASS >&2
