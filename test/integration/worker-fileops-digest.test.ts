import { expect } from 'chai';
import { chmod, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CopyOp } from '../../frontend/index.js';
import { contentDigest, FileHashCache, MAX_FILE_DIGESTS, StatMemo, type CopySourceDir } from '../../worker/fileops/index.js';

// contentDigest: what COPY keys on. Content, type, mode and selection count; mtime never does.

const signal = new AbortController().signal;

function copyOp(sources: string[], extra: Partial<CopyOp> = {}): CopyOp {
  return { kind: 'copy', mode: 'copy', from: { kind: 'context' }, sources, dest: '/app/', link: false, parents: false, exclude: [], ...extra };
}

describe('contentDigest', () => {
  let base: string;
  let ctx: string;
  let source: CopySourceDir;
  const f = (p: string): string => path.join(ctx, p);

  beforeEach(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'tsbuild-digest-'));
    ctx = path.join(base, 'ctx');
    await mkdir(path.join(ctx, 'src'), { recursive: true });
    await writeFile(f('src/app.ts'), 'app');
    await writeFile(f('src/util.ts'), 'util');
    await writeFile(f('src/notes.md'), 'notes');
    await writeFile(f('ignored.log'), 'log');
    source = { kind: 'dir', path: ctx, excludes: ['*.log'] };
  });
  afterEach(async () => { await rm(base, { recursive: true, force: true }); });

  it('follows a source symlink inside the context, and keeps an absolute or escaping one inside it too', async () => {
    await symlink('src', f('link'));
    const viaLink = await contentDigest(copyOp(['link/app.ts']), source, signal);
    expect(viaLink.files).to.have.property('link/app.ts', (await contentDigest(copyOp(['src/app.ts']), source, signal)).files['src/app.ts']);
    // In the context's root, /etc and ../.. are the context itself: neither reaches the host's files.
    await symlink('/etc', f('abs'));
    await symlink('../../../../etc', f('up'));
    for (const s of ['abs/passwd', 'up/passwd']) {
      const err = await contentDigest(copyOp([s]), source, signal).then(() => undefined, (e: unknown) => e);
      expect(err, s).to.have.property('code', 'COPY_SOURCE_NOT_FOUND');
    }
    await mkdir(f('etc'));
    await writeFile(f('etc/passwd'), 'in the context');
    const inRoot = await contentDigest(copyOp(['abs/passwd']), source, signal);
    expect(inRoot.files['abs/passwd']).to.equal((await contentDigest(copyOp(['etc/passwd']), source, signal)).files['etc/passwd']);
  });

  it('treats a path through a file as missing, and a source under a listed memo the same as without one', async () => {
    const err = await contentDigest(copyOp(['src/app.ts/x']), source, signal).then(() => undefined, (e: unknown) => e);
    expect(err).to.have.property('code', 'COPY_SOURCE_NOT_FOUND');
    const memo = new StatMemo();
    expect((await contentDigest(copyOp(['src']), { kind: 'dir', path: ctx, excludes: ['*.log'], memo }, signal)).digest).to.equal((await contentDigest(copyOp(['src']), source, signal)).digest);
  });

  it('stays the same when only a file\'s mtime changes', async () => {
    const before = await contentDigest(copyOp(['src']), source, signal);
    await utimes(f('src/app.ts'), new Date('2000-01-01'), new Date('2000-01-01'));
    expect((await contentDigest(copyOp(['src']), source, signal)).digest).to.equal(before.digest);
  });

  it('changes when a file\'s content changes, and names that file', async () => {
    const before = await contentDigest(copyOp(['src']), source, signal);
    await writeFile(f('src/app.ts'), 'app2');
    const after = await contentDigest(copyOp(['src']), source, signal);
    expect(after.digest).to.not.equal(before.digest);
    const changed = Object.keys(after.files).filter((k) => after.files[k] !== before.files[k]);
    expect(changed).to.deep.equal(['src/app.ts']);
  });

  it('changes when a file\'s mode changes', async () => {
    const before = await contentDigest(copyOp(['src']), source, signal);
    await chmod(f('src/util.ts'), 0o755);
    expect((await contentDigest(copyOp(['src']), source, signal)).digest).to.not.equal(before.digest);
  });

  it('changes when a new file matches a wildcard source', async () => {
    const before = await contentDigest(copyOp(['src/*.ts']), source, signal);
    await writeFile(f('src/new.ts'), 'new');
    const after = await contentDigest(copyOp(['src/*.ts']), source, signal);
    expect(after.digest).to.not.equal(before.digest);
    expect(after.files).to.have.property('src/new.ts');
  });

  it('ignores files the wildcard does not select', async () => {
    const before = await contentDigest(copyOp(['src/*.ts']), source, signal);
    await writeFile(f('src/notes.md'), 'changed notes');
    expect((await contentDigest(copyOp(['src/*.ts']), source, signal)).digest).to.equal(before.digest);
  });

  it('stays the same when a .dockerignore-excluded or --exclude-d file changes', async () => {
    const op = copyOp(['.'], { exclude: ['src/*.md'] });
    const before = await contentDigest(op, source, signal);
    await writeFile(f('ignored.log'), 'more log');
    await writeFile(f('src/notes.md'), 'changed notes');
    expect((await contentDigest(op, source, signal)).digest).to.equal(before.digest);
  });

  it('ignores context owners but counts them for COPY --from', async () => {
    const { chown } = await import('node:fs/promises');
    const ctxOp = copyOp(['src']);
    const fromOp = copyOp(['src'], { from: { kind: 'vertex', id: 's0.2' } });
    const [c1, s1] = [await contentDigest(ctxOp, source, signal), await contentDigest(fromOp, source, signal)];
    await chown(f('src/app.ts'), 1000, 1000);
    expect((await contentDigest(ctxOp, source, signal)).digest).to.equal(c1.digest);
    expect((await contentDigest(fromOp, source, signal)).digest).to.not.equal(s1.digest);
  });

  it('reuses cached content hashes on an unchanged rebuild, from a persistent cache file', async () => {
    const file = path.join(base, 'cache', 'hashes.db');
    const first = new FileHashCache(file);
    const a = await contentDigest(copyOp(['src']), source, signal, first);
    expect([first.hits, first.misses]).to.deep.equal([0, 3]);
    first.close();
    const second = new FileHashCache(file);
    const b = await contentDigest(copyOp(['src']), source, signal, second);
    expect(b).to.deep.equal(a);
    // Unchanged: the whole selection is one stat-keyed lookup, no file is looked up (or read) on its own.
    expect([second.treeHits, second.hits, second.misses]).to.deep.equal([1, 0, 0]);
    await writeFile(f('src/app.ts'), 'app changed');
    const c = await contentDigest(copyOp(['src']), source, signal, second);
    expect(c.digest).to.not.equal(a.digest);
    expect([second.treeHits, second.hits, second.misses]).to.deep.equal([1, 2, 1]);
    second.close();
  });

  it('digests heredoc files by name and content', async () => {
    const one = await contentDigest(copyOp(['a']), { kind: 'inline', files: [{ name: 'a', content: 'x' }] }, signal);
    const two = await contentDigest(copyOp(['a']), { kind: 'inline', files: [{ name: 'a', content: 'y' }] }, signal);
    expect(one.digest).to.not.equal(two.digest);
  });

  it('bounds the per-path map by grouping paths under their directories', async () => {
    for (const d of ['a', 'b']) {
      await mkdir(f(`many/${d}`), { recursive: true });
      await Promise.all(Array.from({ length: 700 }, (_, i) => writeFile(f(`many/${d}/${i}.txt`), String(i))));
    }
    const before = await contentDigest(copyOp(['many']), source, signal);
    expect(Object.keys(before.files).length).to.be.at.most(MAX_FILE_DIGESTS);
    await writeFile(f('many/b/5.txt'), 'changed');
    const after = await contentDigest(copyOp(['many']), source, signal);
    const changed = Object.keys(after.files).filter((k) => after.files[k] !== before.files[k]);
    expect(changed).to.deep.equal(['many/b/**']);
  });
});
