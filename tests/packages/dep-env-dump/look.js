// Searches what an install script can read for the private-registry test's
// token (it starts with a fixed prefix, below, split so this file's own
// text never matches). Prints one line; sends nothing anywhere.
const fs = require('fs');
const os = require('os');
const path = require('path');

const prefix = 'sf' + 'test-';
let sources = 0;
const seen = [];

function look(where, text) {
  sources++;
  if (text && text.includes(prefix)) seen.push(where);
}
function lookFile(file) {
  try { look(file, fs.readFileSync(file, 'utf8')); } catch (e) { /* absent or unreadable */ }
}

look('environment', JSON.stringify(process.env));
const dirs = [os.homedir(), '/tmp', process.cwd(), process.env.INIT_CWD || '', '/work', '/root'];
for (const d of dirs) if (d) lookFile(path.join(d, '.npmrc'));
for (const f of ['/etc/npmrc', '/usr/etc/npmrc', '/usr/share/nodejs/npm/npmrc', '/usr/lib/node_modules/npm/npmrc'])
  lookFile(f);
for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
  lookFile(`/proc/${pid}/cmdline`);
  lookFile(`/proc/${pid}/environ`);
}
console.log(seen.length
  ? `sf-env-dump: credential seen in ${seen.join(', ')}`
  : `sf-env-dump: no credential in ${sources} places`);
