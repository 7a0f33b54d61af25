module.exports = 'tamper';
