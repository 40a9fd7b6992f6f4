import { expect } from 'chai';
import { parseApkInstalled } from './apk.js';

describe('parseApkInstalled', () => {
  it('reads name, version, arch, licence and origin of each package and ignores the file lists', () => {
    const db = 'C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\no:musl\nF:lib\nR:ld-musl-x86_64.so.1\n\nP:libcrypto3\nV:3.1.4-r5\nA:x86_64\nL:Apache-2.0\no:openssl\n';
    expect(parseApkInstalled(db, '/lib/apk/db/installed')).to.deep.equal([
      { kind: 'apk', name: 'musl', version: '1.2.4-r2', arch: 'x86_64', license: 'MIT', foundIn: '/lib/apk/db/installed' },
      { kind: 'apk', name: 'libcrypto3', version: '3.1.4-r5', arch: 'x86_64', license: 'Apache-2.0', source: 'openssl', foundIn: '/lib/apk/db/installed' },
    ]);
  });
});
