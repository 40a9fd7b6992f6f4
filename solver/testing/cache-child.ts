// A child process for the cache index's multi-process tests.
//   cache-child.js hammer <root> <name> <n>: n × (put, get, remember, previous, hold), checking each read.
//   cache-child.js hold <root> <leaseId> <key>: holds a lease on key, prints "held", then waits to be killed.
import { sha256 } from '../../registry/oci/index.js';
import type { Digest } from '../../registry/oci/index.js';
import { SqliteCacheIndex } from '../cache-index.js';
import { cacheKey } from '../cache-key.js';

const [mode, root = '', name = '', arg = ''] = process.argv.slice(2);
const index = SqliteCacheIndex.open(root);

if (mode === 'hammer') {
  const n = Number(arg);
  const started = Date.now();
  for (let i = 0; i < n; i++) {
    const key = cacheKey({ v: 1, op: `${name}-${i}`, opText: `RUN ${name} ${i}`, inputs: [], content: {}, args: {}, platform: 'linux/amd64' });
    const result = { snapshot: `${name}-${i}`, layers: [] };
    await index.put(key, { result, size: i });
    const back = await index.get(key.digest);
    if (back?.result.snapshot !== result.snapshot) throw new Error(`${name}: read back ${JSON.stringify(back)} for ${i}`);
    await index.remember('Dockerfile#shared/1', { ...key, files: {} });
    if ((await index.previous('Dockerfile#shared/1')) === undefined) throw new Error('previous lost');
    await index.hold(`${name}-lease`, [key.digest]);
  }
  await index.release(`${name}-lease`);
  index.close();
  console.log(`${name} done ${started} ${Date.now()}`);
} else if (mode === 'hold') {
  await index.hold(name, [arg as Digest]);
  console.log('held');
  setInterval(() => undefined, 1000);
} else {
  throw new Error(`unknown mode ${String(mode)}; key example ${sha256('')}`);
}
