import { expect } from 'chai';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OverlayRootfs } from './index.js';
import { resolveUser } from './user.js';

describe('resolveUser', () => {
  let root: string;
  let rootfs: OverlayRootfs;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsbuild-user-'));
    const [upper, lower] = [join(root, 'upper'), join(root, 'lower')];
    await mkdir(join(upper, 'etc'), { recursive: true });
    await mkdir(join(lower, 'etc'), { recursive: true });
    // The upper layer's passwd (a later RUN useradd) hides the lower one; /etc/group only exists below.
    await writeFile(join(lower, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    await writeFile(join(upper, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nweb:x:33:33::/var/www:/bin/sh\n# comment\nbroken\n');
    await writeFile(join(lower, 'etc/group'), 'root:x:0:\nweb:x:33:\nstaff:x:50:web,other\nops:x:60:web\n');
    rootfs = { upperDir: upper, workDir: join(root, 'work'), lowerDirs: [lower] };
  });
  after(async () => { await rm(root, { recursive: true, force: true }); });

  const cases: [string, { uid: number; gid: number; groups: number[]; home: string }][] = [
    ['', { uid: 0, gid: 0, groups: [0], home: '/root' }],
    ['web', { uid: 33, gid: 33, groups: [33, 50, 60], home: '/var/www' }],
    ['33', { uid: 33, gid: 33, groups: [33, 50, 60], home: '/var/www' }],
    ['web:staff', { uid: 33, gid: 50, groups: [50], home: '/var/www' }],
    ['1234', { uid: 1234, gid: 0, groups: [0], home: '/' }],
    ['1234:99', { uid: 1234, gid: 99, groups: [99], home: '/' }],
  ];
  for (const [user, want] of cases) {
    it(`resolves USER "${user}" from the upper passwd over the lower one`, async () => {
      expect(await resolveUser(user, rootfs, root)).to.deep.equal(want);
    });
  }

  it('fails with RUN_FAILED for an unknown user name or group name', async () => {
    for (const user of ['ghost', 'web:ghosts']) {
      const err = await resolveUser(user, rootfs, root).then(() => undefined, (e: unknown) => e);
      expect(err, user).to.have.property('code', 'RUN_FAILED');
    }
  });
});
