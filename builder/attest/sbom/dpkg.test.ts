import { expect } from 'chai';
import { parseDpkgStatus } from './dpkg.js';

const STATUS = `Package: hello
Status: install ok installed
Architecture: amd64
Version: 2.10-3
Description: example package based on GNU hello
 The GNU hello program produces a familiar, friendly greeting.

Package: libgcc-s1
Status: install ok installed
Source: gcc-12 (12.2.0-14)
Architecture: amd64
Version: 12.2.0-14

Package: oldpkg
Status: deinstall ok config-files
Version: 1.0
`;

describe('parseDpkgStatus', () => {
  it('lists installed packages with version, architecture and source, and skips removed ones', () => {
    expect(parseDpkgStatus(STATUS, '/var/lib/dpkg/status')).to.deep.equal([
      { kind: 'deb', name: 'hello', version: '2.10-3', arch: 'amd64', foundIn: '/var/lib/dpkg/status' },
      { kind: 'deb', name: 'libgcc-s1', version: '12.2.0-14', arch: 'amd64', source: 'gcc-12', foundIn: '/var/lib/dpkg/status' },
    ]);
  });
  it('takes a distroless status.d file (no Status field) as installed', () => {
    expect(parseDpkgStatus('Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n', '/var/lib/dpkg/status.d/tzdata')).to.have.length(1);
  });
});
