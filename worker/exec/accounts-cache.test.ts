import { expect } from 'chai';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RootSession } from '../confined/index.js';
import { ChainAccounts } from './accounts-cache.js';
import { execUser } from './user.js';

// Layers as a snapshot chain has them: base (passwd, group), then steps on top. Each step's rootfs is a fresh
// upper dir over the chain, top first.
describe('ChainAccounts (accounts of a chain, carried up while a layer leaves /etc alone)', () => {
  let root: string;
  const dir = (name: string): string => join(root, name);
  let chains: ChainAccounts;
  const userOf = async (lowers: string[], user: string): Promise<ReturnType<typeof execUser>> => {
    const upper = dir(`upper-${Math.random().toString(36).slice(2)}`);
    await mkdir(upper);
    const rootfs = { upperDir: upper, workDir: join(root, 'work'), lowerDirs: lowers };
    return RootSession.with(upper, { lowerRoots: lowers }, async (s) => execUser(user, await chains.of(rootfs, s, root)));
  };
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsbuild-accounts-'));
    await mkdir(dir('base/etc'), { recursive: true });
    await writeFile(dir('base/etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    await writeFile(dir('base/etc/group'), 'root:x:0:\nwheel:x:10:root\n');
    await mkdir(dir('plain'));
    await writeFile(dir('plain/step-1'), 'x');
    await mkdir(dir('adds-user/etc'), { recursive: true });
    await writeFile(dir('adds-user/etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nweb:x:33:33::/var/www:/bin/sh\n');
    await mkdir(dir('links-etc'));
    await symlink('usr/etc', dir('links-etc/etc'));
    await mkdir(dir('usr-etc/usr/etc'), { recursive: true });
    await writeFile(dir('usr-etc/usr/etc/passwd'), 'root:x:0:0:root:/home/root:/bin/sh\n');
  });
  beforeEach(() => { chains = new ChainAccounts(); });
  after(async () => { await rm(root, { recursive: true, force: true }); });

  it('carries the base accounts up through a layer without /etc (root keeps its groups from /etc/group)', async () => {
    expect(await userOf([dir('base')], '')).to.deep.equal({ uid: 0, gid: 0, groups: [0, 10], home: '/root' });
    // Committed dirs never change; changing this one shows which answers were read again and which carried up.
    await writeFile(dir('base/etc/group'), 'root:x:0:\n');
    try {
      expect(await userOf([dir('plain'), dir('base')], '')).to.deep.equal({ uid: 0, gid: 0, groups: [0, 10], home: '/root' });
      chains = new ChainAccounts();
      expect(await userOf([dir('plain'), dir('base')], '')).to.deep.equal({ uid: 0, gid: 0, groups: [0], home: '/root' });
    } finally {
      await writeFile(dir('base/etc/group'), 'root:x:0:\nwheel:x:10:root\n');
    }
  });

  it('reads again above a layer that changed /etc/passwd', async () => {
    await userOf([dir('base')], '');
    expect(await userOf([dir('adds-user'), dir('base')], 'web')).to.deep.include({ uid: 33, home: '/var/www' });
    expect(await userOf([dir('plain'), dir('adds-user'), dir('base')], 'web')).to.deep.include({ uid: 33, home: '/var/www' });
  });

  it('reads again through a symlinked /etc, and never carries such a view up', async () => {
    await userOf([dir('usr-etc'), dir('base')], '');
    expect(await userOf([dir('links-etc'), dir('usr-etc'), dir('base')], '')).to.deep.include({ home: '/home/root' });
    // The chain with the symlinked /etc is not plain: a layer above it that changes usr/etc must be seen.
    await mkdir(dir('usr-etc-2/usr/etc'), { recursive: true });
    await writeFile(dir('usr-etc-2/usr/etc/passwd'), 'root:x:0:0:root:/srv/root:/bin/sh\n');
    expect(await userOf([dir('usr-etc-2'), dir('links-etc'), dir('usr-etc'), dir('base')], '')).to.deep.include({ home: '/srv/root' });
  });

  // After a step on a fresh upper dir the driver notes what it left (its root and `etc`, looked at through the
  // step's session once its stubs are gone): the next step on that chain then needs no look before it runs.
  const noteAfterStep = async (upper: string, lowers: string[]): Promise<void> => {
    await RootSession.with(upper, {}, async (s) => {
      const [top, etc] = await Promise.all([s.lstat(0, ''), s.lstat(0, 'etc')]);
      chains.noteStep({ upperDir: upper, workDir: join(root, 'work'), lowerDirs: lowers }, top, etc);
    });
  };

  it('knows the chain a step made when the step left /etc alone', async () => {
    await userOf([dir('base')], '');
    expect(chains.known([dir('plain'), dir('base')]), 'not noted yet').to.equal(undefined);
    await noteAfterStep(dir('plain'), [dir('base')]);
    const known = chains.known([dir('plain'), dir('base')]);
    expect(known === undefined ? undefined : execUser('', known)).to.deep.equal({ uid: 0, gid: 0, groups: [0, 10], home: '/root' });
  });

  it('notes nothing for a step that touched /etc (a directory or a symlink) or over an unknown chain', async () => {
    await userOf([dir('base')], '');
    await noteAfterStep(dir('adds-user'), [dir('base')]);
    await noteAfterStep(dir('links-etc'), [dir('base')]);
    await noteAfterStep(dir('plain'), [dir('usr-etc-2')]);
    expect(chains.known([dir('adds-user'), dir('base')])).to.equal(undefined);
    expect(chains.known([dir('links-etc'), dir('base')])).to.equal(undefined);
    expect(chains.known([dir('plain'), dir('usr-etc-2')])).to.equal(undefined);
  });

  it('keeps what it read for the root\'s later workers, believed only while every lower dir is the same dir', async () => {
    const stored = dir('stored');
    const base = dir('stored-base');
    await mkdir(join(base, 'etc'), { recursive: true });
    await writeFile(join(base, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nweb:x:33:33::/var/www:/bin/sh\n');
    chains = new ChainAccounts(stored);
    expect(await userOf([base], 'web')).to.deep.include({ uid: 33 });
    // A later worker of the root knows the chain without reading it: a change a committed dir never has is not seen.
    await writeFile(join(base, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nweb:x:44:44::/var/www:/bin/sh\n');
    chains = new ChainAccounts(stored);
    const known = chains.known([base]);
    expect(known === undefined ? undefined : execUser('web', known)).to.deep.include({ uid: 33 });
    // The same path made anew (a root emptied and built again numbers its snapshots from 1): read again.
    await rm(base, { recursive: true });
    await mkdir(join(base, 'etc'), { recursive: true });
    await writeFile(join(base, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nweb:x:55:55::/var/www:/bin/sh\n');
    chains = new ChainAccounts(stored);
    expect(chains.known([base])).to.equal(undefined);
    expect(await userOf([base], 'web')).to.deep.include({ uid: 55 });
    // A file that is not a record is no answer.
    for (const f of await readdir(stored)) await writeFile(join(stored, f), '{"v":1,');
    chains = new ChainAccounts(stored);
    expect(chains.known([base])).to.equal(undefined);
  });
});

describe('execUser (RUN\'s USER, as runc resolves it)', () => {
  const accounts = { passwd: [{ name: 'root', uid: 0, gid: 0, home: '/root' }], group: [] } as unknown as Parameters<typeof execUser>[1];

  it('names a missing user as runc does, quoting one whose name holds control characters (a NUL, an escape)', () => {
    expect(() => execUser('app', accounts)).to.throw('unable to find user app: no matching entries in passwd file');
    expect(() => execUser('a\u0000b\u001b[2J', accounts)).to.throw('unable to find user "a\\u0000b\\u001b[2J": no matching entries in passwd file');
  });
});
