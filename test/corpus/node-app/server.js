require('./src/routes');
