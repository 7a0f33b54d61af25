# tflib.sh — what the deploy tests share (sourced): the terraform binary, the
# provider mirror and a CLI configuration that points at it, and scratch
# directories in the build tree (the source tree gets no .terraform/).
#   tf_setup SRC BUILD NAME   sets $tf_work, $TF_CLI_CONFIG_FILE, $tf_mirror
# shellcheck shell=bash disable=SC2034
# Exit 77 (skip) only when terraform itself is absent.

tf_fail() { echo "FAIL: $*" >&2; exit 1; }

# The mirror root is the directory above registry.terraform.io
# (MACHINE-NOTES): $SCANFARM_TF_PLUGIN_DIR, else where the AWS provider is.
tf_find_mirror() {
	if [ -n "${SCANFARM_TF_PLUGIN_DIR:-}" ]; then
		echo "$SCANFARM_TF_PLUGIN_DIR"
		return
	fi
	local p
	# the standard plugin directories, then /opt (add-on software), bounded
	for d in /usr/local/share/terraform/plugins /usr/share/terraform/plugins \
		"$HOME/.terraform.d/plugins" /opt; do
		p=$(find "$d" -maxdepth 8 -name 'terraform-provider-aws*' -path '*registry.terraform.io*' \
			2>/dev/null | head -n1)
		[ -n "$p" ] && break
	done
	if [ -z "$p" ]; then
		p=$(find / -xdev \( -path /proc -o -path /sys \) -prune -o -name 'terraform-provider-aws*' \
			-path '*registry.terraform.io*' -print 2>/dev/null | head -n1)
	fi
	[ -n "$p" ] || return 1
	echo "${p%%/registry.terraform.io/*}"
}

tf_setup() {
	local src=$1 build=$2 name=$3
	if ! command -v terraform >/dev/null; then
		echo "SKIP: terraform is not installed" >&2
		exit 77
	fi
	tf_mirror=$(tf_find_mirror) || tf_fail "terraform is installed but no AWS provider mirror was found (set SCANFARM_TF_PLUGIN_DIR)"
	tf_work=$build/deploy-tests/$name
	rm -rf "$tf_work"
	mkdir -p "$tf_work"
	# Offline: providers only from the mirror, no registry, no checkpoint.
	export TF_CLI_CONFIG_FILE=$tf_work/terraformrc
	cat >"$TF_CLI_CONFIG_FILE" <<-RC
		provider_installation {
		  filesystem_mirror {
		    path    = "$tf_mirror"
		    include = ["registry.terraform.io/*/*"]
		  }
		  direct {
		    exclude = ["registry.terraform.io/*/*"]
		  }
		}
		disable_checkpoint = true
	RC
	export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0
	unset TF_PLUGIN_CACHE_DIR
	echo "terraform $(terraform version -json | sed -n 's/.*"terraform_version": *"\([^"]*\)".*/\1/p'), mirror $tf_mirror" >&2
}

# tf_init DIR TAG: init DIR against the mirror, its data in $tf_work/TAG
tf_init() {
	export TF_DATA_DIR=$tf_work/$2/.terraform
	mkdir -p "$tf_work/$2"
	terraform -chdir="$1" init -backend=false -plugin-dir="$tf_mirror" -input=false -no-color \
		-lockfile=readonly >"$tf_work/$2/init.log" 2>&1 ||
		terraform -chdir="$1" init -backend=false -plugin-dir="$tf_mirror" -input=false -no-color \
			>"$tf_work/$2/init.log" 2>&1 || {
		cat "$tf_work/$2/init.log" >&2
		tf_fail "terraform init $1"
	}
}
