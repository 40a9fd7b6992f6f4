import { expect } from 'chai';
import { parseOutput } from './output.js';

describe('parseOutput', () => {
  const cases: [string, string[], unknown][] = [
    ['type=oci,dest=out.tar', [], { type: 'oci', dest: 'out.tar', tar: true, names: [] }],
    ['type=oci,dest=layout,tar=false', ['a:1'], { type: 'oci', dest: 'layout', tar: false, names: ['a:1'] }],
    ['type=registry', ['r/a:1'], { type: 'image', names: ['r/a:1'], push: true }],
    ['type=image,name=r/a:1,push=true', [], { type: 'image', names: ['r/a:1'], push: true }],
    ['type=image,"name=r/a:1,r/a:2"', [], { type: 'image', names: ['r/a:1', 'r/a:2'], push: false }],
    ['type=docker,dest=img.tar', ['x'], { type: 'docker', dest: 'img.tar', names: ['x'] }],
    ['type=local,dest=out', [], { type: 'local', dest: 'out' }],
    // mode= as BuildKit's ParseLocalExporterMode reads it: trimmed, any case; copy is the default and is not recorded.
    ['type=local,dest=out,mode=delete', [], { type: 'local', dest: 'out', mode: 'delete' }],
    ['type=local,dest=out,mode= DELETE ', [], { type: 'local', dest: 'out', mode: 'delete' }],
    ['type=local,dest=out,mode=Copy', [], { type: 'local', dest: 'out' }],
    ['type=local,dest=out,mode=', [], { type: 'local', dest: 'out' }],
    ['./out', [], { type: 'local', dest: './out' }],
    ['-', [], { type: 'tar', dest: '-' }],
    // buildx's ExportEntry.UnmarshalText: one field, written without quotes, not starting with type=, is the local
    // directory, `=` and all.
    ['dest=out', [], { type: 'local', dest: 'dest=out' }],
    ['name=x', [], { type: 'local', dest: 'name=x' }],
    // CreateExports (build/opt.go): a tar file output without dest= goes to stdout.
    ['type=tar', [], { type: 'tar', dest: '-' }],
    ['type=oci', [], { type: 'oci', dest: '-', tar: true, names: [] }],
    // The key is trimmed and lower-cased, the value kept as written; a field quoted whole keeps its commas.
    ['type=local, DEST=out', [], { type: 'local', dest: 'out' }],
    ['type=local,dest= out', [], { type: 'local', dest: ' out' }],
    ['type=local,"dest=say ""hi"", a,b"', [], { type: 'local', dest: 'say "hi", a,b' }],
    // BuildKit's oci-artifact (exporter/containerimage/opts.go): attestation manifests as OCI artifacts.
    ['type=image,name=r/a:1,push=true,oci-mediatypes=true,oci-artifact=true', [], { type: 'image', names: ['r/a:1'], push: true, ociMediatypes: true, ociArtifact: true }],
  ];
  for (const [text, tags, want] of cases) {
    it(`reads ${text} as buildx does`, () => expect(parseOutput(text, tags)).to.deep.equal(want));
  }

  it('refuses oci-artifact=true with oci-mediatypes=false, as BuildKit\'s ImageCommitOpts.Load', () => {
    expect(() => parseOutput('type=image,name=r/a,oci-mediatypes=false,oci-artifact=true', [])).to.throw(/"oci-artifact=true" conflicts with "oci-mediatypes=false"/).with.property('code', 'INVALID_ARGUMENT');
  });

  it('reads oci-artifact=false, and BUILDX_NO_DEFAULT_OCI_ARTIFACT=true as its default for image and oci outputs (buildx build/opt.go)', () => {
    expect(parseOutput('type=oci,dest=o.tar,oci-artifact=false', [], {})).to.deep.include({ ociArtifact: false });
    expect(parseOutput('type=registry', ['r/a:1'], { BUILDX_NO_DEFAULT_OCI_ARTIFACT: 'true' })).to.deep.include({ ociArtifact: false });
    expect(parseOutput('type=oci,dest=o.tar', [], { BUILDX_NO_DEFAULT_OCI_ARTIFACT: '1' })).to.deep.include({ ociArtifact: false });
    expect(parseOutput('type=docker,dest=o.tar', [], { BUILDX_NO_DEFAULT_OCI_ARTIFACT: 'true' })).not.to.have.property('ociArtifact');
    expect(parseOutput('type=registry', ['r/a:1'], { BUILDX_NO_DEFAULT_OCI_ARTIFACT: 'false' })).not.to.have.property('ociArtifact');
    expect(parseOutput('type=oci,dest=o.tar,oci-artifact=true', [], { BUILDX_NO_DEFAULT_OCI_ARTIFACT: 'true' })).to.deep.include({ ociArtifact: true });
  });

  it('refuses a local mode other than copy or delete in BuildKit\'s words', () => {
    expect(() => parseOutput('type=local,dest=out,mode=mirror', [])).to.throw('invalid local exporter mode "mirror"').with.property('code', 'INVALID_ARGUMENT');
    expect(() => parseOutput('type=tar,dest=out,mode=delete', [])).to.throw('attribute "mode" is not supported for type=tar');
  });

  it('refuses an unknown type with INVALID_ARGUMENT', () => {
    expect(() => parseOutput('type=floppy', [])).to.throw().with.property('code', 'INVALID_ARGUMENT');
  });

  it('refuses a directory output without dest, or with dest=- (stdout), as buildx\'s CreateExports does', () => {
    for (const text of ['type=local', 'type=local,dest=', 'type=local,dest=-', 'type=oci,tar=false', 'type=oci,tar=false,dest=-']) {
      expect(() => parseOutput(text, []), text).to.throw(/dest (is required|cannot be stdout) for (local|oci) exporter/).with.property('code', 'INVALID_ARGUMENT');
    }
  });

  it('refuses what csvvalue refuses, and a field that is not key=value (an empty one included), as buildx does', () => {
    const cases: [string, RegExp][] = [
      ['type=local,dest="out"', /column 17: bare " in non-quoted-field/],
      ['type=local,"dest=out', /column 13: extraneous or missing " in quoted-field/],
      ['"out"', /invalid value "out"/],
      ['out,', /invalid value "out"/],
      ['type=local,dest=out,', /invalid value ""/],
      [',,,', /invalid value ""/],
      ['type=local,,dest=out', /invalid value ""/],
      ['type=local,out', /invalid value "out"/],
      ['dest=out,x=y', /type= is missing/],
    ];
    for (const [text, message] of cases) expect(() => parseOutput(text, []), text).to.throw(message).with.property('code', 'INVALID_ARGUMENT');
  });
});
