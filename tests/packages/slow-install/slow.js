console.log('slow-install started');
setTimeout(() => console.log('slow-install done'), 4000);
