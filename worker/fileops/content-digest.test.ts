import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CopyOp } from '../../frontend/index.js';
import { contentDigest } from './content-digest.js';
import { hashFile } from './hash-file.js';
import type { CopySourceDir } from './source.js';

// The digests below were computed by the code before files were hashed through reused buffers (main 60f1d5a:
// readFile per small file, a stream per big one, canonicalJson of the whole list): they must never change.
const TREE_DIGEST = 'sha256:c313164f460f58cd8e694cdb22c60b3f37c16610756fa877ed1a74e1eda3be3f';
const LINKS_DIGEST = 'sha256:83484f433e361169b7236b579fc676d78d33d9c3f3ec37022b2901204919b41f';
const MANY_DIGEST = 'sha256:50c494e10008feb88a93da01937b29acf107117fb81606297fc8c333c9cc045d';
/** sha256 of JSON.stringify(Object.entries(files)) for the >1000-entry tree: the bounded map, its keys in order. */
const MANY_FILES = '4b2e9df1729da2db67b5b439f7e5aa395152d3b0e1da9a26b1358ecaf0219615';

const signal = new AbortController().signal;
const bytes = (n: number, seed: number): Buffer => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed + (i >> 8)) & 0xff;
  return b;
};
const copyOp = (sources: string[]): CopyOp => ({ kind: 'copy', mode: 'copy', from: { kind: 'context' }, sources, dest: '/app/', link: false, parents: false, exclude: [] });

