export interface Item {
  id: number;
  name: string;
}

/** An in-memory store: enough for the example, replaced by a database in a real service. */
export class Store {
  readonly #items = new Map<number, Item>();

  constructor(initial: Item[] = []) {
    for (const item of initial) this.#items.set(item.id, item);
  }

  all(): Item[] {
    return [...this.#items.values()];
  }

  get(id: number): Item | undefined {
    return this.#items.get(id);
  }

  add(name: string): Item {
    const item = { id: this.#items.size + 1, name };
    this.#items.set(item.id, item);
    return item;
  }
}
