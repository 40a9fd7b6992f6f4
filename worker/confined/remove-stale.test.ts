import { expect } from 'chai';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfinedFsError, RootSession, removeStale } from './index.js';

// `-o type=local,mode=delete` removes from the user's directory what the image's result does not have, and that
// directory holds what an earlier (hostile) image wrote: root.c's `r` removes a whole entry and `J` lists a directory,
// neither ever following a symlink out of it.

describe('removing stale entries through the confined writer', () => {
  let base: string;
  let dest: string;
  let outside: string;
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'tsbuild-remove-stale-'));
    dest = join(base, 'dest');
    outside = join(base, 'outside');
    mkdirSync(dest);
    mkdirSync(join(outside, 'keep'), { recursive: true });
    writeFileSync(join(outside, 'keep', 'precious'), 'host file\n');
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  it('removes a tree whole and unlinks a symlink to a directory outside as a link, never descending it', async () => {
    mkdirSync(join(dest, 'tree/a/b/c'), { recursive: true });
    writeFileSync(join(dest, 'tree/a/b/c/file'), 'x');
    symlinkSync(join(outside, 'keep'), join(dest, 'tree/a/evil'));
    symlinkSync(outside, join(dest, 'evil'));
    symlinkSync('/', join(dest, 'root'));
    await RootSession.with(dest, {}, async (session) => {
      session.base('', 'beneath');
      session.remove('evil');
      session.remove('root');
      session.remove('tree');
      session.remove('absent');   // gone already: nothing to do
      await session.sync();
    });
    expect(readdirSync(dest)).to.deep.equal([]);
    expect(readFileSync(join(outside, 'keep', 'precious'), 'utf8')).to.equal('host file\n');
  });

  it('lists a directory with what is a directory, refuses to list or remove through a symlink, and never removes the base', async () => {
    mkdirSync(join(dest, 'd'));
    writeFileSync(join(dest, 'f'), '');
    symlinkSync(outside, join(dest, 'link'));
    const listed = await RootSession.with(dest, {}, async (session) => {
      session.base('', 'beneath');
      return session.list('');
    });
    expect(listed.sort((a, b) => String(a.name).localeCompare(String(b.name)))).to.deep.equal([
      { name: 'd', isDir: true }, { name: 'f', isDir: false }, { name: 'link', isDir: false }]);
    for (const attempt of [
      (s: RootSession) => s.list('link'),
      async (s: RootSession) => { s.remove('link/keep'); await s.sync(); },
      async (s: RootSession) => { s.remove(''); await s.sync(); },
    ]) {
      const err = await RootSession.with(dest, {}, async (session) => {
        session.base('', 'beneath');
        await attempt(session);
      }).then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(ConfinedFsError);
    }
    expect(readFileSync(join(outside, 'keep', 'precious'), 'utf8')).to.equal('host file\n');
    expect(lstatSync(join(dest, 'link')).isSymbolicLink()).to.equal(true);
  });

  it('keeps what the result has, at its place, and removes the rest, names that are not UTF-8 included', async () => {
    const result = join(base, 'result');
    mkdirSync(join(result, 'etc/sub'), { recursive: true });
    writeFileSync(join(result, 'etc/sub/kept'), '');
    writeFileSync(join(result, 'file'), '');
    symlinkSync('/etc', join(result, 'abs'));
    // dest as an earlier export and the user left it, platform directory and all.
    mkdirSync(join(dest, 'linux_amd64/etc/sub'), { recursive: true });
    writeFileSync(join(dest, 'linux_amd64/etc/sub/kept'), '');
    writeFileSync(join(dest, 'linux_amd64/etc/sub/stale'), '');
    writeFileSync(join(dest, 'linux_amd64/file'), '');
    symlinkSync('/etc', join(dest, 'linux_amd64/abs'));
    writeFileSync(Buffer.concat([Buffer.from(`${dest}/linux_amd64/caf`), Buffer.from([0xe9])]), '');
    symlinkSync(outside, join(dest, 'linux_amd64/etc/evil'));
    mkdirSync(join(dest, 'linux_arm64/old'), { recursive: true });
    writeFileSync(join(dest, 'top-stale'), '');
    const { removed } = await removeStale(dest, [{ dir: result, at: 'linux_amd64' }]);
    expect(removed).to.equal(5);
    expect(readdirSync(dest)).to.deep.equal(['linux_amd64']);
    expect(readdirSync(join(dest, 'linux_amd64')).sort()).to.deep.equal(['abs', 'etc', 'file']);
    expect(readdirSync(join(dest, 'linux_amd64/etc/sub'))).to.deep.equal(['kept']);
    expect(readlinkSync(join(dest, 'linux_amd64/abs'))).to.equal('/etc');
    expect(readFileSync(join(outside, 'keep', 'precious'), 'utf8')).to.equal('host file\n');
    expect(lstatSync('/etc/passwd').isFile()).to.equal(true);
  });

  it('takes the union of the trees merged into one destination', async () => {
    const a = join(base, 'a');
    const b = join(base, 'b');
    mkdirSync(join(a, 'shared'), { recursive: true });
    mkdirSync(join(b, 'shared'), { recursive: true });
    writeFileSync(join(a, 'shared/from-a'), '');
    writeFileSync(join(b, 'shared/from-b'), '');
    mkdirSync(join(dest, 'shared'));
    for (const f of ['shared/from-a', 'shared/from-b', 'shared/stale', 'stale']) writeFileSync(join(dest, f), '');
    const { removed } = await removeStale(dest, [{ dir: a, at: '' }, { dir: b, at: '' }]);
    expect(removed).to.equal(2);
    expect(readdirSync(join(dest, 'shared')).sort()).to.deep.equal(['from-a', 'from-b']);
  });
});
