import { expect } from 'chai';
import { DEFAULT_GC_POLICY, gcPolicyFromEnv, parseDiskSpace, pruneSpaceOptions } from './gc.js';

describe('automatic gc policy', () => {
  it('is BuildKit\'s default cap when nothing is set, and off with TSBUILD_GC=off', () => {
    expect(gcPolicyFromEnv({})).to.deep.equal(DEFAULT_GC_POLICY);
    expect(gcPolicyFromEnv({ TSBUILD_GC: 'on' })).to.deep.equal(DEFAULT_GC_POLICY);
    for (const off of ['off', '0', 'false', 'OFF']) expect(gcPolicyFromEnv({ TSBUILD_GC: off }), off).to.equal(undefined);
  });

  it('replaces the whole default when any limit is set, as a buildkitd.toml gcpolicy does', () => {
    expect(gcPolicyFromEnv({ TSBUILD_GC_MAX_USED_SPACE: '10GB' })).to.deep.equal({ maxUsedSpace: { bytes: 10 * 1024 ** 3 } });
    expect(gcPolicyFromEnv({ TSBUILD_GC_RESERVED_SPACE: '5%', TSBUILD_GC_MIN_FREE_SPACE: '512MB' }))
      .to.deep.equal({ reservedSpace: { percent: 5 }, minFreeSpace: { bytes: 512 * 1024 ** 2 } });
  });

  it('refuses what it cannot read with INVALID_ARGUMENT naming the setting', () => {
    expect(() => gcPolicyFromEnv({ TSBUILD_GC: 'sometimes' })).to.throw().with.property('code', 'INVALID_ARGUMENT');
    expect(() => parseDiskSpace('lots', '--max-used-space')).to.throw(/--max-used-space/).with.property('code', 'INVALID_ARGUMENT');
    expect(() => parseDiskSpace('101%', 'X')).to.throw().with.property('code', 'INVALID_ARGUMENT');
  });

  it('turns percentages into bytes of the root\'s filesystem, and asks the filesystem only when it must', () => {
    expect(pruneSpaceOptions({ maxUsedSpace: { bytes: 100 } }, '/nonexistent-needs-no-statfs')).to.deep.equal({ maxUsedSpace: 100 });
    const opts = pruneSpaceOptions({ reservedSpace: { percent: 10 }, minFreeSpace: { bytes: 1 } }, '/');
    expect(opts.reservedSpace).to.be.greaterThan(0);
    expect(opts.minFreeSpace).to.equal(1);
    expect(opts.freeSpace).to.be.greaterThan(0);
  });
});
