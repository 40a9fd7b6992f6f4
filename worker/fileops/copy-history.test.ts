import { expect } from 'chai';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CopyOp } from '../../frontend/index.js';
import { CopyHistory, FINGERPRINT_BYTES, FileRecords, writeFingerprint } from './copy-history.js';

const OP: CopyOp = { kind: 'copy', mode: 'copy', from: { kind: 'context' }, sources: ['.'], dest: '/app/', link: false, parents: false, exclude: [] };

/** A fingerprint filled with one byte value. */
function print(byte: number): Buffer {
  return Buffer.alloc(FINGERPRINT_BYTES, byte);
}

function records(entries: [string, number][]): FileRecords {
  const r = FileRecords.empty();
  for (const [path, byte] of entries) r.add(path, print(byte));
  return r;
}

/** What `save` wrote, read back as a `load` gives it. */
function reparsed(r: FileRecords): FileRecords {
  const parsed = FileRecords.parse(Buffer.concat(r.bytes()));
  if (parsed === undefined) throw new Error('records did not parse');
  return parsed;
}

describe('CopyHistory', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'tsbuild-copy-history-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it('returns the last saved result of a COPY on a context, and nothing for another op or context', async () => {
    const history = new CopyHistory(dir);
    expect(await history.load(OP, '/ctx')).to.equal(undefined);
    await history.save(OP, '/ctx', { snapshot: 'layer-1', files: records([['app/a', 1]]) });
    await history.save(OP, '/ctx', { snapshot: 'layer-2', files: records([['app/a', 2], ['app/b', 3]]) });
    const got = await history.load(OP, '/ctx');
    expect(got?.snapshot).to.equal('layer-2');
    expect([...(got?.files.entries() ?? [])]).to.deep.equal([['app/a', print(2).toString('hex')], ['app/b', print(3).toString('hex')]]);
    expect(await history.load({ ...OP, dest: '/other/' }, '/ctx')).to.equal(undefined);
    expect(await history.load(OP, '/elsewhere')).to.equal(undefined);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).to.deep.equal([]);
  });

  it('reads a torn, old or foreign record as no record', async () => {
    const history = new CopyHistory(dir);
    await history.save(OP, '/ctx', { snapshot: 'layer-1', files: records([['app/a', 1]]) });
    const [file] = await readdir(dir);
    const whole = await readFile(join(dir, file ?? ''));
    for (const bytes of [whole.subarray(0, whole.length - 1), whole.subarray(0, 10), Buffer.from('{"v":1,"snapshot":"s","files":[]}'), Buffer.alloc(0)]) {
      await writeFile(join(dir, file ?? ''), bytes);
      expect(await history.load(OP, '/ctx')).to.equal(undefined);
    }
  });

  it('removes the JSON record an older version kept for the same COPY when it saves', async () => {
    const history = new CopyHistory(dir);
    await history.save(OP, '/ctx', { snapshot: 'layer-1', files: records([]) });
    const [file] = await readdir(dir);
    const old = join(dir, (file ?? '').replace(/\.bin$/, '.json'));
    await writeFile(old, '{"v":1,"snapshot":"s","files":[]}');
    await history.save(OP, '/ctx', { snapshot: 'layer-2', files: records([]) });
    expect(await readdir(dir)).to.deep.equal([file]);
  });
});

describe('FileRecords', () => {
  it('finds each path with its own fingerprint, in the order written or in any other', () => {
    // Paths of every length class, a non-ASCII one and one with a newline; enough to fill more than one chunk.
    const paths = ['a', 'dir/b', 'dir/é', 'x\ny', ...Array.from({ length: 5000 }, (_, i) => `pkg${i % 50}/lib/${'f'.repeat(i % 40)}${i}.js`)];
    const r = reparsed(records(paths.map((p, i) => [p, i % 251])));
    expect(r.size).to.equal(paths.length);
    for (const [i, p] of paths.entries()) expect(r.has(p, print(i % 251)), p).to.equal(true);
    const again = reparsed(records(paths.map((p, i) => [p, i % 251])));
    for (const [i, p] of [...paths.entries()].reverse()) expect(again.has(p, print(i % 251)), p).to.equal(true);
  });

  it('answers no for a changed fingerprint or an unknown path, and keeps finding the others after a miss', () => {
    const r = reparsed(records([['a', 1], ['b', 2], ['c', 3], ['d', 4]]));
    expect(r.has('a', print(1))).to.equal(true);
    expect(r.has('new', print(1))).to.equal(false);   // a file added since
    expect(r.has('b', print(9))).to.equal(false);     // changed
    expect(r.has('d', print(4))).to.equal(true);      // c removed since
    expect(r.has('c', print(3))).to.equal(true);
  });

  it('fingerprints a file by its source identity and the owner and mode written', () => {
    const st = { dev: 1n, ino: 2n, mode: 0o100644n, uid: 0n, gid: 0n, rdev: 0n, size: 3n, mtimeNs: 4n, ctimeNs: 5n };
    const of = (s: typeof st, written: { uid: number; gid: number; mode?: number }): string => {
      const out = Buffer.alloc(FINGERPRINT_BYTES);
      writeFingerprint(s, written, out);
      return out.toString('hex');
    };
    const base = of(st, { uid: 0, gid: 0, mode: 0o644 });
    expect(of({ ...st }, { uid: 0, gid: 0, mode: 0o644 })).to.equal(base);
    // atime, nlink and the source's own uid/gid are not part of it (context files are written 0:0)
    expect(of({ ...st, uid: 7n, gid: 8n }, { uid: 0, gid: 0, mode: 0o644 })).to.equal(base);
    const others = [of({ ...st, ctimeNs: 6n }, { uid: 0, gid: 0, mode: 0o644 }), of({ ...st, ino: 3n }, { uid: 0, gid: 0, mode: 0o644 }),
      of({ ...st, dev: 9n }, { uid: 0, gid: 0, mode: 0o644 }), of({ ...st, size: 4n }, { uid: 0, gid: 0, mode: 0o644 }),
      of({ ...st, mtimeNs: 5n }, { uid: 0, gid: 0, mode: 0o644 }), of(st, { uid: 1, gid: 0, mode: 0o644 }), of(st, { uid: 0, gid: 1, mode: 0o644 }),
      of(st, { uid: 0, gid: 0, mode: 0o600 }), of(st, { uid: 0, gid: 0 })];
    expect(new Set([base, ...others]).size).to.equal(others.length + 1);
  });
});
