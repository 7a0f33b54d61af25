// Prints what an install can see of where it runs, section by section
// ("== name" then the lines), between "== begin" and "== end", so a test
// can read it out of the install's output and look for words that would
// give the machine away. Reads no secret: files in the home are only
// stat()ed. Harmless: it writes nothing and connects nowhere.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const cp = require('child_process');

const out = [];
const section = (name, lines) => { out.push(`== ${name}`); for (const l of lines) out.push(l); };
const read = (f) => { try { return fs.readFileSync(f, 'utf8').split('\n').filter(Boolean); } catch (e) { return [`(${e.code})`]; } };

// Names of files not installed by a Debian package nor by the rootfs's
// pnpm (what every image of this kind holds), below the directories an
// install can see; byte-code caches Python writes for Debian's .py files
// count as the package's.
function ownedByPackages() {
  const owned = new Set();
  const dir = '/var/lib/dpkg/info';
  for (const f of fs.readdirSync(dir)) {
    if (!f.endsWith('.list')) continue;
    for (const l of read(path.join(dir, f))) owned.add(l);
  }
  return owned;
}
function walk(root, owned, names, skip) {
  let entries;
  try { entries = fs.readdirSync(root, { withFileTypes: true }); } catch (e) { return; }
  for (const e of entries) {
    const p = path.join(root, e.name);
    if (skip.has(p)) continue;
    const pyc = p.replace(/\/__pycache__\/([^/]+)\.cpython-\d+\.pyc$/, '/$1.py');
    if (!owned.has(p) && !owned.has(pyc) && !p.startsWith('/usr/local/lib/node_modules/pnpm/'))
      names.push(p);
    if (e.isDirectory()) walk(p, owned, names, skip);
  }
}

const me = os.userInfo();
section('begin', []);
section('hostname', [os.hostname()]);
section('etc-hostname', read('/etc/hostname'));
section('etc-hosts', read('/etc/hosts'));
section('user', [`name=${me.username}`, `uid=${me.uid}`, `gid=${me.gid}`, `home=${me.homedir}`, `shell=${me.shell}`]);
section('cwd', [process.cwd()]);
section('env', Object.keys(process.env).sort().map((k) => `${k}=${JSON.stringify(process.env[k])}`));
section('mountinfo', read('/proc/self/mountinfo'));
section('cgroup', read('/proc/self/cgroup').concat(read('/proc/1/cgroup')));
section('pid1', [fs.readFileSync('/proc/1/cmdline', 'latin1').replace(/\0/g, ' ').slice(0, 200)]);
section('passwd', read('/etc/passwd'));
section('group', read('/etc/group'));
const home = os.homedir();
const st = (f) => { try { const s = fs.lstatSync(path.join(home, f)); return `${f} mode=${(s.mode & 0o7777).toString(8)} uid=${s.uid} size=${s.size}`; } catch (e) { return `${f} ${e.code}`; } };
section('home', ['.npmrc', '.aws/credentials', '.aws/config', '.ssh/id_rsa', '.ssh/id_rsa.pub',
  '.git-credentials', '.gitconfig', '.config/gh/hosts.yml', '.bashrc', '.profile'].map(st));
const tools = ['curl', 'wget', 'git', 'python3', 'make', 'g++', 'gcc', 'ps', 'node', 'npm'];
section('tools', tools.map((t) => {
  const r = cp.spawnSync('sh', ['-c', `command -v ${t}`], { encoding: 'utf8' });
  return `${t}=${r.status === 0 ? r.stdout.trim() : 'missing'}`;
}));
// Every name is walked, but only those holding one of the words the test
// put in words.txt are printed (the install's output keeps 16 KiB).
const words = read('words.txt').map((w) => w.toLowerCase());
const names = [];
walk('/', ownedByPackages(), names, new Set(['/proc', '/sys', '/dev', path.join(process.cwd(), 'words.txt')]));
section('files', [`walked=${names.length}`].concat(names.filter((n) => words.some((w) => n.toLowerCase().includes(w)))));
section('end', []);
console.log(out.join('\n'));
