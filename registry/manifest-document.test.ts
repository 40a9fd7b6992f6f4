import { expect } from 'chai';
import { parseManifestDocument } from './manifest-document.js';
import { MediaType } from './oci/media-types.js';
import { RegistryError } from './registry-error.js';

const D = `sha256:${'b'.repeat(64)}`;
const bytes = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));
const desc = { mediaType: MediaType.ociLayerGzip, digest: D, size: 3 };

describe('parseManifestDocument', () => {
  it('reads an OCI manifest and keeps its descriptors', () => {
    const doc = parseManifestDocument(bytes({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: { ...desc, mediaType: MediaType.ociConfig }, layers: [desc] }), undefined, 'r');
    expect(doc.kind).to.equal('manifest');
    expect(doc.kind === 'manifest' && doc.manifest.layers[0]?.digest).to.equal(D);
  });

  it('takes the media type from Content-Type when the document has none (Docker schema 2 lists)', () => {
    const doc = parseManifestDocument(bytes({ schemaVersion: 2, manifests: [{ ...desc, mediaType: MediaType.dockerManifest, platform: { os: 'linux', architecture: 'amd64' } }] }), `${MediaType.dockerManifestList}; charset=utf-8`, 'r');
    expect(doc.kind).to.equal('index');
    expect(doc.mediaType).to.equal(MediaType.dockerManifestList);
  });

  const bad: [string, unknown][] = [
    ['schema 1', { schemaVersion: 1, fsLayers: [] }],
    ['a layer without a digest', { schemaVersion: 2, mediaType: MediaType.ociManifest, config: desc, layers: [{ mediaType: 'x', size: 1 }] }],
    ['a negative size', { schemaVersion: 2, mediaType: MediaType.ociManifest, config: { ...desc, size: -1 }, layers: [] }],
    ['an index entry with a broken platform', { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [{ ...desc, platform: { os: 'linux' } }] }],
    ['an unknown media type', { schemaVersion: 2, mediaType: 'text/html' }],
    ['an array', [1, 2]],
  ];
  for (const [what, value] of bad) {
    it(`refuses ${what} with a RegistryError`, () => {
      expect(() => parseManifestDocument(bytes(value), undefined, 'r')).to.throw(RegistryError);
    });
  }
});
