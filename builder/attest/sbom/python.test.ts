import { expect } from 'chai';
import { parsePythonMetadata } from './python.js';

describe('parsePythonMetadata', () => {
  it('reads Name, Version and License from the headers and ignores the description after them', () => {
    const text = 'Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nLicense: Apache 2.0\n\nName: not-this\nVersion: 0\n';
    expect(parsePythonMetadata(text, '/usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA')).to.deep.equal([
      { kind: 'pypi', name: 'requests', version: '2.31.0', license: 'Apache 2.0', foundIn: '/usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA' },
    ]);
  });
});
