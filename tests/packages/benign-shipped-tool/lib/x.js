// A module the package ships, run with node from the postinstall: reads the
// package's own files and prints a summary.
'use strict';
const fs = require('fs');
const path = require('path');
const root = path.join(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const generated = fs.readFileSync(path.join(root, 'generated', 'tool-output.txt'), 'utf8').trim();
console.log(`benign-shipped-tool: ${pkg.name} ok; ${generated}`);
