import { expect } from 'chai';
import { MediaType, sha256 } from '../registry/oci/index.js';
import type { Digest } from '../registry/oci/index.js';
import { planPrune, pruneTarget } from './prune-plan.js';
import type { PruneCandidate } from './prune-plan.js';

function rec(name: string, lastUsed: number, inputs: string[] = [], blobs: string[] = [name]): PruneCandidate {
  return {
    key: sha256(name),
    inputs: inputs.map((i) => sha256(i)),
    result: { snapshot: `s-${name}`, layers: blobs.map((b) => ({ descriptor: { mediaType: MediaType.ociLayerGzip, digest: sha256(b), size: 1 }, diffId: sha256(b) })) },
    size: 10,
    created: lastUsed,
    lastUsed,
  };
}
const keys = (...names: string[]): Digest[] => names.map((n) => sha256(n));

describe('planPrune', () => {
  it('removes everything unprotected when given no option', () => {
    expect(planPrune([rec('a', 1), rec('b', 2)], new Set(), {}).keys).to.deep.equal(keys('a', 'b'));
  });

  it('never removes a parent while a child built on it stays, even when the parent looks older', () => {
    // The parent's own lastUsed is older than an unrelated record's, but its child was used last of all.
    const records = [rec('parent', 1), rec('child', 9, ['parent'], ['parent', 'child']), rec('other', 5)];
    const plan = planPrune(records, new Set(), { reservedSpace: 20 });
    expect(plan.keys).to.deep.equal(keys('other'));
  });

  it('removes children before their parents and lists their snapshots in that order', () => {
    const records = [rec('parent', 1), rec('child', 1, ['parent'], ['parent', 'child'])];
    const plan = planPrune(records, new Set(), { all: true });
    expect(plan.snapshots).to.deep.equal(['s-child', 's-parent']);
    expect(plan.blobs).to.have.members(keys('parent', 'child'));
  });

  it('keeps a leased record and everything it stands on', () => {
    const records = [rec('base', 1), rec('step', 2, ['base'], ['base', 'step']), rec('loose', 3)];
    const plan = planPrune(records, new Set(keys('step')), { all: true });
    expect(plan.keys).to.deep.equal(keys('loose'));
    expect(plan.blobs).to.deep.equal(keys('loose'));
  });

  it('does not return a blob that a kept record still uses', () => {
    const records = [rec('a', 1, [], ['shared', 'a']), rec('b', 2, [], ['shared', 'b'])];
    const plan = planPrune(records, new Set(), { reservedSpace: 10 });
    expect(plan.keys).to.deep.equal(keys('a'));
    expect(plan.blobs).to.deep.equal(keys('a'));
  });

  it('with maxUsedSpace removes least recently used records only until the cache fits, never below reservedSpace', () => {
    const records = [rec('a', 1), rec('b', 2), rec('c', 3), rec('d', 4)];
    expect(planPrune(records, new Set(), { maxUsedSpace: 25 }).keys).to.deep.equal(keys('a', 'b'));
    expect(planPrune(records, new Set(), { maxUsedSpace: 5, reservedSpace: 30 }).keys).to.deep.equal(keys('a'));
    expect(planPrune(records, new Set(), { maxUsedSpace: 40 }).keys).to.deep.equal([]);
  });

  it('with minFreeSpace frees what the filesystem lacks, and nothing when it has enough free', () => {
    const records = [rec('a', 1), rec('b', 2), rec('c', 3)];
    expect(planPrune(records, new Set(), { minFreeSpace: 100, freeSpace: 85 }).keys).to.deep.equal(keys('a', 'b'));
    expect(planPrune(records, new Set(), { minFreeSpace: 100, freeSpace: 200 }).keys).to.deep.equal([]);
  });
});

describe('pruneTarget', () => {
  const cases: [string, number, Parameters<typeof pruneTarget>[1], number | undefined][] = [
    ['no space option: no size rule', 100, {}, undefined],
    ['only the reserve: keep at most it', 100, { reservedSpace: 40 }, 40],
    ['within maxUsedSpace: nothing to do', 100, { maxUsedSpace: 200, reservedSpace: 10 }, 100],
    ['over maxUsedSpace: down to it', 100, { maxUsedSpace: 60, reservedSpace: 10 }, 60],
    ['over maxUsedSpace but the reserve is higher: down to the reserve', 100, { maxUsedSpace: 60, reservedSpace: 80 }, 80],
    ['short of minFreeSpace by 30: 30 less', 100, { minFreeSpace: 50, freeSpace: 20 }, 70],
    ['the lower of the two limits wins', 100, { maxUsedSpace: 90, minFreeSpace: 50, freeSpace: 20 }, 70],
    ['minFreeSpace without a free figure does nothing', 100, { minFreeSpace: 50 }, 100],
  ];
  for (const [name, total, opts, want] of cases) it(name, () => expect(pruneTarget(total, opts)).to.equal(want));
});
