#!/usr/bin/env bash
# userdata_test.sh SRC BUILD — the cloud-init user-data of every role
# (coordinator, worker, and the PostgreSQL VM of database = vm), for every
# sensor backend, rendered by the module's user-data submodule
# (tests/deploy/render, no provider) and checked:
#   - a #cloud-config YAML document (write_files, runcmd) that `cloud-init
#     schema` accepts: Debian's cloud-init on the PATH, or the one
#     scripts/setup.sh unpacks into var/cloud-init (not installed: an
#     installed cloud-init runs at every boot of the CI host); neither → that
#     check alone is skipped, said so;
#   - every shell file it writes passes bash -n and shellcheck, its
#     bootstrap.env sources cleanly and names its role, and no secret-looking
#     value is in it;
#   - the systemd units it writes pass systemd-analyze verify.
# shellcheck disable=SC2016 # the bash -c scripts expand their own arguments
set -euo pipefail
src=$1 build=$2
# shellcheck source=tests/deploy/tflib.sh
. "$src/tests/deploy/tflib.sh"
tf_setup "$src" "$build" userdata
command -v shellcheck >/dev/null || tf_fail "shellcheck is not installed (scripts/setup.sh packages)"

cloud_init=()
if command -v cloud-init >/dev/null; then
	cloud_init=(cloud-init schema -c)
elif [ -d "${SCANFARM_VAR:-$src/var}/cloud-init/usr/lib/python3/dist-packages/cloudinit" ]; then
	ci_root=${SCANFARM_VAR:-$src/var}/cloud-init
	cloud_init=(env "PYTHONPATH=$ci_root/usr/lib/python3/dist-packages" /usr/bin/python3 -W ignore
		-m cloudinit.config.schema -c)
else
	echo "NOTE: cloud-init schema check skipped: no cloud-init (scripts/setup.sh packages unpacks one into var/cloud-init)" >&2
fi

render=$src/tests/deploy/render
tf_init "$render" render
fails=0
check() { # check WHAT CMD...: run, count failures, keep going
	local what=$1
	shift
	if "$@"; then echo "ok: $what" >&2; else echo "FAIL: $what" >&2; fails=$((fails + 1)); fi
}

for backend in ebpf falco-json falco-grpc; do
	dir=$tf_work/$backend
	mkdir -p "$dir"
	terraform -chdir="$render" apply -auto-approve -no-color -input=false -state="$dir/state" \
		-var "sensor_backend=$backend" >"$dir/apply.log" 2>&1 || {
		cat "$dir/apply.log" >&2
		tf_fail "render $backend"
	}
	for role in coordinator worker database; do
		ud=$dir/$role.yaml
		terraform -chdir="$render" output -state="$dir/state" -raw "$role" >"$ud"
		[ "$role" = worker ] && check "$backend worker: SF_SENSOR='$backend'" grep -qx "      SF_SENSOR='$backend'" "$ud"
		if [ ${#cloud_init[@]} -gt 0 ]; then
			check "$backend $role: cloud-init schema" "${cloud_init[@]}" "$ud"
		fi
		files=$dir/$role.files
		python3 "$src/tests/deploy/extract_user_data.py" "$ud" "$dir/$role" >"$files" ||
			tf_fail "$backend $role: not a valid cloud-config"
		units=()
		while read -r kind path file; do
			case $kind in
			shell)
				check "$backend $role: bash -n $path" bash -n "$file"
				check "$backend $role: shellcheck $path" shellcheck -s bash "$file"
				;;
			env)
				check "$backend $role: $path sources, SF_ROLE=$role" \
					bash -c 'set -eu; . "$1"; [ "$SF_ROLE" = "$2" ]' _ "$file" "$role"
				check "$backend $role: $path has no secret-looking key" \
					bash -c '! grep -Eiq "^SF_[A-Z_]*(PASSWORD|TOKEN|SECRET)=" "$1"' _ "$file"
				;;
			unit)
				# verify needs ExecStart= to exist here: point it at the extracted script
				u=$dir/$role-units/$(basename "$path")
				mkdir -p "$(dirname "$u")"
				sed "s#^ExecStart=/usr/local/sbin/\(.*\)#ExecStart=$dir/$role/usr_local_sbin_\1#" "$file" >"$u"
				units+=("$u")
				;;
			esac
		done <"$files"
		chmod +x "$dir/$role"/usr_local_sbin_*
		for u in "${units[@]}"; do
			# verify returns 0 on warnings: any output is a failure
			out=$(systemd-analyze verify --man=no "$u" 2>&1) || true
			check "$backend $role: systemd-analyze verify $(basename "$u")" test -z "$out"
			[ -z "$out" ] || echo "$out" >&2
		done
		check "$backend $role: runcmd runs the bootstrap" grep -q '^  - \[/usr/local/sbin/scanfarm-bootstrap\]$' "$ud"
	done
done
[ "$fails" -eq 0 ] || tf_fail "$fails check(s) failed"
echo "PASS" >&2
