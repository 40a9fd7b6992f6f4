import type { SQLOutputValue } from 'node:sqlite';

/** One row as node:sqlite returns it. */
export type Row = Record<string, SQLOutputValue>;

export function str(row: Row, column: string): string {
  const value = row[column];
  if (typeof value !== 'string') throw new Error(`cache.db: column ${column} is not text`);
  return value;
}

export function num(row: Row, column: string): number {
  const value = row[column];
  if (typeof value === 'bigint') return Number(value);
  if (typeof value !== 'number') throw new Error(`cache.db: column ${column} is not a number`);
  return value;
}

/** JSON this database's own code wrote (never outside input), read back. */
export function parseJson<T>(text: string): T {
  return JSON.parse(text) as T;
}
