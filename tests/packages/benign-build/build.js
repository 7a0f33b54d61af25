// A typical "build on install" step, confined to the package's own directory:
// reads its sources, writes build/out.js through a temporary file and a
// rename, keeps a cache file it deletes again, and produces a small helper
// program (here a copy of the system's `true`, standing in for a native
// build's output) that check.sh runs.
'use strict';
const fs = require('fs');
const path = require('path');

const src = path.join(__dirname, 'src');
const out = path.join(__dirname, 'build');
fs.mkdirSync(path.join(out, '.cache'), { recursive: true });

const parts = fs.readdirSync(src).sort().map((f) => fs.readFileSync(path.join(src, f), 'utf8'));
const tmp = path.join(out, 'out.js.tmp');
fs.writeFileSync(tmp, `// built at install time\n${parts.join('\n')}`);
fs.renameSync(tmp, path.join(out, 'out.js'));

const cache = path.join(out, '.cache', 'stamp');
fs.writeFileSync(cache, String(Date.now()));
fs.unlinkSync(cache);

fs.copyFileSync('/bin/true', path.join(out, 'helper'));
fs.chmodSync(path.join(out, 'helper'), 0o755);
console.log(`benign-build: built ${path.relative(__dirname, path.join(out, 'out.js'))}`);
