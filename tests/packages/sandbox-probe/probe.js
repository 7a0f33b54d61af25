// Reports facts about the environment the install runs in, one
// "PROBE key=value" line each. Harmless: the only network target is a
// TEST-NET-2 address that only the sandbox's own sinkhole answers (offline:
// no route).
const fs = require('fs');
const os = require('os');
const net = require('net');
const p = (k, v) => console.log(`PROBE ${k}=${v}`);
p('hostname', os.hostname());
p('uid', process.getuid());
p('pid', process.pid);
p('interfaces', Object.keys(os.networkInterfaces()).sort().join(','));
const nonce = fs.readFileSync('nonce.txt', 'utf8').trim();
fs.writeFileSync(`/tmp/scanfarm-marker-${nonce}`, 'written by the sandboxed install\n');
p('marker', fs.existsSync(`/tmp/scanfarm-marker-${nonce}`) ? 'written' : 'missing');
try { fs.writeFileSync('/etc/scanfarm-probe', 'x'); p('etc_write', 'ok'); }
catch (e) { p('etc_write', e.code); }
try { fs.writeFileSync('built.txt', 'x'); p('pkg_write', 'ok'); }
catch (e) { p('pkg_write', e.code); }
const caps = fs.readFileSync('/proc/self/status', 'utf8').match(/^CapEff:\s*(\S+)/m);
p('capeff', caps ? caps[1] : 'unknown');
const s = net.connect({ host: '198.51.100.7', port: 80 });
s.setTimeout(3000, () => { p('connect', 'TIMEOUT'); s.destroy(); });
s.on('connect', () => { p('connect', 'CONNECTED'); s.destroy(); });
s.on('error', (e) => p('connect', e.code));
