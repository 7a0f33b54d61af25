#!/usr/bin/env bash
# tls_bootstrap_test.sh SRC BUILD DSN_FILE — the pool's bootstrap with TLS
# (the default), run for real on this machine as far as it can be without
# EC2. The user-data is rendered by the module's user-data submodule
# (tests/deploy/render); the scripts it writes run as on an instance:
#   - scanfarm-bootstrap's coordinator and worker steps, with real openssl
#     (scanfarm-pki makes the CA, the coordinator's and the workers'
#     certificates), real PostgreSQL (the test cluster; the API bootstrap
#     token is created in it), and the real daemons started from the
#     packaged units' ExecStart= with the configuration files the
#     bootstrap wrote;
#   - the daemons talk over tls+tcp:// with mutual authentication and the
#     API over HTTPS, verified with the CA the coordinator published: a
#     worker joins and a scan submitted with the CLI (the bootstrap token,
#     --cacert) finishes with its alerts;
#   - renewal and rotation: a second `refresh` changes nothing, `rotate`
#     issues new certificates and restarts the coordinator, a worker's
#     `refresh` fetches them and restarts the worker, and the pair works
#     again; a CA change (new-ca, rotate, drop-old-ca) keeps them working
#     at every step.
# What stands in for EC2 (nothing here may reach AWS): the AWS CLI (a
# file-backed stand-in, tests/deploy/fakes/aws, enforcing the grants the
# module's IAM policies give each role and refusing any private key on a
# command line), IMDSv2 (tests/deploy/fakes/imds.py on 169.254.169.254 in
# the test's own network namespace), systemd (tests/deploy/fakes/systemctl:
# starts the daemons from their unit files), the package install (the
# build tree's binaries) and the EBS volume (a directory). Everything runs
# in a private mount and network namespace: /etc and /var/lib are overlays
# there, loopback carries the pool's addresses; nothing leaves it.
# shellcheck disable=SC2016 # ok's conditions are single-quoted, eval'd
set -euo pipefail
src=$1 build=$2 dsn_file=$3
stage=${SF_TLSB_STAGE:-host}
fakes=$src/tests/deploy/fakes
coord_ip=10.42.0.10 public_ip=198.51.100.7

if [ "$stage" = host ]; then
	# shellcheck source=tests/deploy/tflib.sh
	. "$src/tests/deploy/tflib.sh"
	tf_setup "$src" "$build" tls_bootstrap
	[ "$(id -u)" = 0 ] || {
		echo "SKIP: needs root (mount and network namespaces)"
		exit 77
	}
	for b in coordinator/scanfarm-coordinator worker/scanfarm-worker worker/scanfarm-rules cli/scanfarm; do
		[ -x "$build/$b" ] || tf_fail "$build/$b is not built"
	done
	[ -d "$src/var/rootfs" ] || {
		echo "SKIP: no sandbox rootfs (scripts/setup.sh rootfs)"
		exit 77
	}
	for c in unshare openssl jq crun python3 setpriv ip; do
		command -v "$c" >/dev/null || tf_fail "$c is not installed"
	done
	render=$src/tests/deploy/render
	tf_init "$render" render
	terraform -chdir="$render" apply -auto-approve -no-color -input=false -state="$tf_work/state" \
		-var tls=true >"$tf_work/apply.log" 2>&1 || {
		cat "$tf_work/apply.log" >&2
		tf_fail "render"
	}
	for role in coordinator worker; do
		terraform -chdir="$render" output -state="$tf_work/state" -raw "$role" >"$tf_work/$role.yaml"
		python3 "$src/tests/deploy/extract_user_data.py" "$tf_work/$role.yaml" "$tf_work/$role-files" >/dev/null ||
			tf_fail "$role: not a valid cloud-config"
	done
	# the sandbox's user namespace must reach the worker's directories
	chmod 0755 "$tf_work"
	export SF_TLSB_STAGE=outer SF_TLSB_WORK=$tf_work
	exec unshare --mount --net --propagation private bash "$0" "$@"
