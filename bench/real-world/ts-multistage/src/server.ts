// A small typed JSON API: express, handlers in handlers.ts, a health check for the orchestrator.
import express from 'express';
import { createItem, getItem, listItems } from './handlers';

export const app = express();
app.disable('x-powered-by');
app.use(express.json({ limit: '64kb' }));
app.get('/healthz', (_req, res) => { res.json({ ok: true }); });
app.get('/api/items', listItems);
app.get('/api/items/:id', getItem);
app.post('/api/items', createItem);

const port = Number(process.env.PORT ?? 3000);
if (require.main === module) {
  app.listen(port, () => console.log(`listening on ${port}`));
}
