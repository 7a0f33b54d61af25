'use strict';
console.log('limit-timeout: waiting');
setTimeout(() => console.log('limit-timeout: done'), 600000);
