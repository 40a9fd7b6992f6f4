import { expect } from 'chai';
import { parseAttestFlags } from './attest-options.js';

describe('parseAttestFlags', () => {
  const cases: [string, Parameters<typeof parseAttestFlags>[0], Record<string, string>, unknown][] = [
    ['nothing asked: nothing attached', {}, {}, {}],
    ['--provenance=true is mode=min', { provenance: 'true' }, {}, { provenance: { mode: 'min', version: 'v0.2' } }],
    ['--provenance=mode=max,version=v1', { provenance: 'mode=max,version=v1' }, {}, { provenance: { mode: 'max', version: 'v1' } }],
    ['--provenance=false is off', { provenance: 'false' }, {}, {}],
    ['--provenance=none is off, over --attest', { provenance: 'none', attest: ['type=provenance,mode=max'] }, {}, {}],
    ['--sbom=true', { sbom: 'true' }, {}, { sbom: { scanStage: false } }],
    ['--attest type=sbom with the scan-stage build arg', { attest: ['type=sbom'] }, { BUILDKIT_SBOM_SCAN_STAGE: 'true' }, { sbom: { scanStage: true } }],
    ['--attest type=provenance,disabled=true', { attest: ['type=provenance,disabled=true'] }, {}, {}],
  ];
  for (const [name, flags, args, expected] of cases) it(name, () => expect(parseAttestFlags(flags, args)).to.deep.equal(expected));

  it('refuses an unknown mode, type or option with a usage error', () => {
    for (const flags of [{ provenance: 'mode=full' }, { attest: ['type=vex'] }, { sbom: 'generator=docker/scout-sbom-indexer' }, { provenance: 'colour=red' }]) {
      expect(() => parseAttestFlags(flags, {}), JSON.stringify(flags)).to.throw().with.property('code', 'INVALID_ARGUMENT');
    }
  });
});
