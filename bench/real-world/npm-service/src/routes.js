'use strict';
const express = require('express');

const items = new Map([[1, { id: 1, name: 'first' }]]);

function routes() {
  const r = express.Router();
  r.get('/items', (_req, res) => res.json([...items.values()]));
  r.get('/items/:id', (req, res) => {
    const item = items.get(Number(req.params.id));
    if (item === undefined) return res.status(404).json({ error: 'not found' });
    return res.json(item);
  });
  r.post('/items', (req, res) => {
    const id = items.size + 1;
    const item = { id, name: String(req.body?.name ?? '') };
    items.set(id, item);
    res.status(201).json(item);
  });
  return r;
}

module.exports = { routes };
