import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { sha256 } from '../../registry/oci/index.js';
import { openRoot } from './root.js';

describe('Root.unlock', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'tsbuild-root-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it('writes the leases its cache index kept in memory under the lock before letting the lock go', async () => {
    const root = openRoot(dir);
    try {
      await root.lock('shared');
      const cache = await root.cache();   // opened under the lock: holds wait in memory
      await cache.hold('build-1', [sha256('a')]);
      const leaseRows = (): unknown => {
        const db = new DatabaseSync(join(dir, 'cache.db'));
        try { return db.prepare('SELECT COUNT(*) AS n FROM lease_keys').get()?.['n']; } finally { db.close(); }
      };
      expect(leaseRows()).to.equal(0);
      await root.unlock();   // from here a prune of another process may run: it must see the lease
      expect(leaseRows()).to.equal(1);
    } finally {
      await root.close();
    }
  });
});
