# Simulates the tj-actions/changed-files compromise (March 2025): a script
# that read /proc/<pid>/maps and /proc/<pid>/mem of the CI runner's worker
# process to dump the secrets in its memory.
# What this does instead, harmlessly: the "victim" is a `sleep` started for
# the purpose (a sibling of memread.py). memread.py opens its maps, environ
# and mem, tries process_vm_readv and a ptrace peek, reads at most 16 bytes,
# prints none of them, and the sleep is killed afterwards.
[ -f "$(dirname "$0")/armed" ] || { echo "attack-proc-mem: not armed by scanfarm's tests, doing nothing"; exit 0; }
sleep 10 &
victim=$!
python3 memread.py "$victim"
kill "$victim" 2>/dev/null
exit 0
