#!/bin/bash
# scanfarm-pki — the pool's own certificate authority and the certificates of
# its NNG links (tls+tcp://, mutual authentication) and its HTTPS API.
#
#   scanfarm-pki issue        boot (scanfarm-bootstrap): make what is missing
#   scanfarm-pki refresh      daily (scanfarm-pki.timer): renew what is due,
#                             restart what changed
#   scanfarm-pki rotate       coordinator: new certificates now (same CA)
#   scanfarm-pki new-ca       coordinator: a new CA, trusted beside the old one
#   scanfarm-pki drop-old-ca  coordinator: trust the current CA only
#
# Where things are (/etc/scanfarm/bootstrap.env names them, never holds them):
#   SF_TLS_CA_SECRET_ARN      Secrets Manager: the CA's key and certificate,
#                             {"key","cert"}; only the coordinator's role
#                             reads or writes it
#   SF_TLS_CA_PARAM           SSM String: the certificates to trust (the CA's,
#                             during a CA change the old one's too): public
#   SF_TLS_WORKER_SECRET_ARN  Secrets Manager: the workers' client certificate
#                             and key, {"cert","key"}; the coordinator writes
#                             it, the workers' role reads it
# The coordinator's own key is made on the coordinator and never leaves it
# (/etc/scanfarm/tls, 0640 root:scanfarm); a replacement instance makes a
# new one. The CA's key is on disk only while it signs, in a directory on
# /run (tmpfs) that is removed afterwards. Keys never travel on a command
# line: values go to the AWS CLI as file:// arguments.
#
# The CA is made on the coordinator's first boot (ECDSA P-256, 10 years);
# certificates last 90 days and are renewed when fewer than 30 remain, or,
# the coordinator's, when its addresses change. The coordinator's
# certificate names SF_TLS_SERVER_NAME (workers check it: mbedTLS does not
# match addresses), its private and public addresses (SF_TLS_PUBLIC_IP or
# IMDS) and SF_TLS_API_NAMES (what API clients check).
set -euo pipefail
umask 077
# shellcheck source=/dev/null
. /etc/scanfarm/bootstrap.env
export AWS_DEFAULT_REGION="$SF_REGION"

dir=/etc/scanfarm/tls
days=90
renew_before=$((30 * 86400))

