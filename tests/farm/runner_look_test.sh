#!/usr/bin/env bash
# runner_look_test — what a package sees of the sandbox, through a whole farm
# (PostgreSQL, coordinator, worker with the eBPF sensor, crun, the rootfs
# image): tests/packages/env-report prints its host and user names,
# environment, mount table, cgroups, accounts, home files and tools, and
# walks every file name it can see. Its report must look like a CI runner's
# job (GitLab's or GitHub's variables, consistent with the host name, the
# user and the working directory; canary credentials in their formats) and
# hold no word that names the product, a scanner, a sandbox or an analysis.
# A second scan of the same bytes looks different, with other credentials.
# Then tests/packages/attack-canary-exfil sends two canaries out in DNS
# names: each is a Critical "Canary credential exfiltrated" alert naming the
# credential, the package and the phase.
#   runner_look_test.sh SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
farm_init look "$1" "$2" "$3"
trap farm_cleanup EXIT
export SCANFARM_RULES=$src/rules
"$src/scripts/farm.sh" up || { echo "FAIL - farm did not start"; exit 1; }

words='scanfarm|sandbox|scanner|analysis|analyzer|malware|falco|honeypot|canary|detonat|sinkhole|ebpf'
submit() { curl -s -H 'Content-Type: application/octet-stream' --data-binary @"$1" \
  "$url/monitor/project/npm$2" | jq -r '.id // empty'; }

# env-report as a project (package.json at the top, as a repository is),
# with the words its file walk looks for
mkdir -p "$work/report"
cp "$src/tests/packages/env-report/"* "$work/report/"
tr '|' '\n' <<<"$words" >"$work/report/words.txt"
tar -czf "$work/report.tgz" -C "$work/report" .
id1=$(submit "$work/report.tgz" "")
id2=$(submit "$work/report.tgz" "?rescan=1")
ok "both scans submitted" '[ ${#id1} -eq 36 ] && [ ${#id2} -eq 36 ] && [ "$id1" != "$id2" ]'

# attack-canary-exfil as npm pack packs it, armed
mkdir -p "$work/exfil/package"
cp "$src/tests/packages/attack-canary-exfil/"* "$work/exfil/package/"
rm -f "$work/exfil/package/expect"
arm "$work/exfil/package"
tar -czf "$work/exfil.tgz" -C "$work/exfil" package
id3=$(submit "$work/exfil.tgz" "")

for id in "$id1" "$id2" "$id3"; do wait_scan "$id" >/dev/null; done
r1=$(curl -s "$url/v1/scans/$id1")
r2=$(curl -s "$url/v1/scans/$id2")
r3=$(curl -s "$url/v1/scans/$id3")
d1=$(jq -r .install.stdout_tail <<<"$r1")
d2=$(jq -r .install.stdout_tail <<<"$r2")
ok "env-report ran (install exited 0)" '[ "$(jq -r .install.exit_status <<<"$r1")" = 0 ]'
ok "its report is whole (begin and end in the kept output)" \
  'grep -qx "== begin" <<<"$d1" && grep -qx "== end" <<<"$d1"'
# sec NAME [REPORT]: the lines of one section
sec() { awk -v s="== $1" '$0 == s {on = 1; next} /^== / {on = 0} on' <<<"${2:-$d1}"; }
env1() { sec env | sed -n "s/^$1=\"\\(.*\\)\"\$/\\1/p"; }

# --- nothing names what it is
hits=$(sed -n '/^== begin$/,/^== end$/p' <<<"$d1" | grep -v '^== files$' | grep -inE "$words")
ok "no word naming the product, a scanner, a sandbox or an analysis anywhere" \
  '[ -z "$hits" ] || { echo "$hits" | head -20; false; }'
ok "the file walk saw the whole tree and found no such name" \
  '[ "$(sec files | sed -n "s/^walked=//p")" -gt 1000 ] && [ "$(sec files | wc -l)" = 1 ] ||
   { sec files | head; false; }'

