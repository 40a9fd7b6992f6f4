import { expect } from 'chai';
import type { Descriptor } from '../oci/descriptor.js';
import { MediaType } from '../oci/media-types.js';
import { referrersTag, withReferrer } from './referrers-tag.js';

const hex = 'ab'.repeat(32);
const sbom: Descriptor = { mediaType: MediaType.ociManifest, digest: `sha256:${'1'.repeat(64)}`, size: 500, artifactType: 'application/spdx+json', annotations: { a: 'b' } };
const sig: Descriptor = { mediaType: MediaType.ociManifest, digest: `sha256:${'2'.repeat(64)}`, size: 600, artifactType: 'application/vnd.sig' };

describe('referrers tag schema', () => {
  it('names the tag alg-hex after the subject digest', () => {
    expect(referrersTag(`sha256:${hex}`)).to.equal(`sha256-${hex}`);
  });

  it('starts an OCI index with the first referrer, keeping its artifactType and annotations', () => {
    const index = withReferrer(undefined, sbom);
    expect(index?.mediaType).to.equal(MediaType.ociIndex);
    expect(index?.manifests).to.deep.equal([sbom]);
  });

  it('appends a new referrer after the existing ones and leaves an already listed one alone', () => {
    const one = withReferrer(undefined, sbom);
    const two = withReferrer(one, sig);
    expect(two?.manifests.map((m) => m.digest)).to.deep.equal([sbom.digest, sig.digest]);
    expect(withReferrer(two, { ...sbom })).to.equal(undefined);
  });
});