log() { printf 'scanfarm-pki: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

retry() { # retry N CMD...: the network or an IAM role may lag the boot
	local n=$1 i
	shift
	for ((i = 1; i <= n; i++)); do
		"$@" && return 0
		[ "$i" -eq "$n" ] || sleep $((i < 10 ? i * 3 : 30))
	done
	return 1
}

imds() { # imds PATH: IMDSv2 (tokens required, hop limit 1)
	local t
	t=$(curl -fsS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token)
	curl -fsS -H "X-aws-ec2-metadata-token: $t" "http://169.254.169.254/latest/$1"
}

scratch=
cleanup() { [ -z "$scratch" ] || rm -rf "$scratch"; }
trap cleanup EXIT
scratch_dir() { # a private directory on tmpfs for keys in transit
	[ -n "$scratch" ] || scratch=$(mktemp -d /run/scanfarm-pki.XXXXXX)
}

# secret_get ARN: the secret's value on stdout; status 3 when it has none
# yet (a secret Terraform created empty), 1 on any other failure.
secret_get() {
	local out err rc=0
	err=$(mktemp)
	out=$(aws secretsmanager get-secret-value --secret-id "$1" --query SecretString --output text 2>"$err") || rc=$?
	if [ "$rc" -ne 0 ]; then
		if grep -q ResourceNotFoundException "$err"; then
			rm -f "$err"
			return 3
		fi
		cat "$err" >&2
		rm -f "$err"
		return 1
	fi
	rm -f "$err"
	printf '%s\n' "$out"
}

# the secret, status 3 (none yet) or, after retries, 1
secret_get_retrying() {
	local i rc
	for ((i = 1; i <= 10; i++)); do
		rc=0
		secret_get "$1" || rc=$?
		[ "$rc" -eq 1 ] || return "$rc"
		sleep $((i * 3))
	done
	return 1
}

secret_put() { # secret_put ARN FILE
	retry 5 aws secretsmanager put-secret-value --secret-id "$1" --secret-string "file://$2" >/dev/null ||
		die "cannot write the secret $1"
}

param_get() { aws ssm get-parameter --name "$1" --query Parameter.Value --output text; }
param_put() { # param_put NAME FILE
	retry 5 aws ssm put-parameter --overwrite --type String --name "$1" --value "file://$2" >/dev/null ||
		die "cannot write the parameter $1"
}

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# install_file SRC DEST MODE GROUP: replace DEST when it differs, and then
# set changed=1. (Results go through globals, not exit statuses: a function
# called in an `&&` list runs without errexit.)
changed=0
install_file() {
	if [ -f "$2" ] && cmp -s "$1" "$2"; then return 0; fi
	install -m "$3" -g "$4" "$1" "$2.tmp"
	mv "$2.tmp" "$2"
	changed=1
}

# due CERT BUNDLE: the certificate is missing, does not chain to BUNDLE or
# expires within the renewal window
due() {
	[ -s "$1" ] || return 0
	openssl verify -CAfile "$2" "$1" >/dev/null 2>&1 || return 0
	! openssl x509 -in "$1" -noout -checkend "$renew_before" >/dev/null
}

# sign CSR OUT EXTENSIONS: a certificate from the CA in $scratch
sign() {
	openssl x509 -req -in "$1" -CA "$scratch/ca.pem" -CAkey "$scratch/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
		-days "$days" -sha256 -extfile <(printf '%s\n' "$3") -out "$2" 2>/dev/null || die "signing $2 failed"
}

# --- the coordinator

# Loads the CA into $scratch (ca.key, ca.pem), making it on the first boot.
load_ca() {
	local value rc=0
	scratch_dir
	value=$(secret_get_retrying "$SF_TLS_CA_SECRET_ARN") || rc=$?
	[ "$rc" -ne 1 ] || die "cannot read the CA secret $SF_TLS_CA_SECRET_ARN"
	if [ "$rc" -eq 3 ]; then
		log "no CA yet: making the pool's CA"
		new_ca_into "$scratch"
		return
	fi
	{ jq -ej .key <<<"$value" >"$scratch/ca.key" && jq -ej .cert <<<"$value" >"$scratch/ca.pem"; } ||
		die "the CA secret holds no key and certificate"
	openssl pkey -in "$scratch/ca.key" -noout 2>/dev/null || die "the CA secret's key does not load"
}

new_ca_into() { # new_ca_into DIR: a new CA, stored in its secret
	newkey "$1/ca.key"
	openssl req -x509 -new -key "$1/ca.key" -sha256 -days 3650 -subj "/CN=$SF_NAME scanfarm CA $(date -u +%Y%m%d%H%M%S)" \
		-addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		-out "$1/ca.pem" 2>/dev/null || die "making the CA failed"
	jq -n --rawfile key "$1/ca.key" --rawfile cert "$1/ca.pem" '{key: $key, cert: $cert}' >"$1/ca.json"
	secret_put "$SF_TLS_CA_SECRET_ARN" "$1/ca.json"
}

# The certificates to trust, from SSM, into $scratch/bundle.pem; the CA's
# own when the parameter has none yet (or lacks it).
load_bundle() {
	local value
	value=$(retry 10 param_get "$SF_TLS_CA_PARAM") || die "cannot read $SF_TLS_CA_PARAM"
	if [[ "$value" == *"BEGIN CERTIFICATE"* ]]; then
		printf '%s\n' "$value" >"$scratch/bundle.pem"
	else
		: >"$scratch/bundle.pem"
	fi
	# the current CA is always trusted, first
	if [[ "$(cat "$scratch/bundle.pem")" != *"$(cat "$scratch/ca.pem")"* ]]; then
		cat "$scratch/ca.pem" "$scratch/bundle.pem" >"$scratch/bundle.new"
		mv "$scratch/bundle.new" "$scratch/bundle.pem"
		param_put "$SF_TLS_CA_PARAM" "$scratch/bundle.pem"
	fi
}

# The names in the coordinator's certificate.
coordinator_san() {
	local ip pub san name
	ip=$(retry 5 imds meta-data/local-ipv4) || die "no private address from IMDS"
	san="DNS:$SF_TLS_SERVER_NAME,IP:$ip"
	# the public address: the EIP Terraform names, else what IMDS shows, if any
	pub=${SF_TLS_PUBLIC_IP:-}
	[ -n "$pub" ] || pub=$(imds meta-data/public-ipv4 2>/dev/null || true)
	[[ "$pub" =~ ^[0-9.]+$ ]] && san="$san,IP:$pub"
	for name in ${SF_TLS_API_NAMES//,/ }; do san="$san,DNS:$name"; done
	echo "$san"
}

# The coordinator's own key and certificate (changed=1 when re-issued).
coordinator_cert() { # coordinator_cert FORCE
	local san
	san=$(coordinator_san)
	if [ "$1" = 1 ] || due "$dir/coordinator.pem" "$dir/ca.pem" ||
		[ "$(cat "$dir/coordinator.san" 2>/dev/null)" != "$san" ]; then
		log "issuing the coordinator's certificate ($san)"
		newkey "$scratch/coordinator.key"
		openssl req -new -key "$scratch/coordinator.key" -subj "/CN=$SF_TLS_SERVER_NAME" -out "$scratch/coordinator.csr" 2>/dev/null
		sign "$scratch/coordinator.csr" "$scratch/coordinator.pem" \
			"$(printf 'subjectAltName=%s\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE' "$san")"
		# the key before the certificate: a crash in between leaves a pair that
		# does not match, which the next run re-issues
		install -m 0640 -g scanfarm "$scratch/coordinator.key" "$dir/coordinator.key.tmp"
		install -m 0644 "$scratch/coordinator.pem" "$dir/coordinator.pem.tmp"
		mv "$dir/coordinator.key.tmp" "$dir/coordinator.key"
		mv "$dir/coordinator.pem.tmp" "$dir/coordinator.pem"
		echo "$san" >"$dir/coordinator.san"
		changed=1
	fi
}

# The workers' client certificate in its secret (renewed when due).
worker_cert() { # worker_cert FORCE
	local value rc=0
	value=$(secret_get_retrying "$SF_TLS_WORKER_SECRET_ARN") || rc=$?
	[ "$rc" -ne 1 ] || die "cannot read the secret $SF_TLS_WORKER_SECRET_ARN"
	if [ "$rc" -eq 0 ] && [ "$1" = 0 ]; then
		jq -r '.cert // empty' <<<"$value" >"$scratch/worker-current.pem"
		due "$scratch/worker-current.pem" "$scratch/bundle.pem" || return 0
	fi
	log "issuing the workers' certificate"
	newkey "$scratch/worker.key"
	openssl req -new -key "$scratch/worker.key" -subj "/CN=$SF_NAME-worker" -out "$scratch/worker.csr" 2>/dev/null
	sign "$scratch/worker.csr" "$scratch/worker.pem" \
		"$(printf 'subjectAltName=DNS:%s-worker\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nbasicConstraints=critical,CA:FALSE' "$SF_NAME")"
	jq -n --rawfile key "$scratch/worker.key" --rawfile cert "$scratch/worker.pem" '{key: $key, cert: $cert}' >"$scratch/worker.json"
	secret_put "$SF_TLS_WORKER_SECRET_ARN" "$scratch/worker.json"
}

# coordinator MODE: issue | refresh | rotate | new-ca | drop-old-ca
coordinator() {
	local mode=$1 force=0
	install -d -m 0750 -g scanfarm "$dir"
	load_ca
	case "$mode" in
	new-ca)
		# trust first, certificates later: the new CA joins the bundle, the
		# certificates stay until `rotate` (after the workers fetched it)
		cp "$scratch/ca.pem" "$scratch/old-ca.pem"
		new_ca_into "$scratch"
		load_bundle
		log "new CA made and trusted beside the old; run 'scanfarm-pki rotate' once the workers have it (a day, or an instance refresh)"
		;;
	drop-old-ca)
		cp "$scratch/ca.pem" "$scratch/bundle.pem"
		param_put "$SF_TLS_CA_PARAM" "$scratch/bundle.pem"
		log "trusting the current CA only"
		;;
	rotate)
		force=1
		load_bundle
		;;
	issue | refresh) load_bundle ;;
	*) die "unknown mode $mode" ;;
	esac
	install_file "$scratch/bundle.pem" "$dir/ca.pem" 0644 scanfarm
	coordinator_cert "$force"
	worker_cert "$force"
	if [ "$changed" -eq 1 ] && [ "$mode" != issue ]; then
		# a restart drains (SIGTERM); workers redial, queued jobs wait
		log "certificates changed: restarting the coordinator"
		systemctl try-restart scanfarm-coordinator.service
	fi
}