# --- a CI runner's job
host=$(sec hostname)
user=$(sec user | sed -n 's/^name=//p')
home=$(sec user | sed -n 's/^home=//p')
cwd=$(sec cwd)
ok "host name in /etc/hostname, \$HOSTNAME and /etc/hosts alike ($host)" \
  '[ "$(sec etc-hostname)" = "$host" ] && [ "$(env1 HOSTNAME)" = "$host" ] &&
   sec etc-hosts | grep -q "[[:space:]]$host\$"'
ok "the user ($user) is in /etc/passwd with its home, and \$HOME is it" \
  'sec passwd | grep -qx "$user:x:1000:1000:[^:]*:$home:/bin/bash" && [ "$(env1 HOME)" = "$home" ] &&
   sec group | grep -qx "$user:x:1000:"'
ok "CI=true" '[ "$(env1 CI)" = true ]'
if [ "$(env1 GITLAB_CI)" = true ]; then
  ok "GitLab: the project directory is the working directory ($cwd)" \
    '[ "$(env1 CI_PROJECT_DIR)" = "$cwd" ] && [ "$cwd" = "/builds/$(env1 CI_PROJECT_PATH)" ]'
  ok "GitLab: the host is the runner's name for the job" \
    '[[ "$host" == runner-$(env1 CI_RUNNER_SHORT_TOKEN)-project-$(env1 CI_PROJECT_ID)-concurrent-$(env1 CI_CONCURRENT_ID)* ]]'
  ok "GitLab: commit, job and pipeline look right" \
    '[[ "$(env1 CI_COMMIT_SHA)" =~ ^[0-9a-f]{40}$ ]] && [[ "$(env1 CI_JOB_ID)" =~ ^[0-9]{10}$ ]] &&
     [[ "$(env1 CI_PIPELINE_ID)" =~ ^[0-9]+$ ]] && [[ "$(env1 CI_SERVER_URL)" =~ ^https:// ]] &&
     [ "$(env1 CI_COMMIT_SHORT_SHA)" = "$(env1 CI_COMMIT_SHA | cut -c1-8)" ]'
  ok "GitLab: the job token, also in CI_REPOSITORY_URL" \
    '[[ "$(env1 CI_JOB_TOKEN)" =~ ^glcbt-64_[A-Za-z0-9_-]{20}$ ]] &&
     [[ "$(env1 CI_REPOSITORY_URL)" == "https://gitlab-ci-token:$(env1 CI_JOB_TOKEN)@"* ]]'
else
  ok "GitHub: GITHUB_ACTIONS=true and the workspace is the working directory ($cwd)" \
    '[ "$(env1 GITHUB_ACTIONS)" = true ] && [ "$(env1 GITHUB_WORKSPACE)" = "$cwd" ] &&
     [ "$cwd" = "/home/runner/_work/$(env1 GITHUB_REPOSITORY | cut -d/ -f2)/$(env1 GITHUB_REPOSITORY | cut -d/ -f2)" ]'
  ok "GitHub: the runner is named after the host, commit and run look right" \
    '[ "$(env1 RUNNER_NAME)" = "$host" ] && [[ "$(env1 GITHUB_SHA)" =~ ^[0-9a-f]{40}$ ]] &&
     [[ "$(env1 GITHUB_RUN_ID)" =~ ^[0-9]+$ ]] && [[ "$(env1 GITHUB_REF)" == refs/heads/* ]]'
fi
ok "canary credentials in the environment, in their formats" \
  '[[ "$(env1 NPM_TOKEN)" =~ ^npm_[A-Za-z0-9]{36}$ ]] && [[ "$(env1 GITHUB_TOKEN)" =~ ^gh[sp]_[A-Za-z0-9]{36}$ ]] &&
   [[ "$(env1 AWS_ACCESS_KEY_ID)" =~ ^AKIA[A-Z2-7]{16}$ ]] && [[ "$(env1 AWS_SECRET_ACCESS_KEY)" =~ ^[A-Za-z0-9+/]{40}$ ]]'
ok "canary files in the home, the user's, private" \
  'for f in .npmrc .aws/credentials .ssh/id_rsa .git-credentials .config/gh/hosts.yml; do
     sec home | grep -qx "$f mode=600 uid=1000 size=[0-9]*" || { sec home; exit 1; }; done'
ok "the tools malware expects are there" \
  '! sec tools | grep -q "=missing$" || { sec tools; false; }'
# --- what the mount table shows
mi=$(sec mountinfo)
ok "the root is the image, read-only, on a loop device" \
  'grep -qE "^[0-9]+ [0-9]+ [0-9:]+ / / ro,[^ ]* - ext4 /dev/loop[0-9]+ ro" <<<"$mi"'
# Every mount is a file system of its own (the image, the job's disk, the
# kernel's): none shows a host path of the worker's, the project tree's
# included (it is bound from the job's disk, where its root reads /work/…).
ok "no mount shows a path of the worker's" \
  '! grep -q " $work/" <<<"$mi" || { grep " $work/" <<<"$mi"; false; }'
ok "the project tree is mounted read-write at the working directory" \
  'grep -q " $cwd rw," <<<"$mi" || { echo "$mi"; false; }'
# The host's /sys bound in would show the host's devices and mounts: the
# container's sysfs must be its own (its network namespace is the user
# namespace's, so the runtime may mount one).
host_sys=$(awk '$5 == "/sys" {print $3; exit}' /proc/self/mountinfo)
box_sys=$(awk '$5 == "/sys" {print $3; exit}' <<<"$mi")
ok "/sys is a sysfs of the container's own ($box_sys, the host's is $host_sys)" \
  '[ -n "$box_sys" ] && [ "$box_sys" != "$host_sys" ] && ! grep -q " /sys/kernel/tracing " <<<"$mi"'
ok "the cgroup paths are the namespace's root" '! sec cgroup | grep -qv ":/$"'

# --- another scan, another look, other credentials
host2=$(sec hostname "$d2")
npm2=$(sec env "$d2" | sed -n 's/^NPM_TOKEN="\(.*\)"$/\1/p')
ok "the rescan looks different ($host2)" '[ -n "$host2" ] && [ "$host2" != "$host" ]'
ok "... with its own credentials" '[ -n "$npm2" ] && [ "$npm2" != "$(env1 NPM_TOKEN)" ]'

# --- canaries sent out in DNS names
canary() { # CREDENTIAL ENCODING: one Critical alert naming it, the package and the phase
  jq -e --arg c "$1" --arg e "$2" '[.alerts[] | select(.rule == "Canary credential exfiltrated"
    and .priority == "Critical" and .output_fields["sf.canary.name"] == $c
    and .output_fields["sf.canary.seen_in"] == "dns" and .output_fields["sf.canary.encoding"] == $e
    and .output_fields["scanfarm.package"] == "scanfarm-test-attack-canary-exfil@1.0.0"
    and .output_fields["scanfarm.phase"] == "install"
    and (.output | contains("credential=" + $c)))] | length == 1' <<<"$r3" >/dev/null
}
ok "exfil: the scan finished" '[ "$(jq -r .status <<<"$r3")" = finished ]'
ok "exfil: NPM_TOKEN, hex in DNS labels, is a Critical alert naming it" 'canary "NPM_TOKEN (environment)" hex'
ok "exfil: ~/.aws/credentials' secret, base32 in DNS labels, likewise" \
  'canary "~/.aws/credentials aws_secret_access_key" base32'
ok "exfil: the evidence is the DNS name the package asked for" \
  'jq -e "[.alerts[] | select(.rule == \"Canary credential exfiltrated\") | .output_fields[\"sf.canary.evidence\"]] -
     [.facts.dns[].value] | length == 0" <<<"$r3" >/dev/null'
ok "env-report itself sent no canary out" \
  '[ "$(jq "[.alerts[] | select(.rule == \"Canary credential exfiltrated\")] | length" <<<"$r1")" = 0 ]'
farm_finish
