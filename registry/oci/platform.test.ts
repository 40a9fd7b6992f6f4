import { expect } from 'chai';
import { parsePlatform, platformMatches } from './platform.js';

describe('platform names', () => {
  it('reads the aliases containerd normalises: x86_64, aarch64, i386, armhf, armel', () => {
    expect(parsePlatform('linux/x86_64')).to.deep.equal({ os: 'linux', architecture: 'amd64' });
    expect(parsePlatform('linux/aarch64')).to.deep.equal({ os: 'linux', architecture: 'arm64' });
    expect(parsePlatform('linux/i386')).to.deep.equal({ os: 'linux', architecture: '386' });
    expect(parsePlatform('linux/armhf')).to.deep.equal({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(parsePlatform('linux/armel')).to.deep.equal({ os: 'linux', architecture: 'arm', variant: 'v6' });
  });

  it('matches after normalising both sides: arm64/v8 is arm64, arm is arm/v7, amd64/v1 is amd64', () => {
    expect(platformMatches({ os: 'linux', architecture: 'arm64', variant: 'v8' }, { os: 'linux', architecture: 'arm64' })).to.equal(true);
    expect(platformMatches({ os: 'linux', architecture: 'arm' }, { os: 'linux', architecture: 'arm', variant: 'v7' })).to.equal(true);
    expect(platformMatches({ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'amd64', variant: 'v1' })).to.equal(true);
    expect(platformMatches({ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'amd64', variant: 'v2' })).to.equal(false);
    expect(platformMatches({ os: 'linux', architecture: 'arm64' }, { os: 'windows', architecture: 'arm64' })).to.equal(false);
  });
});
