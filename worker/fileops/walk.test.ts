import { expect } from 'chai';
import { lstatSync, mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirListing } from './dir-listing.js';
import { PathFilter } from './filters.js';
import { StatMemo, statMemoFor, walkTree } from './walk.js';

describe('walkTree and StatMemo', () => {
  let dir: string;
  const none = { ignore: new PathFilter([]), exclude: new PathFilter([]) };
  const signal = new AbortController().signal;
  const rels = (memo?: StatMemo): string[] => [...walkTree(dir, '', none, signal, memo)].map((e) => e.rel);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsbuild-walk-'));
    mkdirSync(join(dir, 'b/c'), { recursive: true });
    writeFileSync(join(dir, 'a.txt'), 'a');
    writeFileSync(join(dir, 'b/c/d.txt'), 'd');
    symlinkSync('a.txt', join(dir, 'b/link'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('yields every entry in pre-order with sorted names, symlinks not followed', () => {
    expect(rels()).to.deep.equal(['a.txt', 'b', 'b/c', 'b/c/d.txt', 'b/link']);
    const link = [...walkTree(dir, '', none, signal)].find((e) => e.rel === 'b/link');
    expect(link?.stat.isSymbolicLink()).to.equal(true);
  });

  it('walks the same from a memo, and a memo lists each directory once for every later walk', () => {
    const memo = new StatMemo();
    expect(rels(memo)).to.deep.equal(rels());
    writeFileSync(join(dir, 'b/new.txt'), 'n');
    expect(rels(memo)).to.not.include('b/new.txt');          // the build's own listing: one view per build
    expect(rels(new StatMemo())).to.include('b/new.txt');     // the next build lists again
  });

  it('keeps one memo per source object: the build that owns it', () => {
    const source = { kind: 'context', dir };
    expect(statMemoFor(source)).to.equal(statMemoFor(source));
    expect(statMemoFor({ kind: 'context', dir })).to.not.equal(statMemoFor(source));
  });

  it('skips what .dockerignore hides, relative to the source root', () => {
    const filters = { ignore: new PathFilter(['sub/b/c']), exclude: new PathFilter([]) };
    expect([...walkTree(join(dir, 'b'), 'sub/b', filters, signal)].map((e) => e.rel)).to.deep.equal(['link']);
  });

  it('enters a hidden directory only when a `!` pattern may reach inside it, as fsutil\'s walker', () => {
    mkdirSync(join(dir, 'node_modules/p'), { recursive: true });
    mkdirSync(join(dir, 'node_modules/keep'), { recursive: true });
    writeFileSync(join(dir, 'node_modules/p/x.js'), 'x');
    writeFileSync(join(dir, 'node_modules/keep/k.js'), 'k');
    writeFileSync(join(dir, 'README.md'), 'r');
    writeFileSync(join(dir, 'doc.md'), 'd');
    class Recording extends StatMemo {
      readonly listed: string[] = [];
      override list(abs: string): DirListing { this.listed.push(abs.slice(dir.length)); return super.list(abs); }
    }
    const walk = (ignore: string[], exclude: string[] = []): { rels: string[]; listed: string[] } => {
      const memo = new Recording();
      const rels = [...walkTree(dir, '', { ignore: new PathFilter(ignore), exclude: new PathFilter(exclude) }, signal, memo)].map((e) => e.rel);
      return { rels, listed: memo.listed };
    };
    const plain = walk(['node_modules', '*.md', '!README.md']);
    expect(plain.rels).to.deep.equal(['README.md', 'a.txt', 'b', 'b/c', 'b/c/d.txt', 'b/link']);
    expect(plain.listed).to.not.include('/node_modules');
    const inside = walk(['node_modules', '!node_modules/keep/**']);
    expect(inside.rels.filter((r) => r.startsWith('node_modules'))).to.deep.equal(['node_modules', 'node_modules/keep', 'node_modules/keep/k.js']);
    const wildcard = walk(['node_modules', '!**/k.js']);
    expect(wildcard.rels.filter((r) => r.startsWith('node_modules'))).to.deep.equal(['node_modules', 'node_modules/keep', 'node_modules/keep/k.js']);
    // A directory hidden by COPY --exclude with no exception is skipped even when .dockerignore has wildcard ones.
    const both = walk(['*.md', '!**/x.js'], ['node_modules']);
    expect(both.listed).to.not.include('/node_modules');
    expect(both.rels.filter((r) => r.startsWith('node_modules'))).to.deep.equal([]);
  });

  it('keeps in a listing exactly the lstat fields a copy and a key read', () => {
    const listing = DirListing.read(join(dir, 'b'));
    expect(listing.names).to.deep.equal(['c', 'link']);
    expect(listing.indexOf('link')).to.equal(1);
    expect(listing.indexOf('nope')).to.equal(-1);
    for (const [i, name] of listing.names.entries()) {
      const want = lstatSync(join(dir, 'b', name), { bigint: true });
      const got = listing.stat(i);
      for (const field of ['dev', 'ino', 'mode', 'nlink', 'uid', 'gid', 'rdev', 'size', 'atimeNs', 'mtimeNs', 'ctimeNs'] as const) expect(got[field], `${name} ${field}`).to.equal(want[field]);
      for (const is of ['isDirectory', 'isFile', 'isSymbolicLink', 'isFIFO', 'isCharacterDevice', 'isBlockDevice'] as const) expect(got[is](), `${name} ${is}`).to.equal(want[is]());
    }
    expect([...listing].map((e) => e.name)).to.deep.equal(['c', 'link']);
  });
});
