import { expect } from 'chai';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { resolveInRoot } from './resolve-in-root.js';

describe('resolveInRoot', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'tsbuild-rir-'));
    await mkdir(path.join(root, 'opt/app'), { recursive: true });
    await mkdir(path.join(root, 'usr/lib'), { recursive: true });
    await writeFile(path.join(root, 'opt/app/file'), 'x');
    await symlink('/opt/app', path.join(root, 'app'));                // absolute, inside the image
    await symlink('../usr/lib', path.join(root, 'opt/lib'));          // relative
    await symlink('../../../../../../etc', path.join(root, 'escape')); // climbs past the root
    await symlink('/', path.join(root, 'rootlink'));
    await symlink('/loop2', path.join(root, 'loop1'));
    await symlink('/loop1', path.join(root, 'loop2'));
    await symlink('/opt/app/file', path.join(root, 'filelink'));
    await symlink('/nowhere/deeper', path.join(root, 'dangling'));
  });
  after(async () => { await rm(root, { recursive: true, force: true }); });

  const cases: [string, string, boolean, string][] = [
    ['a plain path maps under the root', '/opt/app/file', true, 'opt/app/file'],
    ['an absolute symlink resolves relative to the root', '/app/file', true, 'opt/app/file'],
    ['an absolute symlink as the last component is followed when asked', '/app', true, 'opt/app'],
    ['the last component is kept as the link when not following', '/app', false, 'app'],
    ['a relative symlink resolves from its own directory', '/opt/lib/x.so', true, 'usr/lib/x.so'],
    ['dot-dot clamps at the root', '/../../../etc/passwd', true, 'etc/passwd'],
    ['dot-dot after a symlink applies to the link target', '/app/../lib', false, 'opt/lib'],
    ['a symlink climbing past the root is clamped to it', '/escape/passwd', true, 'etc/passwd'],
    ['a link to / stays at the root', '/rootlink/rootlink/etc', true, 'etc'],
    ['missing components are appended as written', '/opt/new/dir', true, 'opt/new/dir'],
    ['a dangling absolute link resolves inside the root', '/dangling/x', true, 'nowhere/deeper/x'],
    ['a relative path is taken from the root', 'app/file', true, 'opt/app/file'],
    ['the root itself resolves to the root', '/', true, ''],
    ['a link to a file is followed to the file', '/filelink', true, 'opt/app/file'],
  ];
  for (const [name, input, followLast, expected] of cases) {
    it(`${name} (${input})`, async () => {
      expect(await resolveInRoot(root, input, { followLast })).to.equal(path.join(root, expected));
    });
  }

  it('refuses a symlink loop instead of spinning', async () => {
    const err = await resolveInRoot(root, '/loop1/x', { followLast: true }).catch((e: unknown) => e);
    expect(err).to.have.property('code', 'INVALID_ARGUMENT');
  });

  it('never returns a path outside the root, whatever the input', async () => {
    const inputs = ['..', '../..', '/escape', '/escape/../..', 'rootlink/../../x', '/app/../../../../y', '/./././..'];
    for (const input of inputs) {
      const out = await resolveInRoot(root, input, { followLast: true });
      expect(out === root || out.startsWith(`${root}/`), `${input} → ${out}`).to.equal(true);
    }
  });
});
