# Simulates the persistence malicious postinstalls plant so that they run
# again after the install: a line appended to ~/.bashrc (runs in every new
# shell), an SSH key added to ~/.ssh/authorized_keys, and a cron job.
# What this does instead, harmlessly: HOME is the job's own, thrown away with
# it, the appended line only echoes, the key is a fake, and /etc is read-only
# in the sandbox, so the cron file is never created (EROFS): the attempt is
# what gets reported.
[ -f "$(dirname "$0")/armed" ] || { echo "attack-persistence: not armed by scanfarm's tests, doing nothing"; exit 0; }
echo 'echo "scanfarm test: this line would run in every new shell"' >>"$HOME/.bashrc"
mkdir -p "$HOME/.ssh"
echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE scanfarm-test' \
  >>"$HOME/.ssh/authorized_keys"
echo "* * * * * $(id -un) /tmp/.cache/update" 2>/dev/null >/etc/cron.d/scanfarm-test ||
  echo "attack-persistence: /etc/cron.d is not writable, as expected"
exit 0
