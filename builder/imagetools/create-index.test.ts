import { expect } from 'chai';
import { indexBytes } from './create-index.js';

describe('indexBytes (the index imagetools create pushes)', () => {
  it('is json.MarshalIndent of ocispecs.Index, as buildx writes it: struct order, 2-space indent, Go escapes, map keys sorted', () => {
    const digest = `sha256:${'a'.repeat(64)}` as const;
    const bytes = indexBytes({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{
        platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
        size: 123, digest, mediaType: 'application/vnd.oci.image.manifest.v1+json',
        annotations: { 'z.key': 'a<b', 'a.key': '1' },
      }],
      annotations: { 'org.opencontainers.image.description': 'x & y' },
    });
    expect(Buffer.from(bytes).toString('utf8')).to.equal([
      '{',
      '  "schemaVersion": 2,',
      '  "mediaType": "application/vnd.oci.image.index.v1+json",',
      '  "manifests": [',
      '    {',
      '      "mediaType": "application/vnd.oci.image.manifest.v1+json",',
      `      "digest": "${digest}",`,
      '      "size": 123,',
      '      "annotations": {',
      '        "a.key": "1",',
      '        "z.key": "a\\u003cb"',
      '      },',
      '      "platform": {',
      '        "architecture": "arm64",',
      '        "os": "linux",',
      '        "variant": "v8"',
      '      }',
      '    }',
      '  ],',
      '  "annotations": {',
      '    "org.opencontainers.image.description": "x \\u0026 y"',
      '  }',
      '}',
    ].join('\n'));
  });
});
