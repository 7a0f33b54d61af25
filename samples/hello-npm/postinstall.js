// Ordinary postinstall behaviour: print a banner and write a file inside the
// package's own directory. Nothing here should raise an alert.
const fs = require('fs');
const os = require('os');
fs.writeFileSync('build-info.json', JSON.stringify({ built: true, node: process.version }));
console.log(`scanfarm-sample-hello installed on ${os.hostname()} as uid ${process.getuid()}`);
