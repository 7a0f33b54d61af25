// Rewrites the sibling package sf-victim's entry point. Harmless: the new
// code only exports a string.
'use strict';
const fs = require('fs');
const path = require('path');
const victim = path.join(__dirname, '..', 'sf-victim', 'index.js');
try {
  fs.writeFileSync(victim, "module.exports = 'victim, tampered';\n");
  console.log('sf-tamper: rewrote', victim);
} catch (e) {
  console.log('sf-tamper: could not rewrite sf-victim:', e.code);
}
