# Simulates the credential harvesting of the Nx "s1ngularity" (August 2025)
# and Shai-Hulud (September 2025) payloads, which searched the home directory
# for SSH keys, cloud credentials and tokens, and uploaded what they found.
# What this does instead, harmlessly: it plants FAKE files in the sandbox's
# throw-away HOME (/tmp), searches for them with find, reads them, and tries
# files that do not exist (a failed open is reported too). It sends nothing.
[ "$(uname -n)" = scanfarm-sandbox ] || { echo "attack-credential-harvest: not in the scanfarm sandbox, doing nothing"; exit 0; }
mkdir -p "$HOME/.ssh" "$HOME/.aws"
echo "FAKE KEY (scanfarm test)" >"$HOME/.ssh/id_rsa"
echo "FAKE KEY (scanfarm test)" >"$HOME/.ssh/id_ed25519"
printf '[default]\naws_access_key_id = AKIAFAKE0SCANFARM0TEST\n' >"$HOME/.aws/credentials"
echo "https://scanner:fake-password@example.invalid" >"$HOME/.git-credentials"
find "$HOME" -maxdepth 2 -name 'id_rsa*' 2>/dev/null
for f in .ssh/id_rsa .ssh/id_ed25519 .aws/credentials .git-credentials .kube/config \
  .docker/config.json .config/gcloud/credentials.db .netrc .config/gh/hosts.yml; do
  cat "$HOME/$f" >/dev/null 2>&1
done
cat /etc/shadow >/dev/null 2>&1
echo "attack-credential-harvest: done"
exit 0
