#!/usr/bin/env bash
# falco_rules_test — the shipped rules in real Falco: the files the Falco
# configuration the worker package ships lists (packaging/falco/config.d/
# 50-scanfarm.yaml) validate with `falco -V` with no error and no
# deprecation warning (the only warnings allowed are lists that only the
# eBPF sensor's files use); every rules/*.yaml Falco is not given says
# SCANFARM ONLY at its top; the same files load in scanfarm-rules (a falco-*
# worker checks and digests them), and so does rules/ as the eBPF worker
# loads it; the shipped Falco configuration itself is accepted by Falco.
#   falco_rules_test.sh SOURCE_DIR BUILD_DIR
set -uo pipefail
src=$1 build=$2
passed=0 failed=0
ok() { if eval "$2"; then passed=$((passed + 1)); echo "ok   - $1"; else failed=$((failed + 1)); echo "FAIL - $1"; fi; }
. "$(dirname "$0")/falcolib.sh"
falco_locate
work=$(mktemp -d /tmp/sf-falco-rules-XXXXXX)
trap 'rm -rf "$work"' EXIT

mapfile -t files < <(falco_rules_files)
ok "the Falco configuration lists rule files (${#files[@]})" '[ ${#files[@]} -ge 5 ]'
args=()
for f in "${files[@]}"; do args+=(-V "$f"); done
"$falco" -c "$falco_stock" "${args[@]}" -o json_output=true >"$work/v.json" 2>"$work/v.err"
rc=$?
ok "falco -V accepts them (exit $rc)" '[ "$rc" = 0 ]' || head -c 2000 "$work/v.json"
ok "every file loaded" \
  'jq -e "[.falco_load_results[] | .successful] | all and length == ${#files[@]}" "$work/v.json" >/dev/null'
jq -r '.falco_load_results[] | .name as $n | .errors[]? | "    \($n): \(.message)"' "$work/v.json"
ok "no errors" '[ "$(jq "[.falco_load_results[].errors[]?] | length" "$work/v.json")" = 0 ]'
ok "no warning but unused items (no deprecated field, no evt.dir)" \
  '[ "$(jq "[.falco_load_results[].warnings[]? | select(.code | startswith(\"LOAD_UNUSED\") | not)] | length" "$work/v.json")" = 0 ]' ||
  jq -r '.falco_load_results[].warnings[]? | select(.code | startswith("LOAD_UNUSED") | not) | "    \(.code): \(.message)"' "$work/v.json"
# Warnings accumulate file by file; after the last, what is still unused must
# be what only the eBPF sensor's files use.
"$falco" -c "$falco_stock" "${args[@]}" >"$work/v.txt" 2>&1
unused=$(awk '/^In rules content/ {item=""} /^    (list|macro) / {item=$2} /LOAD_UNUSED/ && item {print item; item=""}' "$work/v.txt" | sort -u)
last=$(sed -n "/$(basename "${files[-1]}"): Ok/,\$p" "$work/v.txt" | awk '/^    (list|macro) / {print $2}' | sort -u | tr '\n' ' ')
ok "still unused after the last file: only sf_allowed_dns_names ($last)" "[ \"$last\" = \"'sf_allowed_dns_names': \" ]"
for f in "$src"/rules/*.yaml; do
  listed=0
  for g in "${files[@]}"; do [ "$g" = "$f" ] && listed=1; done
  [ "$listed" = 1 ] && continue
  ok "$(basename "$f"), not given to Falco, says SCANFARM ONLY" 'head -n 5 "$f" | grep -q "SCANFARM ONLY"'
done
ok "scanfarm-rules loads Falco's files" '"$build/worker/scanfarm-rules" check "${files[@]}" >/dev/null'
ok "scanfarm-rules loads rules/ (the eBPF worker's)" '"$build/worker/scanfarm-rules" check "$src/rules" >/dev/null'

# Every field Falco documents for syscalls resolves in scanfarm's engine
# (filled, or known to be absent and evaluated as missing: --explain).
"$falco" -c "$falco_stock" --list=syscall -v 2>/dev/null |
  sed -n -E 's/^([a-z]+\.[a-z0-9_.]+) +\(Type: [A-Z0-9_]+\)( \(([A-Z_,]+)\))?.*/\1 \3/p' | sort -u >"$work/fields.txt"
{
  n=0
  while read -r name flags; do
    arg=
    case $flags in *ARG_REQUIRED*) arg='[1]' ;; esac
    n=$((n + 1))
    printf -- '- rule: field %d\n  desc: %s\n  condition: evt.type = open and %s%s exists\n  output: o\n  priority: info\n' \
      "$n" "$name" "$name" "$arg"
  done <"$work/fields.txt"
} >"$work/fields.yaml"
ok "Falco documents syscall fields ($(wc -l <"$work/fields.txt"))" '[ "$(wc -l <"$work/fields.txt")" -gt 150 ]'
ok "every one of them resolves in scanfarm-rules" \
  '"$build/worker/scanfarm-rules" check "$work/fields.yaml" >"$work/fields.out" 2>&1' || head -n 3 "$work/fields.out"

# The shipped configuration: Falco reads it (schema) with the rules in place.
mkdir -p "$work/config.d"
sed "s#^  - /etc/falco/config.d\$#  - $work/config.d#" "$falco_stock" >"$work/falco.yaml"
for c in "$src"/packaging/falco/config.d/*.yaml "$src"/packaging/falco/outputs/*.yaml; do
  sed "s#/usr/share/scanfarm/rules/#$src/rules/#" "$c" >"$work/config.d/$(basename "$c")"
done
"$falco" -c "$work/falco.yaml" -V "${files[0]}" >"$work/c.txt" 2>&1
rc=$?
ok "Falco accepts the shipped configuration files (schema)" \
  '[ "$(grep -c "config.d/.* | schema validation: ok" "$work/c.txt")" = "$(ls "$work/config.d" | wc -l)" ] && [ "$rc" = 0 ]' ||
  grep -i "config.d\|error" "$work/c.txt"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
