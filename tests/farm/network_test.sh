#!/usr/bin/env bash
# network_test — the install and import phases' network, end to end on a whole
# farm (PostgreSQL, coordinator, a worker with the eBPF sensor and rules/,
# crun): a two-stage downloader (tests/packages/attack-downloader) scanned in
# the sinkhole network, the default, and again with network=offline; a
# package asking for cloud metadata credentials (attack-cloud-metadata) in
# both. Checks what a user reads in the /v1 report:
#   sinkhole  the name it resolved and the address it got, the connection to
#             that address, the POST's request line, Host and JSON body, the
#             stage 2 fetched (GET) and executed, the TLS server name, a UDP
#             datagram's bytes, the
#             scan says it ran in the sinkhole; the verdict cache keeps the
#             two networks apart;
#   offline   every step fails (EAI_AGAIN), no sinkhole records, the scan says
#             offline;
#   both      the metadata addresses (and the name metadata.google.internal)
#             and the worker host's own address are unreachable, the attempts
#             alerted, and a listener outside the sandbox, on the host's
#             loopback and every address, hears nothing.
#   network_test.sh SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
farm_init network "$1" "$2" "$3"
lsn=
trap '[ -n "$lsn" ] && kill "$lsn" 2>/dev/null; farm_cleanup' EXIT
export SCANFARM_RULES=$src/rules
check() { local before=$failed; ok "$@"; [ "$failed" = "$before" ]; }

# A listener outside every sandbox, on all the host's addresses (TCP and
# UDP): whatever reaches it is a leak.
leak_port=$((port + 4))
python3 - "$leak_port" "$work/leak.log" <<'PY' &
import socket, sys, select
port, log = int(sys.argv[1]), sys.argv[2]
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("0.0.0.0", port)); t.listen(16)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", port))
open(log, "w").close()
while True:
    for s in select.select([t, u], [], [])[0]:
        with open(log, "a") as f:
            if s is t:
                c, a = t.accept(); f.write("tcp %s\n" % (a,)); c.close()
            else:
                d, a = u.recvfrom(65536); f.write("udp %s\n" % (a,))
PY
lsn=$!
host_ip=$(ip -4 -o addr show scope global | awk '{sub("/.*", "", $4); print $4; exit}')

"$src/scripts/farm.sh" up || { echo "FAIL - farm did not start"; exit 1; }

pack() { # NAME TEST_PACKAGE → $work/NAME.tgz
  mkdir -p "$work/pack/$1"
  cp -R "$src/tests/packages/$2" "$work/pack/$1/package"
  rm -f "$work/pack/$1/package/expect"
}
pack downloader attack-downloader
tar -czf "$work/downloader.tgz" -C "$work/pack/downloader" package
pack metadata attack-cloud-metadata
{
  echo "127.0.0.1:$leak_port"
  [ -n "$host_ip" ] && echo "$host_ip:$leak_port"
} >"$work/pack/metadata/package/targets.txt"
tar -czf "$work/metadata.tgz" -C "$work/pack/metadata" package

submit() { # FILE [QUERY] → the reply
  curl -s -H 'Content-Type: application/octet-stream' --data-binary @"$1" "$url/v1/scans${2:+?$2}"
}
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/octet-stream' \
  --data-binary @"$work/downloader.tgz" "$url/v1/scans?network=internet")
ok "network=internet: 400" '[ "$code" = 400 ]'

declare -A id
id[sink]=$(submit "$work/downloader.tgz" | jq -r .id)
id[meta_sink]=$(submit "$work/metadata.tgz" | jq -r .id)
off_reply=$(submit "$work/downloader.tgz" "network=offline")
id[off]=$(jq -r .id <<<"$off_reply")
id[meta_off]=$(submit "$work/metadata.tgz" "network=offline" | jq -r .id)
ok "four scans submitted" '[ ${#id[sink]} -eq 36 ] && [ ${#id[off]} -eq 36 ] && [ ${#id[meta_sink]} -eq 36 ] && [ ${#id[meta_off]} -eq 36 ]'
ok "the offline submission of the same bytes is a scan of its own" \
  '[ "${id[off]}" != "${id[sink]}" ] && [ "$(jq -r .cached <<<"$off_reply")" = false ]'

declare -A rep
outcome() { jq -r '"\(.status) \(.install.exit_status)"' <<<"$1"; }
for s in sink off meta_sink meta_off; do
  wait_scan "${id[$s]}" >/dev/null
  rep[$s]=$(curl -s "$url/v1/scans/${id[$s]}")
  [ -n "${SF_NETWORK_TEST_KEEP:-}" ] && echo "${rep[$s]}" >"$SF_NETWORK_TEST_KEEP.$s.json"
  check "$s: finished, install exited 0 ($(outcome "${rep[$s]}"))" \
    '[ "$(outcome "${rep[$s]}")" = "finished 0" ]' ||
    jq -r '"    \(.reason)\n    stdout: \(.install.stdout_tail)\n    stderr: \(.install.stderr_tail)"' <<<"${rep[$s]}"
