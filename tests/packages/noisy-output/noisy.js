// 300 MiB of output, written as fast as the reader takes it (waiting for
// 'drain' like any well-behaved writer), then a NUL in a line, then DONE.
'use strict';
const chunk = 'x'.repeat(1 << 20) + '\n';
let n = 0;
function more() {
  while (n < 300) {
    n++;
    if (!process.stdout.write(chunk)) { process.stdout.once('drain', more); return; }
  }
  process.stdout.write('before-nul\0after-nul: still here\nnoisy-output: DONE\n');
}
more();
