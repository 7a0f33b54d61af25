// Simulates the credential theft of packages that, once installed on a cloud
// CI runner, ask the instance metadata service for the runner's IAM role keys
// or service-account token (169.254.169.254, AWS's fd00:ec2::254, GCP's
// metadata.google.internal) and send them on.
// What this does instead, harmlessly: it acts only where the network has no
// interface but loopback, i.e. in a sandbox, whose network makes every
// metadata address unreachable; each request fails and nothing is sent
// anywhere. It prints "METADATA target=outcome" per attempt. A file
// targets.txt, if present, names more places to try, host or host:port one
// a line (the scan test names the worker host's own address and a port on
// loopback that a listener outside the sandbox waits on: neither is
// reachable from inside).
'use strict';
const fs = require('fs');
const http = require('http');
const os = require('os');

if (Object.keys(os.networkInterfaces()).join(',') !== 'lo') {
  console.log('attack-cloud-metadata: not in a sandbox network, doing nothing');
  process.exit(0);
}
const targets = ['169.254.169.254', '[fd00:ec2::254]', 'metadata.google.internal'];
try {
  targets.push(...fs.readFileSync('targets.txt', 'utf8').split('\n').filter((l) => l.trim()));
} catch (e) { /* none */ }
const one = (target) => new Promise((done) => {
  const m = target.trim().match(/^\[?([^\]]+?)\]?(?::(\d+))?$/);
  const req = http.get({ host: m[1], port: m[2] ? Number(m[2]) : 80,
    path: '/latest/meta-data/iam/security-credentials/', timeout: 3000,
    headers: { 'Metadata-Flavor': 'Google' } }, (res) => {
    console.log(`METADATA ${target}=answered ${res.statusCode}`); res.resume(); done();
  });
  req.on('error', (e) => { console.log(`METADATA ${target}=${e.code}`); done(); });
  req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
});
targets.reduce((p, t) => p.then(() => one(t)), Promise.resolve()).then(() => process.exit(0));
