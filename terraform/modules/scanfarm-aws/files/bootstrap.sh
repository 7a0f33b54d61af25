#!/bin/bash
# scanfarm-bootstrap — first boot of a scanfarm host (cloud-init runcmd).
#
# Reads its parameters from /etc/scanfarm/bootstrap.env (rendered by
# Terraform; no secrets in it), installs the .deb packages from the package
# source, reads the secrets from SSM Parameter Store / Secrets Manager with
# the instance role, writes /etc/scanfarm/*.conf and starts the units.
# Idempotent: a re-run (or a reboot running it again) converges.
#
# With SF_TLS=on (the module's default) the NNG links run over tls+tcp://
# with mutual authentication and the API over HTTPS, with certificates of
# the pool's own CA that scanfarm-pki makes and renews (its top comment).
set -euo pipefail
umask 022
# shellcheck source=/dev/null
. /etc/scanfarm/bootstrap.env
export AWS_DEFAULT_REGION="$SF_REGION"

log() { printf 'scanfarm-bootstrap: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

retry() { # retry N CMD...: the network or an IAM role may lag the boot
	local n=$1 i
	shift
	for ((i = 1; i <= n; i++)); do
		"$@" && return 0
		sleep $((i * 3))
	done
	return 1
}

fetch() { # fetch URL DEST: https:// with curl, s3:// with the AWS CLI
	case "$1" in
	s3://*) aws s3 cp --only-show-errors "$1" "$2" ;;
	https://*) curl -fsSL --retry 5 -o "$2" "$1" ;;
	*) die "unsupported URL $1" ;;
	esac
}

ssm_get() { aws ssm get-parameter --with-decryption --name "$1" --query Parameter.Value --output text; }

install_packages() { # install_packages PKG...: the .debs of this version, deps from Debian
	local dir=/var/cache/scanfarm/debs p debs=()
	mkdir -p "$dir"
	for p in "$@"; do
		retry 5 fetch "$SF_PACKAGE_URL/${p}_${SF_PACKAGE_VERSION}_amd64.deb" "$dir/${p}_${SF_PACKAGE_VERSION}_amd64.deb" ||
			die "cannot download $p $SF_PACKAGE_VERSION from $SF_PACKAGE_URL"
		debs+=("$dir/${p}_${SF_PACKAGE_VERSION}_amd64.deb")
	done
	DEBIAN_FRONTEND=noninteractive retry 3 apt-get install -y -q --no-install-recommends "${debs[@]}"
}

# The help text whole, then searched: `--help | grep -q` under pipefail
# fails when grep stops reading early and the program gets SIGPIPE.
help_of() { "$1" --help 2>&1 || true; }
supports() { # supports BINARY OPTION: does this build have --OPTION?
	help_of "$1" | grep -E -- "^ +--$2( |$)" >/dev/null
}

# A persistent EBS volume at a mount point, formatted on first use only.
mount_volume() { # mount_volume VOLUME-ID MOUNTPOINT LABEL
	local dev="/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${1//-/}" i uuid
	for ((i = 0; i < 60; i++)); do
		[ -e "$dev" ] && break
		sleep 5
	done
	[ -e "$dev" ] || die "volume $1 not attached"
	if ! blkid "$dev" >/dev/null 2>&1; then
		log "formatting the new volume $1 ($3)"
		mkfs.ext4 -q -L "$3" "$dev"
	fi
	uuid=$(blkid -s UUID -o value "$dev")
	mkdir -p "$2"
	grep -q "$uuid" /etc/fstab || echo "UUID=$uuid $2 ext4 defaults,nofail,noatime 0 2" >>/etc/fstab
	mountpoint -q "$2" || mount "$2"
}

# The artifact store.
mount_store() {
	mount_volume "$SF_STORE_VOLUME_ID" /var/lib/scanfarm/artifacts sfstore
	chown scanfarm:scanfarm /var/lib/scanfarm/artifacts
	chmod 0750 /var/lib/scanfarm/artifacts
}

