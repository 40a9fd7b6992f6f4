import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { CopyOp } from '../../frontend/index.js';
import { contentDigest, FileHashCache, MAX_FILE_DIGESTS, StatMemo, withModeChanges, type CopySourceDir } from '../../worker/fileops/index.js';

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

  it('tells a file whose permission bits alone changed from one whose content changed too, or changed again since', async () => {
    const op = copyOp(['src']);
    const before = await contentDigest(op, source, signal);
    await chmod(f('src/util.ts'), 0o600);           // a checkout under umask 077: the mode alone
    await writeFile(f('src/app.ts'), 'app2');       // content and mode
    await chmod(f('src/app.ts'), 0o755);
    await chmod(f('src/notes.md'), 0o4711);         // an unusual mode is found as well (every one of the 4,096 is tried)
    const after = await contentDigest(op, source, signal);
    const changes = ['src/app.ts', 'src/notes.md', 'src/util.ts'].map((p) => ({ path: p, before: before.files[p], after: after.files[p] }));
    const told = await withModeChanges(op, source, changes, signal);
    expect(told.map((c) => [c.path, c.mode])).to.deep.equal([
      ['src/app.ts', undefined],
      ['src/notes.md', { before: 0o644, after: 0o4711 }],
      ['src/util.ts', { before: 0o644, after: 0o600 }],
    ]);
    // The file is no longer what `after` was taken of: nothing is claimed about it.
    await writeFile(f('src/util.ts'), 'util3');
    expect((await withModeChanges(op, source, changes, signal)).find((c) => c.path === 'src/util.ts')?.mode).to.equal(undefined);
    // Added and removed files are left as they are.
    const added = [{ path: 'src/new.ts', after: after.files['src/app.ts'] }];
    expect(await withModeChanges(op, source, added, signal)).to.deep.equal(added);
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
    // src and its three files: each entry's xattrs are remembered by its stat, a directory's too.
    expect([first.hits, first.misses]).to.deep.equal([0, 4]);
    first.close();
    const second = new FileHashCache(file);
    const b = await contentDigest(copyOp(['src']), source, signal, second);
    expect(b).to.deep.equal(a);
    // Unchanged: the whole selection is one stat-keyed lookup, no file is looked up (or read) on its own.
    expect([second.treeHits, second.hits, second.misses]).to.deep.equal([1, 0, 0]);
    await writeFile(f('src/app.ts'), 'app changed');
    const c = await contentDigest(copyOp(['src']), source, signal, second);
    expect(c.digest).to.not.equal(a.digest);
    expect([second.treeHits, second.hits, second.misses]).to.deep.equal([1, 3, 1]);
    second.close();
  });

  it('changes when a file\'s user.* xattr or capability is set or changed, and names it; not for an ACL, as BuildKit\'s key', async () => {
    // BuildKit hashes each entry's tar header with its xattrs but security.* (security.capability kept) and system.*
    // (cache/contenthash tarsum.go v1TarHeaderSelect).
    const file = path.join(base, 'cache', 'hashes.db');
    const cache = new FileHashCache(file);
    const digest = async (): Promise<{ digest: string; files: Record<string, string> }> => {
      const withCache = await contentDigest(copyOp(['src']), source, signal, cache);
      expect((await contentDigest(copyOp(['src']), source, signal)).digest, 'the same without the hash cache').to.equal(withCache.digest);
      return withCache;
    };
    const before = await digest();
    const changes: [string, string[]][] = [
      ['setfattr', ['-n', 'user.x', '-v', '1', f('src/app.ts')]],
      ['setfattr', ['-n', 'user.x', '-v', '2', f('src/app.ts')]],
      ['setcap', ['cap_net_raw+ep', f('src/app.ts')]],
      ['setfattr', ['-n', 'user.d', '-v', 'on-a-dir', f('src')]],
    ];
    let last = before;
    for (const [cmd, args] of changes) {
      execFileSync(cmd, args);
      const now = await digest();
      expect(now.digest, `${cmd} ${args.join(' ')}`).to.not.equal(last.digest);
      expect(Object.keys(now.files).filter((k) => now.files[k] !== last.files[k])).to.deep.equal([args.includes(f('src')) ? 'src' : 'src/app.ts']);
      last = now;
    }
    // An ACL that leaves the mode as it was (group r--, the mask r--) is not in the key.
    execFileSync('setfacl', ['-m', 'u:1234:r', f('src/util.ts')]);
    expect((await digest()).digest).to.equal(last.digest);
    // Back to no key xattrs at all: the digest of before, which an entry without any never stopped having.
    execFileSync('setfattr', ['-x', 'user.x', f('src/app.ts')]);
    execFileSync('setcap', ['-r', f('src/app.ts')]);
    execFileSync('setfattr', ['-x', 'user.d', f('src')]);
    expect((await digest()).digest).to.equal(before.digest);
    cache.close();
  });

  it('opens a hash cache written before xattrs were counted, and reads the xattrs its rows lack', async () => {
    const file = path.join(base, 'cache', 'old.db');
    await mkdir(path.dirname(file), { recursive: true });
    const old = new DatabaseSync(file);
    old.exec('CREATE TABLE file_hash (key TEXT PRIMARY KEY, digest TEXT NOT NULL); CREATE TABLE tree_digest (key TEXT PRIMARY KEY, value TEXT NOT NULL, used INTEGER NOT NULL)');
    old.close();
    execFileSync('setfattr', ['-n', 'user.x', '-v', '1', f('src/util.ts')]);
    const first = new FileHashCache(file);
    const a = await contentDigest(copyOp(['src']), source, signal, first);
    first.close();
    // Rows as the old table held them: a content digest alone (xattrs NULL), and no selection result.
    const db = new DatabaseSync(file);
    db.exec('UPDATE file_hash SET xattrs = NULL; DELETE FROM tree_digest');
    db.close();
    const again = new FileHashCache(file);
    const b = await contentDigest(copyOp(['src']), source, signal, again);
    expect([again.hits, again.misses]).to.deep.equal([4, 0]);
    expect(b).to.deep.equal(a);
    again.close();
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