describe('contentDigest and hashFile', () => {
  let dir: string;
  const f = (p: string): string => path.join(dir, p);

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'tsbuild-digest-pin-'));
    for (const d of ['tree/edge', 'tree/big', 'tree/dir']) mkdirSync(f(d), { recursive: true });
    writeFileSync(f('tree/empty.txt'), '');
    writeFileSync(f('tree/small.txt'), 'hello\n');
    for (const [name, n] of [['a', 65535], ['b', 65536], ['c', 65537]] as const) writeFileSync(f(`tree/edge/${name}`), bytes(n, n & 7));
    writeFileSync(f('tree/big/one-mib-plus-one'), bytes((1 << 20) + 1, 3));
    writeFileSync(f('tree/big/multi'), bytes(3 * (1 << 20) + 7, 5));
    writeFileSync(f('tree/dir/sp ace "q" é.txt'), 'quoted');
    writeFileSync(f('tree/exec.sh'), '#!/bin/sh\n');
    chmodSync(f('tree/exec.sh'), 0o755);
    chmodSync(f('tree/dir'), 0o750);
    symlinkSync('small.txt', f('tree/link'));
    symlinkSync('big', f('tree/dirlink'));
    linkSync(f('tree/small.txt'), f('tree/hard.txt'));
    for (const p of ['empty.txt', 'small.txt', 'edge/a', 'edge/b', 'edge/c', 'big/one-mib-plus-one', 'big/multi', 'dir/sp ace "q" é.txt']) chmodSync(f(`tree/${p}`), 0o644);
    for (const p of ['tree', 'tree/edge', 'tree/big']) chmodSync(f(p), 0o755);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the digests it always gave: empty, small, buffer-edge, 1 MiB+1 and multi-MiB files, symlinks, hard links, quoted names', async () => {
    const source: CopySourceDir = { kind: 'dir', path: dir, excludes: [] };
    const tree = await contentDigest(copyOp(['tree']), source, signal);
    expect(tree.digest).to.equal(TREE_DIGEST);
    expect(tree.files['tree/hard.txt']).to.equal(tree.files['tree/small.txt']);
    expect((await contentDigest(copyOp(['tree/link', 'tree/dirlink']), source, signal)).digest).to.equal(LINKS_DIGEST);
  });

  it('counts a path selected twice once (overlapping sources), as it always did', async () => {
    const source: CopySourceDir = { kind: 'dir', path: dir, excludes: [] };
    // `tree/edge` and everything below it are also below `tree`: the same paths with the same digests.
    const both = await contentDigest(copyOp(['tree', 'tree/edge']), source, signal);
    expect(both.digest).to.equal(TREE_DIGEST);
    expect(Object.keys(both.files)).to.deep.equal(Object.keys((await contentDigest(copyOp(['tree']), source, signal)).files));
  });

  it('keys a source that climbs above the context by the context file it names (`../tree/small.txt` is tree/small.txt)', async () => {
    const source: CopySourceDir = { kind: 'dir', path: dir, excludes: [] };
    const plain = await contentDigest(copyOp(['tree/small.txt']), source, signal);
    const climbing = await contentDigest(copyOp(['../tree/small.txt']), source, signal);
    expect(climbing.digest).to.equal(plain.digest);
    expect(Object.keys(climbing.files)).to.deep.equal(['tree/small.txt']);
    writeFileSync(f('tree/small.txt'), 'changed\n');
    expect((await contentDigest(copyOp(['../tree/small.txt']), source, signal)).digest).to.not.equal(plain.digest);
    expect((await contentDigest(copyOp(['sub/../../tree']), source, signal)).digest).to.not.equal(TREE_DIGEST);
    expect((await contentDigest(copyOp(['sub/../../tree']), { ...source, excludes: ['tree/small.txt'] }, signal)).files).to.not.have.property('tree/small.txt');
  });

  it('bounds the per-path map of a >1000-entry tree as it always did', async () => {
    for (let d = 0; d < 12; d++) {
      for (let sub = 0; sub < (d % 3) + 1; sub++) {
        mkdirSync(f(`many/d${d}/s${sub}`), { recursive: true });
        for (let i = 0; i < 60; i++) {
          writeFileSync(f(`many/d${d}/s${sub}/f${i}`), `${d}/${sub}/${i}`);
          chmodSync(f(`many/d${d}/s${sub}/f${i}`), 0o644);   // whatever the umask
        }
        chmodSync(f(`many/d${d}/s${sub}`), 0o755);
      }
      chmodSync(f(`many/d${d}`), 0o755);
    }
    writeFileSync(f('many/top.txt'), 'top');
    writeFileSync(f('many/d1.txt'), 'd1');
    for (const p of ['many/top.txt', 'many/d1.txt']) chmodSync(f(p), 0o644);
    chmodSync(f('many'), 0o755);
    const many = await contentDigest(copyOp(['many']), { kind: 'dir', path: dir, excludes: [] }, signal);
    expect(many.digest).to.equal(MANY_DIGEST);
    expect(Object.keys(many.files)).to.have.length(63);
    expect(createHash('sha256').update(JSON.stringify(Object.entries(many.files))).digest('hex')).to.equal(MANY_FILES);
  });

  it('names the files of one directory holding more than 1000 by their leading characters, so a changed one is found', async () => {
    mkdirSync(f('wide'), { recursive: true });
    for (let i = 0; i < 1500; i++) writeFileSync(f(`wide/f${String(i).padStart(4, '0')}.txt`), `${i}`);
    // `COPY . /src` of a context that is this directory: the 1500 files side by side at the top.
    const source: CopySourceDir = { kind: 'dir', path: f('wide'), excludes: [] };
    const before = await contentDigest(copyOp(['.']), source, signal);
    expect(Object.keys(before.files)).to.include.members(['f000*', 'f149*']);
    expect(Object.keys(before.files).length).to.be.within(150, 1000);
    writeFileSync(f('wide/f1499.txt'), 'changed');
    const after = await contentDigest(copyOp(['.']), source, signal);
    const changed = Object.keys(after.files).filter((k) => after.files[k] !== before.files[k]);
    expect(changed).to.deep.equal(['f149*']);
    expect(after.digest).to.not.equal(before.digest);
  });

  it('hashes a file through a reused buffer of any size to the sha256 of its bytes', async () => {
    for (const bufferSize of [5, 4096, 65536]) {
      const buffer = Buffer.alloc(bufferSize);
      for (const p of bufferSize < 4096 ? ['empty.txt', 'small.txt'] : ['empty.txt', 'small.txt', 'edge/a', 'edge/b', 'edge/c', 'big/one-mib-plus-one']) {
        const want = `sha256:${createHash('sha256').update(readFileSync(f(`tree/${p}`))).digest('hex')}`;
        const size = BigInt(readFileSync(f(`tree/${p}`)).length);
        expect(await hashFile(f(`tree/${p}`), size, buffer), `${p} through ${bufferSize}`).to.equal(want);
        // A stale size (the file grew or shrank since the walk) still hashes the whole file as it is.
        expect(await hashFile(f(`tree/${p}`), 0n, buffer), `${p}, size 0`).to.equal(want);
        expect(await hashFile(f(`tree/${p}`), size + 100n, buffer), `${p}, size + 100`).to.equal(want);
      }
    }
  });

  it('refuses to hash through a symlink that replaced a file', async () => {
    const err = await hashFile(f('tree/link'), 6n, Buffer.alloc(64)).then(() => undefined, (e: unknown) => e);
    expect(err).to.have.property('code', 'ELOOP');
  });
});