fi

work=$SF_TLSB_WORK
ns=$work/ns

if [ "$stage" = outer ]; then
	passed=0 failed=0
	ok() {
		if eval "$2"; then
			passed=$((passed + 1))
			echo "ok   - $1"
		else
			failed=$((failed + 1))
			echo "FAIL - $1"
		fi
	}
	rm -rf "$ns" && mkdir -p "$ns"/{etc-upper,etc-work,lib-upper,lib-work,aws/ssm,aws/secrets,fakebin,usrbin}
	chmod 0755 "$ns" "$ns/lib-upper"

	# --- the instance's surroundings, private to this namespace
	ip link set lo up
	for a in "$coord_ip" "$public_ip" 169.254.169.254; do ip addr add "$a/32" dev lo; done
	mount -t overlay overlay -o "lowerdir=/etc,upperdir=$ns/etc-upper,workdir=$ns/etc-work" /etc
	mount -t overlay overlay -o "lowerdir=/var/lib,upperdir=$ns/lib-upper,workdir=$ns/lib-work" /var/lib
	mount -t tmpfs -o mode=0755 tmpfs /run
	mount -t tmpfs -o mode=0755 tmpfs /usr/local/sbin
	# the package's system user (its postinst makes it)
	grep -q '^scanfarm:' /etc/group || echo "scanfarm:x:64990:" >>/etc/group
	grep -q '^scanfarm:' /etc/passwd || echo "scanfarm:x:64990:64990:scanfarm:/var/lib/scanfarm:/usr/sbin/nologin" >>/etc/passwd
	mkdir -p /etc/scanfarm /var/lib/scanfarm
	# what the user-data writes: the same for both roles but bootstrap.env
	for f in usr_local_sbin_scanfarm-bootstrap usr_local_sbin_scanfarm-pki; do
		install -m 0755 "$work/coordinator-files/$f" "/usr/local/sbin/${f#usr_local_sbin_}"
	done
	# the packages' binaries (/usr/bin on an instance) and the stand-ins
	for b in coordinator/scanfarm-coordinator worker/scanfarm-worker worker/scanfarm-rules cli/scanfarm; do
		ln -s "$build/$b" "$ns/usrbin/"
	done
	install -m 0755 "$fakes/aws" "$fakes/systemctl" "$ns/fakebin/"
	export PATH=$ns/fakebin:$ns/usrbin:$PATH AWS_FAKE_DIR=$ns/aws
	export SYSTEMCTL_FAKE_UNITS=$src/packaging/systemd SYSTEMCTL_FAKE_BIN=$ns/usrbin

	# no public-ipv4: the EIP comes from bootstrap.env (SF_TLS_PUBLIC_IP)
	python3 "$fakes/imds.py" 169.254.169.254 80 "local-ipv4=$coord_ip" \
		2>"$ns/imds.log" &
	imds_pid=$!
	for _ in $(seq 1 50); do curl -s -o /dev/null http://169.254.169.254/ && break || sleep 0.1; done

	# --- what Terraform creates (secrets.tf): the parameters, the secrets'
	# values where it gives them one, the IAM grants (iam.tf)
	base_dsn=$(cat "$dsn_file")
	db=sf_tlsb_$$
	psql "$base_dsn" -qc "CREATE DATABASE $db" >/dev/null
	pgdir=$(sed -n 's/.*host=\([^ ]*\).*/\1/p' <<<"$base_dsn")
	cleanup() {
		set +e # everything below is best effort
		local pids=() p
		for f in "$ns"/coordinator/systemd/*.pid "$ns"/worker/systemd/*.pid; do
			[ -f "$f" ] && pids+=("$(cat "$f")")
		done
		[ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null
		kill "$imds_pid" 2>/dev/null
		# a worker stops once its pending request for a job times out
		for p in "${pids[@]}"; do
			for _ in $(seq 1 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
			kill -KILL "$p" 2>/dev/null
		done
		psql "$base_dsn" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
		if [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
			for f in "$ns"/*/systemd/*.log "$ns"/*/bootstrap.log "$ns/aws/calls" "$ns/aws/denied"; do
				[ -f "$f" ] && { echo "--- $f"; tail -n 25 "$f"; }
			done
		fi
		# the worker's job mounts below the work tree, then the rest
		awk -v w="$ns/" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
		true
	}
	trap cleanup EXIT
	key() { printf '%s' "$1" | tr -c 'A-Za-z0-9._-' '_'; }
	fp() { openssl x509 -in "$1" -noout -fingerprint -sha256; }
	env_of() { sed -n "s/^ *$2='\(.*\)'$/\1/p" "$work/$1-files/etc_scanfarm_bootstrap.env"; }
	ca_arn=$(env_of coordinator SF_TLS_CA_SECRET_ARN)
	wcert_arn=$(env_of coordinator SF_TLS_WORKER_SECRET_ARN)
	ca_param=$(env_of coordinator SF_TLS_CA_PARAM)
	rds_arn=$(env_of coordinator SF_DB_SECRET_ARN)
	npm_arn=$(env_of coordinator SF_NPM_REGISTRY_AUTH_SECRET_ARN)
	secret_param=$(env_of coordinator SF_WORKER_SECRET_PARAM)
	token_param=$(env_of coordinator SF_API_TOKEN_PARAM)
	printf 'WORKERSECRET0123456789abcdefWORKERSECRET' >"$ns/aws/ssm/$(key "$secret_param")"
	printf unset >"$ns/aws/ssm/$(key "$token_param")"
	printf unset >"$ns/aws/ssm/$(key "$ca_param")"
	# RDS's secret: the test cluster's role (trust), a password that needs quoting
	jq -cn '{username: "postgres", password: "p'\''w\\rd"}' >"$ns/aws/secrets/$(key "$rds_arn")"
	printf 'npm_TESTREGISTRYTOKEN' >"$ns/aws/secrets/$(key "$npm_arn")"
	# the TLS secrets have no value: Terraform creates them empty
	cat >"$ns/aws/grants" <<-GRANTS
		coordinator ssm:GetParameter $secret_param
		coordinator ssm:GetParameter $token_param
		coordinator ssm:PutParameter $token_param
		coordinator secretsmanager:GetSecretValue $rds_arn
		coordinator secretsmanager:GetSecretValue $npm_arn
		coordinator secretsmanager:GetSecretValue $ca_arn
		coordinator secretsmanager:PutSecretValue $ca_arn
		coordinator secretsmanager:GetSecretValue $wcert_arn
		coordinator secretsmanager:PutSecretValue $wcert_arn
		coordinator ssm:GetParameter $ca_param
		coordinator ssm:PutParameter $ca_param
		worker ssm:GetParameter $secret_param
		worker secretsmanager:GetSecretValue $npm_arn
		worker secretsmanager:GetSecretValue $wcert_arn
		worker ssm:GetParameter $ca_param
	GRANTS
	# the test cluster instead of RDS: its socket directory and database
	sed -e "s#^SF_DB_HOST=.*#SF_DB_HOST='$pgdir'#" -e "s#^SF_DB_NAME=.*#SF_DB_NAME='$db'#" \
		"$work/coordinator-files/etc_scanfarm_bootstrap.env" >"$ns/coordinator.env"
	cp "$work/worker-files/etc_scanfarm_bootstrap.env" "$ns/worker.env"

	role() { # role NAME ARGS...: a stage in the role's own mount namespace
		mkdir -p "$ns/$1"/{etc,var,systemd}
		SF_TLSB_STAGE=$1 unshare --mount --propagation private bash "$0" "$src" "$build" "$dsn_file" "${@:2}"
	}
	C=$ns/coordinator W=$ns/worker
	mkdir -p "$C" "$W"

	# --- first boot: the coordinator, then a worker
	role coordinator boot >"$C/bootstrap.log" 2>&1
	ok "the coordinator's bootstrap ran to the end" 'grep -q "coordinator ready" "$C/bootstrap.log"'
	cajson=$ns/aws/secrets/$(key "$ca_arn")
	wjson=$ns/aws/secrets/$(key "$wcert_arn")
	capem=$ns/ca.pem
	cp "$ns/aws/ssm/$(key "$ca_param")" "$capem"
	ok "a CA was made: its key and certificate in its secret, the certificate published in $ca_param" \
		'jq -r .key "$cajson" | openssl pkey -noout 2>/dev/null &&
		 [ "$(jq -r .cert "$cajson" | openssl x509 -noout -fingerprint)" = "$(openssl x509 -in "$capem" -noout -fingerprint)" ] &&
		 openssl x509 -in "$capem" -noout -ext basicConstraints | grep -q "CA:TRUE"'
	ok "the workers' certificate is in its secret, from that CA, for client authentication" \
		'jq -r .cert "$wjson" >"$ns/w.pem" && openssl verify -CAfile "$capem" -purpose sslclient "$ns/w.pem" >/dev/null &&
		 jq -r .key "$wjson" | openssl pkey -noout 2>/dev/null'
	ok "the coordinator's certificate: from that CA, for servers, its name and both addresses" \
		'openssl verify -CAfile "$capem" -purpose sslserver "$C/etc/tls/coordinator.pem" >/dev/null &&
		 openssl x509 -in "$C/etc/tls/coordinator.pem" -noout -ext subjectAltName |
		   grep -q "DNS:coordinator.scanfarm.internal, IP Address:$coord_ip, IP Address:$public_ip, DNS:scanfarm.example.org"'
	ok "the coordinator's key stays on it: 0640 root:scanfarm, in no secret" \
		'[ "$(stat -c %a:%U:%G "$C/etc/tls/coordinator.key")" = 640:root:scanfarm ] &&
		 ! grep -rqF "$(sed -n 2p "$C/etc/tls/coordinator.key")" "$ns/aws"'
	ok "no private key went over a command line, nothing was denied by the roles' grants" \
		'[ ! -e "$ns/aws/leaks" ] && [ ! -e "$ns/aws/denied" ]'
	conf=$C/etc/coordinator.conf
	ok "coordinator.conf: tls+tcp:// listeners, the TLS files, HTTPS, the ops listener on loopback (0640 root:scanfarm)" \
		'grep -qx "jobs-url = tls+tcp://0.0.0.0:7301" "$conf" && grep -qx "results-url = tls+tcp://0.0.0.0:7302" "$conf" &&
		 grep -qx "tls-cert = /etc/scanfarm/tls/coordinator.pem" "$conf" && grep -qx "tls-key = /etc/scanfarm/tls/coordinator.key" "$conf" &&
		 grep -qx "tls-ca = /etc/scanfarm/tls/ca.pem" "$conf" && grep -qx "http-tls-cert = /etc/scanfarm/tls/coordinator.pem" "$conf" &&
		 grep -qx "http-tls-key = /etc/scanfarm/tls/coordinator.key" "$conf" && grep -qx "public-url = https://$coord_ip:3000" "$conf" &&
		 grep -qx "ops-address = 127.0.0.1:3001" "$conf" && [ "$(stat -c %a:%G "$conf")" = 640:scanfarm ]'
	ok "the coordinator runs as its unit says: --config, user scanfarm" \
		'grep -qx "scanfarm-coordinator.service: $ns/usrbin/scanfarm-coordinator --config /etc/scanfarm/coordinator.conf" "$C/systemd/execs" &&
		 [ "$(ps -o user= -p "$(cat "$C/systemd/scanfarm-coordinator.service.pid")")" = scanfarm ] &&
		 grep -qx "enable --now scanfarm-pki.timer" "$C/systemd/calls"'
	token=$(cat "$ns/aws/ssm/$(key "$token_param")")
	ok "the API bootstrap token was created and stored in $token_param (through a file)" \
		'[ ${#token} -ge 32 ] && [ "$token" != unset ] && ! grep -qF "$token" "$ns/aws/calls"'

	https=https://$coord_ip:3000
	code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
	for _ in $(seq 1 100); do [ "$(code --cacert "$capem" "$https/healthz")" = 200 ] && break || sleep 0.2; done
	ok "the API speaks HTTPS with the pool's certificate, on the private and the public address, and not plain HTTP" \
		'[ "$(code --cacert "$capem" "$https/healthz")" = 200 ] &&
		 [ "$(code --cacert "$capem" "https://$public_ip:3000/healthz")" = 200 ] &&
		 [ "$(code "$https/healthz")" = 000 ] && [ "$(code "http://$coord_ip:3000/healthz")" = 000 ]'
	ok "the operations listener answers plain /metrics on loopback (what scanfarm-queue-metric reads)" \
		'curl -fsS http://127.0.0.1:3001/metrics >"$ns/metrics" && grep -q "^scanfarm_jobs{state=\"queued\"}" "$ns/metrics"'

	role worker boot >"$W/bootstrap.log" 2>&1
	ok "the worker's bootstrap ran to the end" 'grep -q "worker ready" "$W/bootstrap.log"'
	wconf=$W/etc/worker.conf
	ok "worker.conf: tls+tcp:// to the coordinator, its certificate, the CA, the coordinator's name, the CA for HTTPS (0600)" \
		'grep -qx "jobs-url = tls+tcp://$coord_ip:7301" "$wconf" && grep -qx "results-url = tls+tcp://$coord_ip:7302" "$wconf" &&
		 grep -qx "tls-cert = /etc/scanfarm/tls/worker.pem" "$wconf" && grep -qx "tls-key = /etc/scanfarm/tls/worker.key" "$wconf" &&
		 grep -qx "tls-ca = /etc/scanfarm/tls/ca.pem" "$wconf" && grep -qx "tls-server-name = coordinator.scanfarm.internal" "$wconf" &&
		 grep -qx "http-ca = /etc/scanfarm/tls/ca.pem" "$wconf" && [ "$(stat -c %a "$wconf")" = 600 ]'
	ok "the worker holds the workers' certificate and key (0600) and the CA" \
		'[ "$(fp "$W/etc/tls/ca.pem")" = "$(fp "$capem")" ] && [ "$(stat -c %a:%U "$W/etc/tls/worker.key")" = 600:root ] &&
		 [ "$(fp "$W/etc/tls/worker.pem")" = "$(fp "$ns/w.pem")" ] && openssl pkey -in "$W/etc/tls/worker.key" -noout'
	ok "the worker role read only what its grants allow (no CA key), and nothing was denied" \
		'! grep -q "^worker .*$ca_arn" "$ns/aws/calls" && [ ! -e "$ns/aws/denied" ] && [ ! -e "$ns/aws/leaks" ]'
	ok "one worker process runs the instance's slots, as its unit says (capacity 2 in worker.conf: SF_SLOTS)" \
		'grep -qx "scanfarm-worker.service: $ns/usrbin/scanfarm-worker --config /etc/scanfarm/worker.conf --worker-id $(hostname) --work-dir /var/lib/scanfarm/worker/main" "$W/systemd/execs" &&
		 ! grep -q "scanfarm-worker@" "$W/systemd/execs" && grep -qx "capacity = 2" "$wconf" &&
		 grep -q "scanfarm-pki.timer" "$W/systemd/calls"'
	wlog=$W/systemd/scanfarm-worker.service.log
	for _ in $(seq 1 100); do grep -q " ready: " "$wlog" 2>/dev/null && break || sleep 0.2; done
	ok "the worker started two slots with distinct user-namespace id ranges (slots 0 and 1)" \
		'grep -q "capacity=2" "$wlog" && [ "$(grep -c "slot [01]: sandbox ids 0-65535 are host ids" "$wlog")" = 2 ] &&
		 [ "$(grep -o "slot [01]: sandbox ids 0-65535 are host ids [0-9]*" "$wlog" | awk "{print \$NF}" | sort -u | wc -l)" = 2 ]'

	clog=$C/systemd/scanfarm-coordinator.service.log
	joined() { # joined N: the coordinator has logged N joins
		for _ in $(seq 1 150); do
			[ "$(grep -c joined "$clog")" -ge "$1" ] && return 0
			sleep 0.2
		done
		return 1
	}
	ok "the worker joined over tls+tcp:// (mutual authentication)" 'joined 1'
	cli() { scanfarm --server "$https" --cacert "$capem" --token "$token" "$@"; }
	# the simulation acts only armed (a marker file beside its script)
	cp -R "$src/tests/packages/attack-npmrc-stealer" "$ns/" && touch "$ns/attack-npmrc-stealer/armed"
	tar -czf "$ns/steal.tgz" -C "$ns" attack-npmrc-stealer
	out=$(cli --timeout 180 scan "$ns/steal.tgz" 2>"$ns/cli.err") && rc=0 || rc=$?
	ok "a scan through the CLI with the bootstrap token over HTTPS: finished, its alerts (exit $rc)" \
		'[ "$rc" = 1 ] && [ "$(jq -r .status <<<"$out")" = finished ] &&
		 [ "$(jq "[.alerts[] | select(.rule == \"Read npm credentials file\")] | length" <<<"$out")" -ge 1 ]' ||
		{ cat "$ns/cli.err"; tail -n 20 "$W/systemd/scanfarm-worker.service.log"; }

	# --- renewal and rotation; each step ends with a scan (jobs and results
	# over tls+tcp://, the artifact over HTTPS), the API checked with the
	# CA the coordinator publishes at that moment
	scans=0
	scan_ok() { # a new scan (a tarball of its own: the API answers a known one from its result) finishes
		local o p=$ns/pkg
		scans=$((scans + 1))
		cp "$ns/aws/ssm/$(key "$ca_param")" "$ns/trust.pem"
		rm -rf "$p" && cp -r "$src/tests/packages/benign-banner" "$p"
		echo "scan $scans of $$" >"$p/NONCE"
		tar -czf "$ns/scan.tgz" -C "$ns" pkg
		# a restarted coordinator may still be starting
		for _ in $(seq 1 100); do [ "$(code --cacert "$ns/trust.pem" "$https/healthz")" = 200 ] && break || sleep 0.2; done
		o=$(scanfarm --server "$https" --cacert "$ns/trust.pem" --token "$token" --timeout 120 scan "$ns/scan.tgz" 2>>"$ns/cli.err") || true
		[ "$(jq -r .status <<<"$o" 2>/dev/null)" = finished ]
	}
	cfp=$(fp "$C/etc/tls/coordinator.pem") wfp=$(fp "$ns/w.pem")
	: >"$C/systemd/calls"
	role coordinator pki refresh >>"$C/bootstrap.log" 2>&1
	ok "a daily refresh with nothing due changes nothing and restarts nothing" \
		'[ "$(fp "$C/etc/tls/coordinator.pem")" = "$cfp" ] && [ "$(jq -r .cert "$wjson" | fp /dev/stdin)" = "$wfp" ] &&
		 ! grep -q restart "$C/systemd/calls"'
	role coordinator pki rotate >>"$C/bootstrap.log" 2>&1
	ok "rotate: new certificates for the coordinator and the workers from the same CA, the coordinator restarted" \
		'[ "$(fp "$C/etc/tls/coordinator.pem")" != "$cfp" ] && [ "$(jq -r .cert "$wjson" | fp /dev/stdin)" != "$wfp" ] &&
		 openssl verify -CAfile "$capem" "$C/etc/tls/coordinator.pem" >/dev/null &&
		 grep -qx "try-restart scanfarm-coordinator.service" "$C/systemd/calls"'
	ok "the worker with its old certificate (still valid) scans for the restarted coordinator" 'scan_ok'
	: >"$W/systemd/calls"
	role worker pki refresh >>"$W/bootstrap.log" 2>&1
	ok "the worker's refresh fetched the new certificate and restarted the worker; it scans again" \
		'[ "$(fp "$W/etc/tls/worker.pem")" != "$wfp" ] && grep -qx "try-restart scanfarm-worker.service" "$W/systemd/calls" && scan_ok'

	# a CA change, step by step, the pair working at each
	oldca=$(fp "$capem")
	role coordinator pki new-ca >>"$C/bootstrap.log" 2>&1
	cp "$ns/aws/ssm/$(key "$ca_param")" "$ns/bundle.pem"
	ok "new-ca: a new CA in the secret, the published bundle holds both, the certificates stay" \
		'[ "$(jq -r .cert "$cajson" | fp /dev/stdin)" != "$oldca" ] && [ "$(grep -c "BEGIN CERTIFICATE" "$ns/bundle.pem")" = 2 ] &&
		 openssl verify -CAfile "$ns/bundle.pem" "$C/etc/tls/coordinator.pem" >/dev/null && scan_ok'
	role worker pki refresh >>"$W/bootstrap.log" 2>&1
	role coordinator pki rotate >>"$C/bootstrap.log" 2>&1
	ok "rotate after new-ca: certificates from the new CA; the worker (holding the bundle) still scans" \
		'jq -r .cert "$cajson" >"$ns/newca.pem" && openssl verify -CAfile "$ns/newca.pem" "$C/etc/tls/coordinator.pem" >/dev/null &&
		 scan_ok'
	role worker pki refresh >>"$W/bootstrap.log" 2>&1
	role coordinator pki drop-old-ca >>"$C/bootstrap.log" 2>&1
	role worker pki refresh >>"$W/bootstrap.log" 2>&1
	ok "drop-old-ca: only the new CA is trusted; the worker, refreshed, scans with its new-CA certificate" \
		'[ "$(grep -c "BEGIN CERTIFICATE" "$ns/aws/ssm/$(key "$ca_param")")" = 1 ] &&
		 openssl verify -CAfile "$ns/newca.pem" "$W/etc/tls/worker.pem" >/dev/null &&
		 [ "$(grep -c "BEGIN CERTIFICATE" "$W/etc/tls/ca.pem")" = 1 ] && [ "$(fp "$W/etc/tls/ca.pem")" = "$(fp "$ns/newca.pem")" ] &&
		 scan_ok'
	ok "the old CA no longer verifies the API" '[ "$(code --cacert "$capem" "$https/healthz")" = 000 ]'
	ok "still no private key on a command line, nothing denied" '[ ! -e "$ns/aws/leaks" ] && [ ! -e "$ns/aws/denied" ]'
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
	exit
fi

# --- a role's stage (coordinator | worker), in its own mount namespace:
# its /etc/scanfarm and /var/lib/scanfarm
r=$ns/$stage
mount --bind "$r/etc" /etc/scanfarm
mount --bind "$r/var" /var/lib/scanfarm
chmod 0755 "$r/var"
[ -e /etc/scanfarm/bootstrap.env ] || install -m 0644 "$ns/$stage.env" /etc/scanfarm/bootstrap.env
export AWS_FAKE_ROLE=$stage SYSTEMCTL_FAKE_DIR=$r/systemd
if [ "$stage" = worker ]; then # what scanfarm-prepare builds there
	mkdir -p /var/lib/scanfarm/rootfs
	mount --bind "$src/var/rootfs" /var/lib/scanfarm/rootfs
	touch /var/lib/scanfarm/rootfs.img
	mount --bind "$src/var/rootfs.img" /var/lib/scanfarm/rootfs.img
fi
case "${4:-}" in
boot)
	# shellcheck source=/dev/null
	. /usr/local/sbin/scanfarm-bootstrap
	# what needs EC2 or the .deb packages, done the test's way
	install_packages() { log "packages: the build tree's binaries ($*)"; }
	mount_volume() { mkdir -p "$2"; } # the EBS volume: a directory
	rules_dir() { echo "$src/rules"; } # the package's /usr/share/scanfarm/rules
	main
	;;
pki) /usr/local/sbin/scanfarm-pki "$5" ;;
esac
# the daemons started here keep this namespace
