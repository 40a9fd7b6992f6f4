import { expect } from 'chai';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CopyOp } from '../../frontend/index.js';
import { CopyHistory, fileFingerprint } from './copy-history.js';

const OP: CopyOp = { kind: 'copy', mode: 'copy', from: { kind: 'context' }, sources: ['.'], dest: '/app/', link: false, parents: false, exclude: [] };

describe('CopyHistory', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'tsbuild-copy-history-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it('returns the last saved result of a COPY on a context, and nothing for another op or context', async () => {
    const history = new CopyHistory(dir);
    expect(await history.load(OP, '/ctx')).to.equal(undefined);
    await history.save(OP, '/ctx', { snapshot: 'layer-1', files: new Map([['app/a', 'x']]) });
    await history.save(OP, '/ctx', { snapshot: 'layer-2', files: new Map([['app/a', 'y'], ['app/b', 'z']]) });
    const got = await history.load(OP, '/ctx');
    expect(got?.snapshot).to.equal('layer-2');
    expect([...(got?.files ?? [])]).to.deep.equal([['app/a', 'y'], ['app/b', 'z']]);
    expect(await history.load({ ...OP, dest: '/other/' }, '/ctx')).to.equal(undefined);
    expect(await history.load(OP, '/elsewhere')).to.equal(undefined);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).to.deep.equal([]);
  });

  it('reads a torn or foreign record as no record', async () => {
    const history = new CopyHistory(dir);
    await history.save(OP, '/ctx', { snapshot: 'layer-1', files: new Map() });
    const [file] = await readdir(dir);
    for (const text of ['{"v":1,"snapshot":"layer-1","files":[["a"', '{"v":2,"snapshot":"s","files":[]}', '{"v":1,"snapshot":"s","files":[["a",1]]}']) {
      await writeFile(join(dir, file ?? ''), text);
      expect(await history.load(OP, '/ctx')).to.equal(undefined);
    }
  });

  it('fingerprints a file by its source identity and the owner and mode written', () => {
    const st = { dev: 1n, ino: 2n, mode: 0o100644n, uid: 0n, gid: 0n, rdev: 0n, size: 3n, mtimeNs: 4n, ctimeNs: 5n };
    const base = fileFingerprint(st, { uid: 0, gid: 0, mode: 0o644 });
    expect(fileFingerprint({ ...st }, { uid: 0, gid: 0, mode: 0o644 })).to.equal(base);
    for (const other of [fileFingerprint({ ...st, ctimeNs: 6n }, { uid: 0, gid: 0, mode: 0o644 }), fileFingerprint({ ...st, ino: 3n }, { uid: 0, gid: 0, mode: 0o644 }),
      fileFingerprint({ ...st, size: 4n }, { uid: 0, gid: 0, mode: 0o644 }), fileFingerprint({ ...st, mtimeNs: 5n }, { uid: 0, gid: 0, mode: 0o644 }), fileFingerprint(st, { uid: 1, gid: 0, mode: 0o644 }),
      fileFingerprint(st, { uid: 0, gid: 0, mode: 0o600 })]) expect(other).to.not.equal(base);
  });
});
