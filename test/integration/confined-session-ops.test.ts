import { expect } from 'chai';
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RootSession } from '../../worker/confined/index.js';

// The confined writer's ops are encoded into one reused buffer on the TypeScript side (root-session.ts): many ops
// across its 64 KiB boundary, file content pushed between ops, and flushes in the middle must reach the C side
// whole and in order.

describe('RootSession op stream', () => {
  let root: string;
  beforeEach(() => { root = mkdtempSync(join(tmpdir(), 'tsbuild-session-ops-')); });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('writes thousands of entries with long and non-ASCII names, file content and symlinks between them, in order', async () => {
    const long = 'd'.repeat(200);
    await RootSession.with(root, {}, async (session) => {
      session.policy('copy');
      session.parents({ uid: 0, gid: 0 }, 0o755);
      for (let i = 0; i < 3000; i++) {
        const dir = `${long}${i % 7}/é-${i}`;
        session.dir(dir, false);
        session.meta({ uid: 0, gid: 0, mode: 0o750, mtimeNs: 1_000_000_000n * BigInt(i) });
        if (i % 100 === 0) {
          await session.file(`${dir}/content`, Buffer.from(`file ${i} `.repeat(i + 1)));
          session.meta({ uid: 0, gid: 0, mode: 0o600 });
        }
        if (i % 250 === 0) session.symlink(`${dir}/link`, `../${'x'.repeat(3000)}/${i}`);
        await session.flushIfFull();
      }
    });
    for (let i = 0; i < 3000; i++) {
      const dir = join(root, `${long}${i % 7}`, `é-${i}`);
      const st = lstatSync(dir);
      expect(st.isDirectory() && (st.mode & 0o777) === 0o750, dir).to.equal(true);
      if (i % 100 === 0) {
        expect(readFileSync(join(dir, 'content'), 'utf8')).to.equal(`file ${i} `.repeat(i + 1));
        expect(lstatSync(join(dir, 'content')).mode & 0o777).to.equal(0o600);
      }
      if (i % 250 === 0) expect(readlinkSync(join(dir, 'link'))).to.equal(`../${'x'.repeat(3000)}/${i}`);
    }
    expect(lstatSync(join(root, `${long}3`, 'é-3')).mtimeMs).to.equal(3000);
  });

  it('refuses a field with a NUL before anything is sent', async () => {
    const err = await RootSession.with(root, {}, async (session) => { session.dir('a\0b', false); }).then(() => undefined, (e: unknown) => e);
    expect(String(err)).to.contain('NUL');
  });
});
