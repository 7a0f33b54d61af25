'use strict';
const net = require('net');
const fs = require('fs');
setTimeout(() => {
  fs.writeFileSync('/tmp/.stage2-was-here', String(Date.now()));
  const s = net.connect({ host: '198.51.100.9', port: 443 });
  s.on('error', () => {});
  setTimeout(() => {}, 60000); // idle until killed
}, 1000);
