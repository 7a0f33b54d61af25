// Simulates a bind shell / backdoor listener started by an install script,
// waiting for the attacker to connect in.
// What this does instead, harmlessly: it listens on 0.0.0.0:31337 inside the
// sandbox's loopback-only network namespace, answers any connection by
// closing it, and stops after half a second.
'use strict';
const net = require('net');
const os = require('os');

if (!require('fs').existsSync(require('path').join(__dirname, 'armed'))) {
  console.log("attack-listener: not armed by scanfarm's tests, doing nothing");
  process.exit(0);
}
const srv = net.createServer((c) => c.destroy());
srv.on('error', (e) => console.log(`attack-listener: listen ${e.code}`));
srv.listen(31337, '0.0.0.0', () => {
  console.log('attack-listener: listening on 0.0.0.0:31337');
  setTimeout(() => srv.close(), 500);
});
