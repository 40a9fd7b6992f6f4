import { expect } from 'chai';
import type { ImageIndex } from './oci/image.js';
import { MediaType } from './oci/media-types.js';
import { selectPlatform } from './platform-select.js';
import { RegistryError } from './registry-error.js';

const d = (c: string) => `sha256:${c.repeat(64)}` as const;
const index: ImageIndex = {
  schemaVersion: 2,
  manifests: [
    { mediaType: MediaType.ociManifest, digest: d('1'), size: 1, platform: { os: 'linux', architecture: 'amd64' } },
    { mediaType: MediaType.ociManifest, digest: d('2'), size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
    { mediaType: MediaType.ociManifest, digest: d('3'), size: 1, platform: { os: 'linux', architecture: 'arm64' } },
    { mediaType: MediaType.ociManifest, digest: d('4'), size: 1, platform: { os: 'unknown', architecture: 'unknown' } },
  ],
};

describe('selectPlatform', () => {
  it('picks the entry for the wanted os and architecture', () => {
    expect(selectPlatform(index, { os: 'linux', architecture: 'amd64' }, 'r').digest).to.equal(d('1'));
  });

  it('matches arm64/v8 to an arm64 entry without a variant, as containerd does', () => {
    expect(selectPlatform(index, { os: 'linux', architecture: 'arm64', variant: 'v8' }, 'r').digest).to.equal(d('3'));
  });

  it('ranks as containerd\'s platforms.Only: the platform itself first, then the fallbacks its CPU runs, never a higher variant', () => {
    const entry = (digit: string, architecture: string, variant?: string): ImageIndex['manifests'][number] =>
      ({ mediaType: MediaType.ociManifest, digest: d(digit), size: 1, platform: { os: 'linux', architecture, ...(variant ? { variant } : {}) } });
    const pick = (entries: ImageIndex['manifests'], wanted: string): string => {
      const [os = '', architecture = '', variant] = wanted.split('/');
      return selectPlatform({ schemaVersion: 2, manifests: entries }, { os, architecture, ...(variant ? { variant } : {}) }, 'r').digest;
    };
    // An amd64 host is never given amd64/v3 (its CPU may lack it), whatever comes first in the index.
    expect(pick([entry('5', 'amd64', 'v3'), entry('6', 'amd64')], 'linux/amd64')).to.equal(d('6'));
    expect(pick([entry('5', 'amd64', 'v3'), entry('6', 'amd64'), entry('7', 'amd64', 'v2')], 'linux/amd64/v3')).to.equal(d('5'));
    expect(pick([entry('6', 'amd64'), entry('7', 'amd64', 'v2')], 'linux/amd64/v3')).to.equal(d('7'));
    expect(pick([entry('6', 'amd64', 'v1')], 'linux/amd64/v2')).to.equal(d('6'));
    expect(pick([entry('8', '386')], 'linux/amd64')).to.equal(d('8'));
    expect(pick([entry('9', 'arm', 'v6')], 'linux/arm/v7')).to.equal(d('9'));
    expect(pick([entry('a', 'arm', 'v7'), entry('b', 'arm', 'v6')], 'linux/arm')).to.equal(d('a'));
    expect(pick([entry('c', 'arm', 'v7')], 'linux/arm64')).to.equal(d('c'));
    expect(() => pick([entry('9', 'arm', 'v6')], 'linux/arm/v5')).to.throw(RegistryError);
  });

  it('fails with PLATFORM_NOT_FOUND listing the real platforms but not attestation entries', () => {
    let err: unknown;
    try {
      selectPlatform(index, { os: 'linux', architecture: 'riscv64' }, 'r');
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(RegistryError);
    const e = err as RegistryError;
    expect(e.code).to.equal('PLATFORM_NOT_FOUND');
    expect(e.message).to.contain('linux/amd64, linux/arm/v7, linux/arm64').and.not.contain('unknown');
  });
});
