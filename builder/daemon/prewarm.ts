
// What a warm process of `tsbuild daemon` does before its request arrives: the first-use costs every build pays that
// depend on nothing the request brings (bench/RESULTS.md, "The no-op through `tsbuild daemon`", measures each).
// Nothing here reads the environment, the cwd or the user's files, opens a root, or draws random numbers.

/** Loads undici's dispatchers and exercises node:sqlite; a failure only costs the request the time it would save. */
export async function prewarm(): Promise<void> {
  const skip = new Set((process.env['TSBUILD_DAEMON_PREWARM_SKIP'] ?? '').split(','));
  try {
    if (!skip.has('http')) await warmHttp();
    if (!skip.has('sqlite')) await warmSqlite();
  } catch (err) {
    process.stderr.write(`tsbuild daemon: pre-warming stopped: ${String(err)}\n`);
  }
}

// undici's dispatcher classes (Agent → Pool → Client) and the request API, evaluated and set up without a request.
// Not a request to a loopback server, which would also compile llhttp's wasm: measured (bench/RESULTS.md, "The no-op
// through `tsbuild daemon`"), a warm process that had made one spent ~25 ms MORE CPU on the build it then ran (its
// stat-key hashing and context report ran markedly slower: JIT feedback from the warm-up request, as far as the
// profile shows) than one that had not, which pays llhttp's compile (~3 ms) at its tag check instead.
async function warmHttp(): Promise<void> {
  const { Agent } = await import('undici');
  await new Agent().close();
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
