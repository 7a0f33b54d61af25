module.exports = require('sf-tree-leaf');
