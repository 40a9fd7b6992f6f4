import type { Request, Response } from 'express';
import { Store, type Item } from './store';

const store = new Store([{ id: 1, name: 'first' }]);

export function listItems(_req: Request, res: Response<Item[]>): void {
  res.json(store.all());
}

export function getItem(req: Request<{ id: string }>, res: Response<Item | { error: string }>): void {
  const item = store.get(Number(req.params.id));
  if (item === undefined) res.status(404).json({ error: 'not found' });
  else res.json(item);
}

export function createItem(req: Request<unknown, Item, { name?: unknown }>, res: Response<Item>): void {
  res.status(201).json(store.add(String(req.body?.name ?? '')));
}
