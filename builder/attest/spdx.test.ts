import { expect } from 'chai';
import { purlOf, spdxDocument } from './spdx.js';

describe('SPDX documents', () => {
  it('gives each package kind its purl', () => {
    expect(purlOf({ kind: 'deb', name: 'hello', version: '2.10-3', arch: 'amd64', foundIn: '/' }, { id: 'debian', versionId: '12' })).to.equal('pkg:deb/debian/hello@2.10-3?arch=amd64&distro=debian-12');
    expect(purlOf({ kind: 'npm', name: '@types/node', version: '24.0.0', foundIn: '/' })).to.equal('pkg:npm/%40types/node@24.0.0');
    expect(purlOf({ kind: 'pypi', name: 'Foo_Bar', version: '1.0', foundIn: '/' })).to.equal('pkg:pypi/foo-bar@1.0');
    expect(purlOf({ kind: 'apk', name: 'musl', version: '1.2.4-r2', foundIn: '/' })).to.equal('pkg:apk/alpine/musl@1.2.4-r2');
  });
  it('writes an SPDX 2.3 document that describes every package, with valid SPDX ids and a stable namespace', () => {
    const pkgs = [{ kind: 'npm' as const, name: '@scope/a b', version: '1.0.0', foundIn: '/x' }];
    const doc = spdxDocument({ name: 'img', digest: 'sha256:00' }, pkgs, { created: '2024-01-01T00:00:00Z', creator: 'tsbuild' });
    expect(doc.spdxVersion).to.equal('SPDX-2.3');
    expect(doc.packages[0]?.SPDXID).to.match(/^SPDXRef-[A-Za-z0-9.-]+$/);
    expect(doc.relationships).to.deep.equal([{ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: doc.packages[0]?.SPDXID }]);
    expect(spdxDocument({ name: 'img', digest: 'sha256:00' }, pkgs, { created: '2030-01-01T00:00:00Z', creator: 'tsbuild' }).documentNamespace).to.equal(doc.documentNamespace);
  });
});
