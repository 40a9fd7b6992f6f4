import { expect } from 'chai';
import { parseReference } from '../../registry/index.js';
import type { ManifestDocument } from '../../registry/index.js';
import { inspectText } from './inspect-text.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const INDEX = 'application/vnd.oci.image.index.v1+json';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

describe('inspectText', () => {
  it('aligns as buildx\'s tabwriter does: the manifests up to one with annotations, then its annotations on their own', () => {
    const document = {
      kind: 'index', mediaType: INDEX,
      index: {
        schemaVersion: 2, mediaType: INDEX, manifests: [
          { mediaType: MANIFEST, digest: A, size: 1, platform: { os: 'linux', architecture: 'amd64' } },
          { mediaType: MANIFEST, digest: B, size: 1, platform: { os: 'unknown', architecture: 'unknown' },
            annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': A } },
        ],
      },
    } as unknown as ManifestDocument;
    const text = inspectText({ kind: 'registry', ref: parseReference('r.example/app:1') }, { mediaType: INDEX, digest: `sha256:${'c'.repeat(64)}`, size: 1 }, document);
    // Widths: "MediaType:" + 1 = 11; "Manifests:" + 1 = 11; "  Annotations:" + 1 = 15; "    vnd.docker.reference.digest:" + 1 = 33.
    expect(text.split('\n')).to.deep.equal([
      'Name:      r.example/app:1',
      `MediaType: ${INDEX}`,
      `Digest:    sha256:${'c'.repeat(64)}`,
      ' '.repeat(11),
      'Manifests: ',
      `  Name:        r.example/app@${A}`,
      `  MediaType:   ${MANIFEST}`,
      '  Platform:    linux/amd64',
      ' '.repeat(15),
      `  Name:        r.example/app@${B}`,
      `  MediaType:   ${MANIFEST}`,
      '  Platform:    unknown/unknown',
      '  Annotations: ',
      `    vnd.docker.reference.digest: ${A}`,
      '    vnd.docker.reference.type:   attestation-manifest',
      '',
    ]);
  });
});
