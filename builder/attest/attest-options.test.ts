import { expect } from 'chai';
import { defaultProvenanceApplies, parseAttestFlags } from './attest-options.js';

describe('parseAttestFlags', () => {
  const cases: [string, Parameters<typeof parseAttestFlags>[0], Record<string, string>, unknown][] = [
    ['nothing asked: nothing attached', {}, {}, {}],
    // No version given is SLSA v1, BuildKit's default since dockerfile/1.22.0 (frontend/attestations/parse.go).
    // Asked for without a mode: BuildKit's default, max (solver/llbsolver/provenance.go); only buildx's implicit default is min.
    ['--provenance=true is mode=max, SLSA v1', { provenance: 'true' }, {}, { provenance: { mode: 'max', version: 'v1' } }],
    ['--provenance=mode=max,version=v1', { provenance: 'mode=max,version=v1' }, {}, { provenance: { mode: 'max', version: 'v1' } }],
    ['--provenance=mode=max,version=v0.2 keeps v0.2', { provenance: 'mode=max,version=v0.2' }, {}, { provenance: { mode: 'max', version: 'v0.2' } }],
    ['--attest type=provenance,version=v0.2 keeps v0.2', { attest: ['type=provenance,version=v0.2'] }, {}, { provenance: { mode: 'max', version: 'v0.2' } }],
    ['--attest type=provenance,mode=min is min', { attest: ['type=provenance,mode=min'] }, {}, { provenance: { mode: 'min', version: 'v1' } }],
    ['--provenance=false is off', { provenance: 'false' }, {}, {}],
    ['--provenance=false is off, over --attest', { provenance: 'false', attest: ['type=provenance,mode=max'] }, {}, {}],
    ['--provenance=F (a Go ParseBool spelling) is off', { provenance: 'F' }, {}, {}],
    ['--provenance="" is not given, as in buildx', { provenance: '' }, {}, {}],
    ['--provenance=mode=full is max, as BuildKit reads it', { provenance: 'mode=full' }, {}, { provenance: { mode: 'max', version: 'v1' } }],
    ['--attest type=provenance,disabled=false is on, max', { attest: ['type=provenance,disabled=false'] }, {}, { provenance: { mode: 'max', version: 'v1' } }],
    ['--sbom=true', { sbom: 'true' }, {}, { sbom: { scanStage: false } }],
    ['--attest type=sbom with the scan-stage build arg', { attest: ['type=sbom'] }, { BUILDKIT_SBOM_SCAN_STAGE: 'true' }, { sbom: { scanStage: true } }],
    ['--attest type=provenance,disabled=true', { attest: ['type=provenance,disabled=true'] }, {}, {}],
    ['--provenance=mode=min,reproducible=true is the claim BuildKit writes', { provenance: 'mode=min,reproducible=true' }, {}, { provenance: { mode: 'min', version: 'v1', reproducible: true } }],
  ];
  for (const [name, flags, args, expected] of cases) it(name, () => expect(parseAttestFlags(flags, args)).to.deep.equal(expected));

  it('adds min provenance (SLSA v1, inline-only as buildx\'s) by default only where no flag mentions provenance', () => {
    const on = { defaultProvenance: true };
    expect(parseAttestFlags({}, {}, on)).to.deep.equal({ provenance: { mode: 'min', version: 'v1', inlineOnly: true } });
    expect(parseAttestFlags({ sbom: 'true' }, {}, on)).to.deep.equal({ provenance: { mode: 'min', version: 'v1', inlineOnly: true }, sbom: { scanStage: false } });
    expect(parseAttestFlags({ provenance: 'mode=min,inline-only=true,filename=p.json' }, {})).to.deep.equal({ provenance: { mode: 'min', version: 'v1', inlineOnly: true, filename: 'p.json' } });
    expect(parseAttestFlags({ provenance: 'mode=max' }, {}, on)).to.deep.equal({ provenance: { mode: 'max', version: 'v1' } });
    for (const off of [{ provenance: 'false' }, { provenance: '0' }, { provenance: 'FALSE' }, { attest: ['type=provenance,disabled=true'] }]) {
      expect(parseAttestFlags(off, {}, on), JSON.stringify(off)).to.deep.equal({});
    }
  });

  it('reads BUILDKIT_ATTEST_PROVENANCE and BUILDKIT_ATTEST_SBOM build args as BuildKit does, v1 unless version=v0.2; a flag naming the type wins', () => {
    const on = { defaultProvenance: true };
    expect(parseAttestFlags({}, { BUILDKIT_ATTEST_PROVENANCE: 'mode=max' })).to.deep.equal({ provenance: { mode: 'max', version: 'v1' } });
    expect(parseAttestFlags({}, { BUILDKIT_ATTEST_PROVENANCE: '' })).to.deep.equal({ provenance: { mode: 'max', version: 'v1' } });
    expect(parseAttestFlags({}, { BUILDKIT_ATTEST_PROVENANCE: 'mode=max,version=v0.2' })).to.deep.equal({ provenance: { mode: 'max', version: 'v0.2' } });
    expect(parseAttestFlags({}, { BUILDKIT_ATTEST_PROVENANCE: 'mode=max' }, on)).to.deep.equal({ provenance: { mode: 'max', version: 'v1' } });
    expect(parseAttestFlags({}, { BUILDKIT_ATTEST_PROVENANCE: 'false' }, on)).to.deep.equal({});
    expect(parseAttestFlags({ provenance: 'false' }, { BUILDKIT_ATTEST_PROVENANCE: 'mode=max' })).to.deep.equal({});
    expect(parseAttestFlags({ attest: ['type=provenance,mode=min,version=v0.2'] }, { BUILDKIT_ATTEST_PROVENANCE: 'mode=max' })).to.deep.equal({ provenance: { mode: 'min', version: 'v0.2' } });
    expect(parseAttestFlags({}, { BUILDKIT_ATTEST_SBOM: '' })).to.deep.equal({ sbom: { scanStage: false } });
    for (const args of [{ BUILDKIT_ATTEST_VEX: '' }, { BUILDKIT_ATTEST_PROVENANCE: 'version=v3' }, { BUILDKIT_ATTEST_PROVENANCE: 'mode=fast' }] as Record<string, string>[]) {
      expect(() => parseAttestFlags({}, args), JSON.stringify(args)).to.throw().with.property('code', 'INVALID_ARGUMENT');
    }
  });

  it('applies the default to pushed images and OCI layouts, not to docker, local, tar or unpushed outputs', () => {
    const cases: [Parameters<typeof defaultProvenanceApplies>[0], boolean][] = [
      [[{ type: 'image', names: ['r/a'], push: true }], true],
      [[{ type: 'oci', dest: 'x.tar', tar: true, names: [] }], true],
      [[{ type: 'local', dest: 'out' }, { type: 'oci', dest: 'x', tar: false, names: [] }], true],
      [[{ type: 'image', names: ['r/a'], push: false }], false],
      [[{ type: 'docker', dest: 'x.tar', names: [] }], false],
      [[{ type: 'local', dest: 'out' }], false],
      [[{ type: 'tar', dest: 'x.tar' }], false],
      [[], false],
    ];
    for (const [outputs, expected] of cases) expect(defaultProvenanceApplies(outputs, {}), JSON.stringify(outputs)).to.equal(expected);
  });

  it('turns the default off with BUILDX_NO_DEFAULT_ATTESTATIONS set true, as buildx reads it', () => {
    const push = [{ type: 'image' as const, names: ['r/a'], push: true }];
    for (const value of ['1', 'true', 'TRUE', 't']) expect(defaultProvenanceApplies(push, { BUILDX_NO_DEFAULT_ATTESTATIONS: value }), value).to.equal(false);
    for (const value of ['0', 'false', '', 'nope']) expect(defaultProvenanceApplies(push, { BUILDX_NO_DEFAULT_ATTESTATIONS: value }), value).to.equal(true);
  });

  it('refuses what buildx\'s Attest.UnmarshalText refuses: a disabled= that is no ParseBool value, a bare field, a lone non-boolean', () => {
    for (const flags of [
      { attest: ['type=provenance,disabled=maybe'] }, { attest: ['type=sbom,disabled=yes'] }, { attest: ['type=provenance,true'] },
      { provenance: 'none' }, { provenance: 'yes' }, { sbom: 'off' }, { provenance: 'tRuE' }, { provenance: 'true,mode=max' },
    ]) {
      expect(() => parseAttestFlags(flags, {}), JSON.stringify(flags)).to.throw().with.property('code', 'INVALID_ARGUMENT');
    }
  });

  it('splits a value as buildx\'s csvvalue does: a field quoted whole keeps its commas; an empty field or a stray quote is refused', () => {
    expect(parseAttestFlags({ attest: ['type=provenance,"builder-id=https://ci.example/run?a=1,b=2"'] }, {}))
      .to.deep.equal({ provenance: { mode: 'max', version: 'v1', builderId: 'https://ci.example/run?a=1,b=2' } });
    for (const flags of [{ attest: ['type=sbom,,scan-stage=true'] }, { provenance: 'mode=max,' }, { attest: ['type=provenance,mode="max"'] }, { attest: [''] }]) {
      expect(() => parseAttestFlags(flags, {}), JSON.stringify(flags)).to.throw().with.property('code', 'INVALID_ARGUMENT');
    }
  });

  it('refuses an unknown mode, type or option with a usage error', () => {
    for (const flags of [{ provenance: 'mode=fast' }, { attest: ['type=vex'] }, { sbom: 'generator=docker/scout-sbom-indexer' }, { provenance: 'colour=red' }, { provenance: 'reproducible=maybe' }, { sbom: 'scan-context=true' }]) {
      expect(() => parseAttestFlags(flags, {}), JSON.stringify(flags)).to.throw().with.property('code', 'INVALID_ARGUMENT');
    }
  });
});