# A private registry's token (Secrets Manager) into a file GROUP may read;
# prints the configuration line naming it, or nothing for a public registry.
registry_auth() { # registry_auth GROUP
	[ -n "${SF_NPM_REGISTRY_AUTH_SECRET_ARN:-}" ] || return 0
	local f=/etc/scanfarm/npm-registry-auth value
	value=$(retry 10 aws secretsmanager get-secret-value --secret-id "$SF_NPM_REGISTRY_AUTH_SECRET_ARN" \
		--query SecretString --output text) || die "cannot read the registry token"
	install -d -m 0755 /etc/scanfarm
	(
		umask 027
		printf '%s\n' "$value" >"$f.tmp"
	)
	chgrp "$1" "$f.tmp"
	mv "$f.tmp" "$f"
	echo "npm-registry-auth = $f"
}

# libpq conninfo quoting: backslash and single quote escaped, value quoted.
pq_quote() { local v=${1//\\/\\\\}; printf "'%s'" "${v//\'/\\\'}"; }

# The TLS options of a daemon's configuration (none with SF_TLS=off); the
# certificates scanfarm-pki keeps in /etc/scanfarm/tls.
tls_conf() { # tls_conf coordinator|worker
	[ "$SF_TLS" = on ] || return 0
	local d=/etc/scanfarm/tls
	if [ "$1" = coordinator ]; then
		printf '%s\n' "tls-cert = $d/coordinator.pem" "tls-key = $d/coordinator.key" "tls-ca = $d/ca.pem" \
			"http-tls-cert = $d/coordinator.pem" "http-tls-key = $d/coordinator.key"
	else
		printf '%s\n' "tls-cert = $d/worker.pem" "tls-key = $d/worker.key" "tls-ca = $d/ca.pem" \
			"tls-server-name = $SF_TLS_SERVER_NAME" "http-ca = $d/ca.pem"
	fi
}

# The certificates (scanfarm-pki issue), after checking that this build
# speaks TLS: a pool asked for TLS never runs without it.
tls_setup() { # tls_setup BINARY
	[ "$SF_TLS" = on ] || return 0
	supports "$1" tls-cert || die "TLS: $1 $SF_PACKAGE_VERSION has no --tls-cert (issue 17)"
	/usr/local/sbin/scanfarm-pki issue
}

coordinator() {
	install_packages scanfarm-coordinator scanfarm-cli
	mount_store
	local secret dbjson dbuser dbpass ip regauth scheme=http nng=tcp
	[ "$SF_TLS" = on ] && scheme=https nng=tls+tcp
	tls_setup scanfarm-coordinator
	secret=$(retry 10 ssm_get "$SF_WORKER_SECRET_PARAM") || die "cannot read $SF_WORKER_SECRET_PARAM"
	if [ -n "${SF_DB_PASSWORD_PARAM:-}" ]; then # the database VM's
		dbuser=scanfarm
		dbpass=$(retry 30 ssm_get "$SF_DB_PASSWORD_PARAM") || die "cannot read $SF_DB_PASSWORD_PARAM"
	else # RDS's, managed in Secrets Manager
		dbjson=$(retry 10 aws secretsmanager get-secret-value --secret-id "$SF_DB_SECRET_ARN" \
			--query SecretString --output text) || die "cannot read the database secret"
		dbuser=$(jq -r .username <<<"$dbjson")
		dbpass=$(jq -r .password <<<"$dbjson")
	fi
	regauth=$(registry_auth scanfarm)
	ip=$(imds meta-data/local-ipv4)
	install -d -m 0755 /etc/scanfarm
	(
		umask 027
		cat >/etc/scanfarm/coordinator.conf.tmp <<-CONF
			# written by scanfarm-bootstrap from SSM / Secrets Manager; do not edit by hand
			db-dsn = host=$SF_DB_HOST port=$SF_DB_PORT dbname=$SF_DB_NAME user=$dbuser password=$(pq_quote "$dbpass") sslmode=require
			http-address = 0.0.0.0:3000
			public-url = $scheme://$ip:3000
			ops-address = 127.0.0.1:3001
			store-dir = /var/lib/scanfarm/artifacts
			jobs-url = $nng://0.0.0.0:7301
			results-url = $nng://0.0.0.0:7302
			$(tls_conf coordinator)
			worker-secret = $secret
			auth = $SF_API_AUTH
			drain-timeout = $SF_DRAIN_TIMEOUT
			job-time-limit = $SF_JOB_TIME_LIMIT
			npm-registry = ${SF_NPM_REGISTRY%/}
			$regauth
			log-format = json
		CONF
	)
	chgrp scanfarm /etc/scanfarm/coordinator.conf.tmp
	mv /etc/scanfarm/coordinator.conf.tmp /etc/scanfarm/coordinator.conf
	systemctl daemon-reload
	systemctl enable --now scanfarm-coordinator.service scanfarm-queue-metric.timer
	[ "$SF_TLS" = off ] || systemctl enable --now scanfarm-pki.timer
	if [ "$SF_API_AUTH" = on ] && [ "$(retry 5 ssm_get "$SF_API_TOKEN_PARAM")" = unset ]; then
		local tokenf
		# the token reaches the AWS CLI as a file, never on a command line
		tokenf=$(mktemp /run/scanfarm-token.XXXXXX)
		runuser -u scanfarm -- scanfarm-coordinator --config /etc/scanfarm/coordinator.conf token create bootstrap |
			tr -d '\n' >"$tokenf"
		[ -s "$tokenf" ] || die "creating the API bootstrap token failed"
		aws ssm put-parameter --overwrite --type SecureString --name "$SF_API_TOKEN_PARAM" --value "file://$tokenf" >/dev/null
		rm -f "$tokenf"
		log "API bootstrap token stored in $SF_API_TOKEN_PARAM"
	fi
}

install_falco() {
	[ "$(dpkg-query -W -f='${Version}' falco 2>/dev/null || true)" = "$SF_FALCO_VERSION" ] && return 0
	local key=/usr/share/keyrings/falco-archive-keyring.gpg
	curl -fsSL --retry 5 https://falco.org/repo/falcosecurity-packages.asc | gpg --dearmor --yes -o "$key"
	echo "deb [signed-by=$key] https://download.falco.org/packages/deb stable main" \
		>/etc/apt/sources.list.d/falcosecurity.list
	retry 3 apt-get update -q
	FALCO_FRONTEND=noninteractive FALCO_DRIVER_CHOICE=modern_ebpf DEBIAN_FRONTEND=noninteractive \
		retry 3 apt-get install -y -q "falco=$SF_FALCO_VERSION"
}

# Falco's configuration for the worker (docs/falco.md): the worker package
# ships it in /usr/share/scanfarm/falco/ — config.d/50-scanfarm.yaml (rules,
# append_output, engine) with its rule paths pointed at the rules the
# workers load ($1), and outputs/<backend>.yaml. Older packages had none:
# then only the outputs are written here.
configure_falco() {
	local rules=$1 shipped=/usr/share/scanfarm/falco
	install -d /etc/falco/config.d
	if [ -f "$shipped/config.d/50-scanfarm.yaml" ] && [ -f "$shipped/outputs/$SF_SENSOR.yaml" ]; then
		sed "s#/usr/share/scanfarm/rules/#$rules/#" "$shipped/config.d/50-scanfarm.yaml" \
			>/etc/falco/config.d/50-scanfarm.yaml
		cp "$shipped/outputs/$SF_SENSOR.yaml" /etc/falco/config.d/60-scanfarm-outputs.yaml
	elif [ "$SF_SENSOR" = falco-grpc ]; then
		cat >/etc/falco/config.d/50-scanfarm.yaml <<-'YAML'
			# scanfarm worker: alerts over gRPC on a local unix socket
			json_output: true
			grpc:
			  enabled: true
			  bind_address: "unix:///run/falco/falco.sock"
			  threadiness: 0
			grpc_output:
			  enabled: true
		YAML
	else
		cat >/etc/falco/config.d/50-scanfarm.yaml <<-'YAML'
			# scanfarm worker: alerts as JSON posted to the worker on loopback
			json_output: true
			json_include_output_property: true
			http_output:
			  enabled: true
			  url: "http://127.0.0.1:7310/falco"
		YAML
	fi
	systemctl enable falco-modern-bpf.service
	systemctl restart falco-modern-bpf.service
}

# The rule files Falco loads, as the worker's comma-separated --rules (it
# checks and digests the same files).
falco_rules() {
	sed -n 's#^  - \(/.*\.yaml\)$#\1#p' /etc/falco/config.d/50-scanfarm.yaml | paste -sd, -
}

rules_dir() { # the rules the workers load: bundled or downloaded and checked
	if [ "$SF_RULES_SOURCE" = bundled ]; then
		echo /usr/share/scanfarm/rules
		return
	fi
	local dir=/etc/scanfarm/rules.d tmp
	tmp=$(mktemp -d)
	retry 5 fetch "$SF_RULES_SOURCE" "$tmp/rules.tar.gz" || die "cannot download $SF_RULES_SOURCE"
	rm -rf "$dir.new" && mkdir -p "$dir.new"
	tar -xzf "$tmp/rules.tar.gz" -C "$dir.new" --no-same-owner --no-same-permissions
	rm -rf "$tmp"
	scanfarm-rules check "$dir.new" >&2 || die "rules from $SF_RULES_SOURCE do not load"
	rm -rf "$dir" && mv "$dir.new" "$dir"
	echo "$dir"
}

worker() {
	install_packages scanfarm-worker scanfarm-cli
	local secret rules regauth
	rules=$(rules_dir)
	case "$SF_SENSOR" in
	ebpf) ;;
	falco-json | falco-grpc)
		help_of scanfarm-worker | grep -- "$SF_SENSOR" >/dev/null ||
			die "sensor $SF_SENSOR: scanfarm-worker $SF_PACKAGE_VERSION has no such backend (issue 16)"
		install_falco
		configure_falco "$rules"
		# Falco evaluates the rules; the worker checks and digests the same files
		[ -z "$(falco_rules)" ] || rules=$(falco_rules)
		;;
	*) die "unknown sensor backend $SF_SENSOR" ;;
	esac
	secret=$(retry 10 ssm_get "$SF_WORKER_SECRET_PARAM") || die "cannot read $SF_WORKER_SECRET_PARAM"
	regauth=$(registry_auth root)
	tls_setup scanfarm-worker
	local nng=tcp
	[ "$SF_TLS" = off ] || nng=tls+tcp
	install -d -m 0755 /etc/scanfarm
	(
		umask 077
		{
			echo "# written by scanfarm-bootstrap from SSM; do not edit by hand"
			echo "jobs-url = $nng://$SF_COORDINATOR_HOST:7301"
			echo "results-url = $nng://$SF_COORDINATOR_HOST:7302"
			tls_conf worker
			echo "rootfs = /var/lib/scanfarm/rootfs.img"
			echo "rules = $rules"
			echo "sensor = $SF_SENSOR"
			echo "npm-registry = $SF_NPM_REGISTRY"
			[ -z "$regauth" ] || echo "$regauth"
			echo "worker-secret = $secret"
			echo "log-format = json"
			# one worker process runs the instance's slots (user-namespace
			# slots 0 … SF_SLOTS − 1, one id range each)
			echo "capacity = $SF_SLOTS"
			if supports scanfarm-worker network; then
				echo "network = $SF_NETWORK_MODE"
			else
				log "network mode $SF_NETWORK_MODE: this worker build has no --network option (issue 12); its default applies"
			fi
		} >/etc/scanfarm/worker.conf.tmp
	)
	mv /etc/scanfarm/worker.conf.tmp /etc/scanfarm/worker.conf
	systemctl daemon-reload
	# host set-up and the sandbox rootfs (mmdebstrap, about a minute) before
	# the worker starts; the unit is a oneshot the worker requires.
	systemctl start scanfarm-prepare.service
	# one process with capacity = SF_SLOTS (worker.conf above), not one unit
	# instance per slot: the sensor, rules and image are loaded once
	local units=(scanfarm-worker.service)
	[ "$SF_TLS" = off ] || units+=(scanfarm-pki.timer)
	systemctl enable "${units[@]}" scanfarm-worker.target scanfarm-lifecycle.timer
	systemctl start scanfarm-worker.target "${units[@]}" scanfarm-lifecycle.timer
}

