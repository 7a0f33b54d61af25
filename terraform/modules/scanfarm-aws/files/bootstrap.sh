#!/bin/bash
# scanfarm-bootstrap — first boot of a scanfarm host (cloud-init runcmd).
#
# Reads its parameters from /etc/scanfarm/bootstrap.env (rendered by
# Terraform; no secrets in it), installs the .deb packages from the package
# source, reads the secrets from SSM Parameter Store / Secrets Manager with
# the instance role, writes /etc/scanfarm/*.conf and starts the units.
# Idempotent: a re-run (or a reboot running it again) converges.
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

supports() { # supports BINARY OPTION: does this build have --OPTION?
	"$1" --help 2>&1 | grep -qE -- "^ +--$2( |$)"
}

# The artifact store: the persistent EBS volume, formatted on first use only.
mount_store() {
	local dev="/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${SF_STORE_VOLUME_ID//-/}" i
	for ((i = 0; i < 60; i++)); do
		[ -e "$dev" ] && break
		sleep 5
	done
	[ -e "$dev" ] || die "store volume $SF_STORE_VOLUME_ID not attached"
	if ! blkid "$dev" >/dev/null 2>&1; then
		log "formatting the new store volume $SF_STORE_VOLUME_ID"
		mkfs.ext4 -q -L sfstore "$dev"
	fi
	local uuid
	uuid=$(blkid -s UUID -o value "$dev")
	mkdir -p /var/lib/scanfarm/artifacts
	grep -q "$uuid" /etc/fstab ||
		echo "UUID=$uuid /var/lib/scanfarm/artifacts ext4 defaults,nofail,noatime 0 2" >>/etc/fstab
	mountpoint -q /var/lib/scanfarm/artifacts || mount /var/lib/scanfarm/artifacts
	chown scanfarm:scanfarm /var/lib/scanfarm/artifacts
	chmod 0750 /var/lib/scanfarm/artifacts
}

# libpq conninfo quoting: backslash and single quote escaped, value quoted.
pq_quote() { local v=${1//\\/\\\\}; printf "'%s'" "${v//\'/\\\'}"; }

coordinator() {
	install_packages scanfarm-coordinator scanfarm-cli
	mount_store
	local secret dbjson dbuser dbpass ip
	secret=$(retry 10 ssm_get "$SF_WORKER_SECRET_PARAM") || die "cannot read $SF_WORKER_SECRET_PARAM"
	dbjson=$(retry 10 aws secretsmanager get-secret-value --secret-id "$SF_DB_SECRET_ARN" \
		--query SecretString --output text) || die "cannot read the database secret"
	dbuser=$(jq -r .username <<<"$dbjson")
	dbpass=$(jq -r .password <<<"$dbjson")
	ip=$(imds meta-data/local-ipv4)
	install -d -m 0755 /etc/scanfarm
	(
		umask 027
		cat >/etc/scanfarm/coordinator.conf.tmp <<-CONF
			# written by scanfarm-bootstrap from SSM / Secrets Manager; do not edit by hand
			db-dsn = host=$SF_DB_HOST port=$SF_DB_PORT dbname=$SF_DB_NAME user=$dbuser password=$(pq_quote "$dbpass") sslmode=require
			http-address = 0.0.0.0:3000
			public-url = http://$ip:3000
			store-dir = /var/lib/scanfarm/artifacts
			jobs-url = tcp://0.0.0.0:7301
			results-url = tcp://0.0.0.0:7302
			worker-secret = $secret
			auth = $SF_API_AUTH
			drain-timeout = $SF_DRAIN_TIMEOUT
			job-time-limit = $SF_JOB_TIME_LIMIT
			npm-registry = ${SF_NPM_REGISTRY%/}
			log-format = json
		CONF
	)
	chgrp scanfarm /etc/scanfarm/coordinator.conf.tmp
	mv /etc/scanfarm/coordinator.conf.tmp /etc/scanfarm/coordinator.conf
	systemctl daemon-reload
	systemctl enable --now scanfarm-coordinator.service scanfarm-queue-metric.timer
	if [ "$SF_API_AUTH" = on ] && [ "$(retry 5 ssm_get "$SF_API_TOKEN_PARAM")" = unset ]; then
		local token
		token=$(runuser -u scanfarm -- scanfarm-coordinator --config /etc/scanfarm/coordinator.conf token create bootstrap)
		aws ssm put-parameter --overwrite --type SecureString --name "$SF_API_TOKEN_PARAM" --value "$token" >/dev/null
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

# Falco's configuration for the worker (issue 16): the worker package ships
# its overrides in /usr/share/scanfarm/falco/ once that exists; until then
# these are the outputs the two backends read.
configure_falco() {
	install -d /etc/falco/config.d
	if [ -d /usr/share/scanfarm/falco/config.d ]; then
		cp /usr/share/scanfarm/falco/config.d/*.yaml /etc/falco/config.d/
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
	case "$SF_SENSOR" in
	ebpf) ;;
	falco-json | falco-grpc)
		scanfarm-worker --help 2>&1 | grep -q -- "$SF_SENSOR" ||
			die "sensor $SF_SENSOR: scanfarm-worker $SF_PACKAGE_VERSION has no such backend (issue 16)"
		install_falco
		configure_falco
		;;
	*) die "unknown sensor backend $SF_SENSOR" ;;
	esac
	local secret rules
	secret=$(retry 10 ssm_get "$SF_WORKER_SECRET_PARAM") || die "cannot read $SF_WORKER_SECRET_PARAM"
	rules=$(rules_dir)
	install -d -m 0755 /etc/scanfarm
	(
		umask 077
		{
			echo "# written by scanfarm-bootstrap from SSM; do not edit by hand"
			echo "jobs-url = tcp://$SF_COORDINATOR_HOST:7301"
			echo "results-url = tcp://$SF_COORDINATOR_HOST:7302"
			echo "rootfs = /var/lib/scanfarm/rootfs.img"
			echo "rules = $rules"
			echo "sensor = $SF_SENSOR"
			echo "npm-registry = $SF_NPM_REGISTRY"
			echo "worker-secret = $secret"
			echo "log-format = json"
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
	# the slots start; the unit is a oneshot the slots require.
	systemctl start scanfarm-prepare.service
	local i units=()
	for ((i = 1; i <= SF_SLOTS; i++)); do units+=("scanfarm-worker@$i.service"); done
	systemctl enable "${units[@]}" scanfarm-worker.target scanfarm-lifecycle.timer
	systemctl start scanfarm-worker.target "${units[@]}" scanfarm-lifecycle.timer
}

imds() { # imds PATH: IMDSv2 (tokens required, hop limit 1)
	local t
	t=$(curl -fsS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token)
	curl -fsS -H "X-aws-ec2-metadata-token: $t" "http://169.254.169.254/latest/$1"
}

case "$SF_ROLE" in
coordinator) coordinator ;;
worker) worker ;;
*) die "SF_ROLE must be coordinator or worker" ;;
esac
log "$SF_ROLE ready"