done
pkg=scanfarm-test-attack-downloader@1.0.0

# --- the sinkhole (the default)
r=${rep[sink]}
out=$(jq -r .install.stdout_tail <<<"$r")
step() { sed -n "s/^DOWNLOADER $1=//p" <<<"$out"; }
fact() { jq -e "$1" <<<"$r" >/dev/null; }
addr=$(step resolve)
ok "sinkhole: the scan says so (network=$(jq -r .network <<<"$r"), asked for: $(jq -r .network_requested <<<"$r"))" \
  '[ "$(jq -r .network <<<"$r")" = sinkhole ] && [ "$(jq -r .network_requested <<<"$r")" = null ]'
ok "sinkhole: the name resolved to a sinkhole address ($addr)" '[[ "$addr" == 198.18.* ]]'
ok "sinkhole: the POST was answered 200, the stage 2 ran" '[ "$(step report)" = 200 ] && [ "$(step stage2)" = ran ]'
ok "sinkhole: the TLS handshake reached the sinkhole and was refused ($(step tls))" \
  '[ -n "$(step tls)" ] && [ "$(step tls)" != timeout ] && [ "$(step tls)" != EAI_AGAIN ]'
ok "sinkhole: the question, its type and the answer are a fact" \
  'fact ".facts.dns_query[] | select(.value == \"collect.attacker.example\" and .detail == \"A $addr\" and .package == \"$pkg\" and .phase == \"install\")"'
ok "sinkhole: the connection to that address is a fact (succeeded)" \
  'fact ".facts.connect[] | select(.value == \"$addr:80/tcp\" and .detail == \"succeeded\" and .package == \"$pkg\")"'
ok "sinkhole: the POST's request line and Host" \
  'fact ".facts.http_request[] | select(.value == \"POST /report HTTP/1.1\" and (.detail | startswith(\"host=collect.attacker.example dest=$addr:80/tcp (collect.attacker.example)\")) and .package == \"$pkg\" and .phase == \"install\")"'
ok "sinkhole: the JSON body it sent, in the connection's preview" \
  'fact ".facts.tcp_data[] | select(.value == \"$addr:80/tcp\" and (.detail | contains(\"{\\\"marker\\\":\\\"sf-downloader-report\\\"\")) and .package == \"$pkg\")"'
ok "sinkhole: the stage 2 download" \
  'fact ".facts.http_request[] | select(.value == \"GET /stage2.sh HTTP/1.1\" and (.detail | startswith(\"host=stage2.attacker.example \")))"'
ok "sinkhole: the stage 2 it fetched was executed (a process of the package)" \
  'fact "[.facts.process[] | select(.package == \"$pkg\" and (.detail | contains(\"/tmp/.sf-stage2.sh\")))] | length > 0"'
ok "sinkhole: the TLS server name" \
  'fact ".facts.tls_hello[] | select(.value == \"tls.attacker.example\" and (.detail | endswith(\":443/tcp (tls.attacker.example)\")) and .package == \"$pkg\")"'
ok "sinkhole: the UDP beacon, its bytes and its sender" \
  '[ "$(step beacon)" = sent ] && fact ".facts.udp_data[] | select(.value == \"203.0.113.9:5555/udp\" and (.detail | contains(\"sf-downloader-beacon\")) and .package == \"$pkg\")"'
alert() { jq -e --arg rule "$1" --arg re "$2" 'any(.alerts[]; .rule == $rule and (.output | test($re)) and .output_fields["scanfarm.package"] == "'"$pkg"'")' <<<"$r" >/dev/null; }
ok "sinkhole: \"Data sent out during install\" shows the JSON body" \
  'alert "Data sent out during install" "request=POST /report HTTP/1.1 host=collect.attacker.example .*sf-downloader-report"'
ok "sinkhole: \"Execution of file dropped outside package tree\" for the stage 2" \
  'alert "Execution of file dropped outside package tree" "sf-stage2"'
ok "sinkhole: \"TLS connection seen by the sinkhole\" names the server" \
  'alert "TLS connection seen by the sinkhole" "sni=tls.attacker.example"'
ok "sinkhole: \"Outbound connection attempt\" names the host behind the address" \
  'alert "Outbound connection attempt" "name=collect.attacker.example"'

# --- the same package offline: the failure path
r=${rep[off]}
out=$(jq -r .install.stdout_tail <<<"$r")
ok "offline: the scan says so" '[ "$(jq -r .network <<<"$r")" = offline ] && [ "$(jq -r .network_requested <<<"$r")" = offline ]'
ok "offline: every step failed ($(step resolve) $(step report) $(step stage2) $(step tls) $(step beacon))" \
  '[ "$(step resolve)" = EAI_AGAIN ] && [ "$(step report)" = EAI_AGAIN ] && [ "$(step stage2)" = EAI_AGAIN ] && [ "$(step tls)" = EAI_AGAIN ] && [ "$(step beacon)" = ENETUNREACH ]'
