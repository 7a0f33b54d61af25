// Acts only when required (no install scripts): spawns `sh -c id` and opens
// a TCP connection to 198.51.100.24:8443 (TEST-NET-2: only the sandbox's own
// sinkhole answers it; offline, no route). Nothing is sent.
'use strict';
const cp = require('child_process');
const net = require('net');
try { cp.execSync('sh -c id', { stdio: 'ignore', timeout: 3000 }); } catch (e) { /* ignore */ }
const s = net.connect({ host: '198.51.100.24', port: 8443 });
s.setTimeout(2000, () => s.destroy());
s.on('connect', () => s.destroy());
s.on('error', () => {});
module.exports = 'payload';
