// Leaves a marker in its own directory: the project-scan test checks that
// no preinstall ran in the fetch phase (scripts are off there).
'use strict';
require('fs').writeFileSync(require('path').join(__dirname, 'preinstall-ran'), 'yes\n');
console.log('sf-tree-leaf: preinstall ran');
