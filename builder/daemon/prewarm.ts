import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

// What a warm process of `tsbuild daemon` does before its request arrives: the first-use costs every build pays that
// depend on nothing the request brings (bench/RESULTS.md, "The no-op through `tsbuild daemon`", measures each).
// Nothing here reads the environment, the cwd or the user's files, opens a root, or draws random numbers.

/** Loads and exercises undici's request path and node:sqlite; failures only cost the request the time saved. */
export async function prewarm(): Promise<void> {
  const skip = new Set((process.env['TSBUILD_DAEMON_PREWARM_SKIP'] ?? '').split(','));
  try {
    if (!skip.has('http')) await warmHttp();
    if (!skip.has('sqlite')) await warmSqlite();
  } catch (err) {
    process.stderr.write(`tsbuild daemon: pre-warming stopped: ${String(err)}\n`);
  }
}

// undici's Agent → Pool → Client path and llhttp's wasm, compiled at the first connection (most of a no-op build's
// ~13 ms tag check), by one request to a server of our own on the loopback, closed at once.
async function warmHttp(): Promise<void> {
  const { Agent, request } = await import('undici');
  const server = createServer((_req, res) => { res.setHeader('content-type', 'application/json'); res.end('{}'); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const agent = new Agent();
  try {
    const { port } = server.address() as AddressInfo;
    const res = await request(`http://127.0.0.1:${port}/v2/`, { dispatcher: agent, headers: { accept: 'application/json' } });
    await res.body.json();
  } finally {
    await agent.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

// node:sqlite's module and a database's first statements (the root's cache.db is opened on every build).
async function warmSqlite(): Promise<void> {
  const { DatabaseSync } = await import('node:sqlite');
  const db = new DatabaseSync(':memory:');
  try {
    db.exec('PRAGMA journal_mode=WAL; CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB) STRICT');
    db.prepare('INSERT INTO t VALUES (?, ?)').run('k', Buffer.from('v'));
    db.prepare('SELECT v FROM t WHERE k = ?').get('k');
  } finally {
    db.close();
  }
}
