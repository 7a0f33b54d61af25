'use strict';
const fs = require('fs');
const net = require('net');
net.connect({ host: '198.51.100.7', port: 80 }).on('error', () => {});
function fill(path, mib) {
  const chunk = Buffer.alloc(1 << 20, 0x61);
  const fd = fs.openSync(path, 'w');
  let n = 0;
  try {
    for (; n < mib; n++) fs.writeSync(fd, chunk);
  } catch (e) {
    console.log(`${path}: ${e.code} after ${n} MiB`);
  }
  fs.closeSync(fd);
  return n;
}
const work = fill('fill.bin', 3000);
const tmp = fill('/tmp/fill.bin', 100);
console.log(`limit-disk-fill: wrote ${work} MiB to the package, ${tmp} MiB to /tmp`);
