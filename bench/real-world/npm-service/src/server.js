'use strict';
// A small JSON API: express, its routes in routes.js, a health check for the orchestrator.
const express = require('express');
const { routes } = require('./routes');

const app = express();
app.disable('x-powered-by');
app.use(express.json({ limit: '64kb' }));
app.get('/healthz', (_req, res) => res.json({ ok: true }));
app.use('/api', routes());

const port = Number(process.env.PORT ?? 3000);
if (require.main === module) {
  app.listen(port, () => console.log(`listening on ${port}`));
}
module.exports = { app };
