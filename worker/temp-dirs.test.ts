import { expect } from 'chai';
import { tempDirOwner } from './temp-dirs.js';

describe('tempDirOwner (whose entry of a state root\'s temp dir a name is)', () => {
  const cases: [string, number | undefined][] = [
    ['mnt-4242-AbC123', 4242],
    ['download-7-x', 7],
    ['overlay-probe-31337-q1w2e3', 31337],   // a kind with a dash: the rootless probes (it was never removed)
    ['fuse-probe-12-zz', 12],
    ['exec-0-x', undefined],
    ['mnt-12', undefined],
    ['mnt--12-x', undefined],
    ['Mnt-12-x', undefined],
    ['12-34-x', undefined],
    ['lock.db', undefined],
  ];
  for (const [name, pid] of cases) it(`reads ${JSON.stringify(name)} as ${pid ?? 'no temp dir'}`, () => expect(tempDirOwner(name)).to.equal(pid));
});