ok "offline: the questions are still facts (the sensor's)" \
  'fact ".facts.dns[] | select(.value == \"collect.attacker.example\")"'
ok "offline: no sinkhole records, no stage 2" \
  '[ "$(jq "[.facts.dns_query, .facts.http_request, .facts.tls_hello, .facts.tcp_data] | map(length) | add" <<<"$r")" = 0 ] && ! grep -q sf-stage2 <<<"$(jq -c .facts.process <<<"$r")"'

# --- the verdict cache keeps networks apart
again=$(submit "$work/downloader.tgz" "network=sinkhole")
ok "network=sinkhole is answered by the default scan that ran in the sinkhole" \
  '[ "$(jq -r .id <<<"$again")" = "${id[sink]}" ] && [ "$(jq -r .cached <<<"$again")" = true ]'
again=$(submit "$work/downloader.tgz" "network=offline")
ok "network=offline is answered by the offline scan" \
  '[ "$(jq -r .id <<<"$again")" = "${id[off]}" ] && [ "$(jq -r .cached <<<"$again")" = true ]'

# --- the CLI passes the network too
"$build/cli/scanfarm" --server "$url" --network offline scan "$work/downloader.tgz" >"$work/cli.json" 2>"$work/cli.err"
cli_rc=$?
ok "scanfarm --network offline scan: the offline scan's report, its alerts exit 1 ($cli_rc)" \
  '[ "$(jq -r .id "$work/cli.json")" = "${id[off]}" ] && [ "$(jq -r .network "$work/cli.json")" = offline ] && [ "$cli_rc" = 1 ]'
"$build/cli/scanfarm" --server "$url" --network internet scan "$work/downloader.tgz" >/dev/null 2>&1
cli_rc=$?
ok "scanfarm --network internet: a usage error ($cli_rc)" '[ "$cli_rc" = 64 ]'

# --- cloud metadata and the worker host, in both networks
for s in meta_sink meta_off; do
  r=${rep[$s]}
  out=$(jq -r .install.stdout_tail <<<"$r")
  mstep() { sed -n "s/^METADATA $1=//p" <<<"$out"; }
  want=EHOSTUNREACH; [ $s = meta_off ] && want=ENETUNREACH
  ok "$s: 169.254.169.254 and fd00:ec2::254 unreachable ($(mstep 169.254.169.254), $(mstep '\[fd00:ec2::254\]'))" \
    '[ "$(mstep 169.254.169.254)" = $want ] && [ "$(mstep "\[fd00:ec2::254\]")" = $want ]'
  ok "$s: \"Cloud metadata service contacted\" raised (Critical)" \
    'jq -e "any(.alerts[]; .rule == \"Cloud metadata service contacted\" and .priority == \"Critical\" and (.output | contains(\"169.254.169.254\")))" <<<"$r" >/dev/null'
  ok "$s: the attempt is a fact" \
    'jq -e ".facts.connect[] | select(.value == \"169.254.169.254:80/tcp\" and .detail == \"$want\")" <<<"$r" >/dev/null'
  ok "$s: the loopback port is the sandbox's own ($(mstep "127.0.0.1:$leak_port"))" \
    '[ "$(mstep "127.0.0.1:$leak_port")" = ECONNREFUSED ]'
  if [ -n "$host_ip" ]; then
    ok "$s: the worker host's address $host_ip unreachable, \"Worker host address contacted\" raised" \
      '[ "$(mstep "$host_ip:$leak_port")" = $want ] && jq -e "any(.alerts[]; .rule == \"Worker host address contacted\" and (.output | contains(\"$host_ip\")))" <<<"$r" >/dev/null'
  fi
done
r=${rep[meta_sink]}
out=$(jq -r .install.stdout_tail <<<"$r")
ok "meta_sink: metadata.google.internal resolves to the metadata address, which does not answer ($(mstep metadata.google.internal))" \
  '[ "$(mstep metadata.google.internal)" = EHOSTUNREACH ] && jq -e ".facts.dns_query[] | select(.value == \"metadata.google.internal\" and .detail == \"A 169.254.169.254\")" <<<"$r" >/dev/null'
ok "meta_off: metadata.google.internal does not resolve" \
  '[ "$(sed -n "s/^METADATA metadata.google.internal=//p" <<<"$(jq -r .install.stdout_tail <<<"${rep[meta_off]}")")" = EAI_AGAIN ]'

# --- nothing left any sandbox
ok "the listener outside the sandboxes heard nothing" '[ -f "$work/leak.log" ] && [ ! -s "$work/leak.log" ]'

"$src/scripts/farm.sh" down >/dev/null 2>&1
ok "no sanitizer findings in the daemons' logs" '! grep -E "Sanitizer|runtime error:" "$work/log/"*.log'
farm_finish
