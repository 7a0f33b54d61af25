#!/usr/bin/env bash
# terraform_test.sh SRC BUILD — the Terraform checks CI runs:
#   1. terraform fmt -check -recursive on terraform/ and tests/deploy/
#   2. init (offline, against the provider mirror) + validate: the module,
#      its user-data submodule and the aws-pool example
#   3. terraform test in the module (mock_provider "aws": security groups,
#      IMDSv2, no secret in user-data, scaling policy, every sensor backend,
#      variable validation)
set -euo pipefail
src=$1 build=$2
# shellcheck source=tests/deploy/tflib.sh
. "$src/tests/deploy/tflib.sh"
tf_setup "$src" "$build" terraform

echo "== fmt" >&2
terraform fmt -check -recursive -diff "$src/terraform/" || tf_fail "terraform fmt: run terraform fmt -recursive terraform/"
terraform fmt -check -recursive -diff "$src/tests/deploy/" || tf_fail "terraform fmt: tests/deploy/"

lockfile_cleanup=()
trap 'rm -f "${lockfile_cleanup[@]}"' EXIT
for dir in terraform/modules/scanfarm-aws terraform/modules/scanfarm-aws/user-data terraform/examples/aws-pool; do
	tag=${dir//\//_}
	echo "== init + validate $dir" >&2
	# init writes .terraform.lock.hcl beside the configuration (git-ignored);
	# remove what this test created
	[ -e "$src/$dir/.terraform.lock.hcl" ] || lockfile_cleanup+=("$src/$dir/.terraform.lock.hcl")
	tf_init "$src/$dir" "$tag"
	terraform -chdir="$src/$dir" validate -no-color || tf_fail "terraform validate $dir"
done

echo "== terraform test (mocked AWS provider)" >&2
export TF_DATA_DIR=$tf_work/terraform_modules_scanfarm-aws/.terraform
out=$tf_work/test.log
if ! terraform -chdir="$src/terraform/modules/scanfarm-aws" test -no-color >"$out" 2>&1; then
	cut -c1-400 "$out" >&2
	tf_fail "terraform test"
fi
grep -E '^(  run |Success)' "$out" >&2
grep -q 'Success! .* 0 failed' "$out" || tf_fail "terraform test did not report success"
echo "PASS" >&2
