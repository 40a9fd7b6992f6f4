import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfinedFsError, RootSession } from '../../worker/confined/index.js';

// The confined writer's ops are encoded into one reused buffer on the TypeScript side (session-wire.ts): many ops
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

  it('writes files, whiteouts and opaque markers under names that are not UTF-8, and names such a path in a failure by its bytes', async () => {
    const latin = (text: string): Buffer => Buffer.from(text, 'latin1');   // "é" as the one byte 0xe9: not UTF-8
    await RootSession.with(root, {}, async (session) => {
      session.policy('layer');
      session.dir(latin('d\u00e9'), false);
      session.opaque(latin('d\u00e9'));
      await session.file(latin('d\u00e9/caf\u00e9'), Buffer.from('latin\n'));
      session.whiteout(latin('gone\u00e9'));
    });
    const dir = Buffer.concat([Buffer.from(`${root}/`), latin('d\u00e9')]);
    expect(readdirSync(root, { encoding: 'buffer' }).map((n) => n.toString('latin1')).sort()).to.deep.equal(['d\u00e9', 'gone\u00e9']);
    expect(readFileSync(Buffer.concat([dir, latin('/caf\u00e9')]), 'utf8')).to.equal('latin\n');
    // An argv string cannot hold the byte 0xe9: the shell's printf makes it.
    const opaque = execFileSync('sh', ['-c', 'getfattr --absolute-names --only-values -n trusted.overlay.opaque "$1/d$(printf \'\\351\')"', 'sh', root]);
    expect(opaque.toString()).to.equal('y');
    expect(lstatSync(Buffer.concat([Buffer.from(`${root}/`), latin('gone\u00e9')])).isCharacterDevice()).to.equal(true);
    const err = await RootSession.with(root, {}, async (session) => {
      session.policy('layer');
      session.hardlink(latin('l\u00e9'), latin('missing\u00e9'));
      await session.sync();
    }).then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(ConfinedFsError);
    expect((err as ConfinedFsError).arg).to.equal('l\\xe9');
  });

  it('sets a source entry\'s xattrs on a directory, a symlink and a fifo, never overlay\'s own, never through the link', async () => {
    // fsutil copyXAttrs reads and sets with llistxattr/lgetxattr/lsetxattr: a symlink's own xattrs (trusted.*; user.*
    // are refused on links), not its target's. Root on the host may set trusted.* on any of them.
    const src = mkdtempSync(join(tmpdir(), 'tsbuild-session-src-'));
    try {
      const sh = (script: string): Buffer => execFileSync('sh', ['-c', script, 'sh', src]);
      sh('cd "$1" && mkdir d && mkfifo p && ln -s d l && setfattr -n user.k -v dir d && setfattr -n trusted.overlay.opaque -v y d'
        + ' && setfattr -h -n trusted.k -v link l && setfattr -n trusted.k -v fifo p');
      await RootSession.with(root, { sourceRoot: src }, async (session) => {
        session.policy('copy');
        session.dir('d', false);
        session.xattrsFrom('d');
        session.meta({ uid: 0, gid: 0, mode: 0o755, mtimeNs: 1_000_000_000n });
        session.symlink('l', 'd');
        session.xattrsFrom('l');
        session.meta({ uid: 0, gid: 0 });
        session.node('p', 'fifo');
        session.xattrsFrom('p');
        session.meta({ uid: 0, gid: 0, mode: 0o644 });
      });
      const attrs = (p: string): string => execFileSync('getfattr', ['-h', '--absolute-names', '-d', '-m', '-', join(root, p)], { encoding: 'utf8' })
        .split('\n').filter((l) => l !== '' && !l.startsWith('#')).join(' ');
      expect({ d: attrs('d'), l: attrs('l'), p: attrs('p') }).to.deep.equal({ d: 'user.k="dir"', l: 'trusted.k="link"', p: 'trusted.k="fifo"' });
      expect(lstatSync(join(root, 'd')).mtimeMs).to.equal(1000);
    } finally {
      rmSync(src, { recursive: true, force: true });
    }
  });

  it('refuses a field with a NUL before anything is sent', async () => {
    const err = await RootSession.with(root, {}, async (session) => { session.dir('a\0b', false); }).then(() => undefined, (e: unknown) => e);
    expect(String(err)).to.contain('NUL');
  });
});
