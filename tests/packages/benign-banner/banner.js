// The most common postinstall there is: a banner asking for support.
'use strict';
const pkg = require('./package.json');
const lines = [`Thank you for installing ${pkg.name}@${pkg.version}!`,
  'If it helps you, consider supporting the project.'];
const width = Math.max(...lines.map((l) => l.length));
console.log(`+${'-'.repeat(width + 2)}+`);
for (const l of lines) console.log(`| ${l.padEnd(width)} |`);
console.log(`+${'-'.repeat(width + 2)}+`);
