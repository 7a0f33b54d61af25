# Simulates the credential harvesting of the Nx "s1ngularity" (August 2025)
# and Shai-Hulud (September 2025) payloads, which searched the home directory
# for SSH keys, cloud credentials and tokens, and uploaded what they found.
# What this does instead, harmlessly: it searches the home directory with find
# and reads what it finds (the job's own home, whose keys and tokens are
# worthless canaries) and files that do not exist (a failed open is reported
# too). It sends nothing.
[ -f "$(dirname "$0")/armed" ] || { echo "attack-credential-harvest: not armed by scanfarm's tests, doing nothing"; exit 0; }
find "$HOME" -maxdepth 2 -name 'id_rsa*' 2>/dev/null
for f in .ssh/id_rsa .ssh/id_ed25519 .aws/credentials .git-credentials .kube/config \
  .docker/config.json .config/gcloud/credentials.db .netrc .config/gh/hosts.yml; do
  cat "$HOME/$f" >/dev/null 2>&1
done
cat /etc/shadow >/dev/null 2>&1
echo "attack-credential-harvest: done"
exit 0
