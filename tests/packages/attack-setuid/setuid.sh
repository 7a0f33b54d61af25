# Simulates a setuid backdoor: a copy of a shell with the setuid (or setgid)
# bit, left behind to regain privileges later.
# What this does instead, harmlessly: the copy belongs to the unprivileged
# sandbox user, lives in the throw-away /tmp, which is mounted nosuid, so the
# bits grant nothing. chmod(1) sets setuid (fchmodat), node sets setgid
# (chmod).
[ -f "$(dirname "$0")/armed" ] || { echo "attack-setuid: not armed by scanfarm's tests, doing nothing"; exit 0; }
cp /bin/sh /tmp/.rootshell
chmod 4755 /tmp/.rootshell
node -e "require('fs').chmodSync('/tmp/.rootshell', 0o2755)"
echo "attack-setuid: mode of /tmp/.rootshell is $(stat -c %a /tmp/.rootshell)"
exit 0
