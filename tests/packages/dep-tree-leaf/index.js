module.exports = 'leaf';
