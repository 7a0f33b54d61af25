// Starts a detached, unref'd child and returns at once, as droppers do so
// the install finishes normally. The child waits a second (the install has
// ended by then), then "phones home" to a TEST-NET address (unreachable in
// the sandbox: nothing is sent anywhere), drops a file, and idles.
'use strict';
const { spawn } = require('child_process');
const child = spawn(process.execPath, [require.resolve('./stage2.js')], {
  detached: true,
  stdio: 'ignore',
});
child.unref();
console.log('attack-detached: started pid', child.pid, 'and left');