# --- a worker: fetch the bundle and the workers' certificate

worker() {
	local mode=$1 value bundle rc i
	[ "$mode" = issue ] || [ "$mode" = refresh ] || die "$mode: a coordinator's command"
	install -d -m 0700 "$dir"
	scratch_dir
	# at boot the coordinator may not have issued them yet: wait for it
	for ((i = 0; i < 120; i++)); do
		bundle=$(retry 5 param_get "$SF_TLS_CA_PARAM") || die "cannot read $SF_TLS_CA_PARAM"
		rc=0
		value=$(secret_get_retrying "$SF_TLS_WORKER_SECRET_ARN") || rc=$?
		[ "$rc" -ne 1 ] || die "cannot read the secret $SF_TLS_WORKER_SECRET_ARN"
		[[ "$bundle" == *"BEGIN CERTIFICATE"* ]] && [ "$rc" -eq 0 ] && break
		[ "$mode" = issue ] || die "no certificates published yet"
		[ "$i" -eq 0 ] && log "waiting for the coordinator to publish the CA and the workers' certificate"
		sleep 10
	done
	if [[ "$bundle" != *"BEGIN CERTIFICATE"* ]] || [ "$rc" -ne 0 ]; then
		die "the coordinator published no certificates within 20 minutes"
	fi
	printf '%s\n' "$bundle" >"$scratch/ca.pem"
	{ jq -ej .cert <<<"$value" >"$scratch/worker.pem" && jq -ej .key <<<"$value" >"$scratch/worker.key"; } ||
		die "the workers' secret holds no certificate and key"
	openssl verify -CAfile "$scratch/ca.pem" "$scratch/worker.pem" >/dev/null || die "the workers' certificate does not chain to the published CA"
	install_file "$scratch/ca.pem" "$dir/ca.pem" 0644 root
	install_file "$scratch/worker.key" "$dir/worker.key" 0600 root
	install_file "$scratch/worker.pem" "$dir/worker.pem" 0644 root
	if [ "$changed" -eq 1 ] && [ "$mode" = refresh ]; then
		# the worker finishes the jobs it has on SIGTERM (all its slots'
		# at once, up to 480 s), then starts again with the new files
		log "certificates changed: restarting the worker"
		systemctl try-restart scanfarm-worker.service
	fi
}

mode=${1:-}
case "$SF_ROLE:$mode" in
coordinator:issue | coordinator:refresh | coordinator:rotate | coordinator:new-ca | coordinator:drop-old-ca) coordinator "$mode" ;;
worker:issue | worker:refresh) worker "$mode" ;;
*) die "usage: scanfarm-pki issue|refresh (both roles) | rotate|new-ca|drop-old-ca (coordinator); this is a $SF_ROLE" ;;
esac
