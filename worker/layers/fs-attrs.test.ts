import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { RootSession } from '../confined/index.js';
import { readXattrs } from './fs-attrs.js';

const run = promisify(execFile);

describe('readXattrs (one long-lived reader process for every batch)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-xattrs-'));
    await RootSession.with(dir, {}, async (s) => {
      s.base('', 'in-root');
      await s.file('a', Buffer.from('a'));
      s.xattr('trusted.overlay.opaque', Buffer.from('y'));
      s.xattr('user.bytes', Buffer.from([0, 1, 0xff]));
      await s.file('b', Buffer.from('b'));
    });
  });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('answers batch after batch, sequential and concurrent, skipping paths without attributes or that vanished', async () => {
    const want = { 'trusted.overlay.opaque': Buffer.from('y'), 'user.bytes': Buffer.from([0, 1, 0xff]) };
    for (let i = 0; i < 3; i++) {
      const got = await readXattrs([join(dir, 'a'), join(dir, 'b'), join(dir, 'gone')]);
      expect([...got.keys()]).to.deep.equal([join(dir, 'a')]);
      expect(got.get(join(dir, 'a'))).to.deep.equal(want);
    }
    const many = await Promise.all(Array.from({ length: 5 }, () => readXattrs([join(dir, 'b'), join(dir, 'a')])));
    for (const got of many) expect(got.get(join(dir, 'a'))).to.deep.equal(want);
  });

  it('reads only the attributes asked for, leaving out a path that has none of them', async () => {
    const got = await readXattrs([join(dir, 'a'), join(dir, 'b')], ['user.bytes', 'security.capability']);
    expect([...got.entries()]).to.deep.equal([[join(dir, 'a'), { 'user.bytes': Buffer.from([0, 1, 0xff]) }]]);
    expect((await readXattrs([join(dir, 'a')], ['security.capability'])).size).to.equal(0);
    // The reader of every attribute is another process, unaffected.
    expect(Object.keys((await readXattrs([join(dir, 'a')])).get(join(dir, 'a')) ?? {}).sort()).to.deep.equal(['trusted.overlay.opaque', 'user.bytes']);
  });

  it('does not keep Node running once its batches are answered', async () => {
    const script = join(dir, 'exits.mjs');
    const module = join(fileURLToPath(new URL('.', import.meta.url)), 'fs-attrs.js');
    await writeFile(script, `import { readXattrs } from ${JSON.stringify(module)};\nconst m = await readXattrs([${JSON.stringify(join(dir, 'a'))}]);\nconsole.log(m.size);\n`);
    const { stdout } = await run(process.execPath, [script], { timeout: 20_000 });
    expect(stdout).to.equal('1\n');
  });
});