# The PostgreSQL VM (database = vm): Debian's PostgreSQL 15 with the
# cluster's data and configuration on the persistent volume (a replacement
# instance finds both there), TLS with the host's certificate, one role and
# database for the coordinator, which alone may connect (its address, scram).
database() {
	local vol=/srv/pgvolume pass
	install -d /etc/postgresql-common
	# no default cluster at package install: ours lives on the volume
	echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
	DEBIAN_FRONTEND=noninteractive retry 3 apt-get install -y -q --no-install-recommends postgresql ssl-cert
	# the host's certificate for TLS (a new instance makes its own)
	[ -e /etc/ssl/private/ssl-cert-snakeoil.key ] || make-ssl-cert generate-default-snakeoil
	mount_volume "$SF_DB_VOLUME_ID" "$vol" sfpgdata
	mkdir -p "$vol/etc" "$vol/data"
	grep -q " /etc/postgresql " /etc/fstab || echo "$vol/etc /etc/postgresql none bind,nofail 0 0" >>/etc/fstab
	mountpoint -q /etc/postgresql || mount /etc/postgresql
	[ -d /etc/postgresql/15/main ] || pg_createcluster 15 main -d "$vol/data/15/main" >&2
	# a new instance's postgres user may have other ids than the last one's
	[ "$(stat -c %U "$vol/data")" = postgres ] || chown -R postgres:postgres "$vol/data" /etc/postgresql
	cat >/etc/postgresql/15/main/conf.d/50-scanfarm.conf <<-'CONF'
		# written by scanfarm-bootstrap
		listen_addresses = '*'
		ssl = on
		ssl_cert_file = '/etc/ssl/certs/ssl-cert-snakeoil.pem'
		ssl_key_file = '/etc/ssl/private/ssl-cert-snakeoil.key'
		password_encryption = scram-sha-256
	CONF
	cat >/etc/postgresql/15/main/pg_hba.conf <<-HBA
		# written by scanfarm-bootstrap: the coordinator only, over TLS
		local   all       postgres                 peer
		hostssl scanfarm  scanfarm  $SF_DB_CLIENT  scram-sha-256
	HBA
	systemctl enable postgresql@15-main.service
	systemctl restart postgresql@15-main.service
	pass=$(retry 10 ssm_get "$SF_DB_PASSWORD_PARAM") || die "cannot read $SF_DB_PASSWORD_PARAM"
	pass=${pass//\'/\'\'} # an SQL string literal's quotes doubled
	# the password on psql's stdin, never on a command line
	runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 <<-SQL
		SELECT 'CREATE ROLE scanfarm LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'scanfarm')\gexec
		ALTER ROLE scanfarm WITH LOGIN PASSWORD '$pass';
		SELECT 'CREATE DATABASE scanfarm OWNER scanfarm' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'scanfarm')\gexec
	SQL
}

imds() { # imds PATH: IMDSv2 (tokens required, hop limit 1)
	local t
	t=$(curl -fsS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token)
	curl -fsS -H "X-aws-ec2-metadata-token: $t" "http://169.254.169.254/latest/$1"
}

main() {
	case "$SF_ROLE" in
	coordinator) coordinator ;;
	worker) worker ;;
	database) database ;;
	*) die "SF_ROLE must be coordinator, worker or database" ;;
	esac
	log "$SF_ROLE ready"
}

# run when executed; sourced (tests/deploy/tls_bootstrap_test.sh), it only
# defines the steps
[ "${BASH_SOURCE[0]}" != "$0" ] || main "$@"
