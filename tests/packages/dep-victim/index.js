module.exports = 'victim, untouched';
