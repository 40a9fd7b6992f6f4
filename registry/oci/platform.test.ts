import { expect } from 'chai';
import { formatPlatformAll, hostPlatform, normalizePlatform, parsePlatform, platformMatches, platformParseError, type Platform } from './platform.js';

describe('platform names', () => {
  it('reads the aliases containerd normalises: x86_64, aarch64, i386, armhf, armel', () => {
    expect(parsePlatform('linux/x86_64')).to.deep.equal({ os: 'linux', architecture: 'amd64' });
    expect(parsePlatform('linux/aarch64')).to.deep.equal({ os: 'linux', architecture: 'arm64' });
    expect(parsePlatform('linux/i386')).to.deep.equal({ os: 'linux', architecture: '386' });
    expect(parsePlatform('linux/armhf')).to.deep.equal({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(parsePlatform('linux/armel')).to.deep.equal({ os: 'linux', architecture: 'arm', variant: 'v6' });
  });

  it('reads one part alone as containerd\'s Parse: an OS on the host\'s architecture, else an architecture on the host\'s OS', () => {
    const host = hostPlatform();
    expect(parsePlatform('arm64')).to.deep.equal({ os: host.os, architecture: 'arm64' });
    expect(parsePlatform('aarch64')).to.deep.equal({ os: host.os, architecture: 'arm64' });
    expect(parsePlatform('linux')).to.deep.equal({ os: 'linux', architecture: host.architecture });
    expect(parsePlatform('MacOS/arm64')).to.deep.equal({ os: 'darwin', architecture: 'arm64' });
    for (const bad of ['nonsense', 'linux/arm64/v8/x', 'linux//arm64', 'linux/arm*', '']) expect(parsePlatform(bad), bad).to.equal(undefined);
  });

  it('matches Windows images by OS version as containerd\'s windowsVersionMatcher: same major.minor, the build by LTSC release', () => {
    const win = (v: string): Platform => ({ os: 'windows', architecture: 'amd64', 'os.version': v });
    expect(platformMatches(win('1.2.3'), win('1.2.3'))).to.equal(true);
    expect(platformMatches(win('1.2.3'), win('1.1.0'))).to.equal(false);
    expect(platformMatches(win('10.0.17763'), win('10.0.17763.1234'))).to.equal(true);
    expect(platformMatches(win('10.0.17763'), win('10.0.20348'))).to.equal(false);
    expect(platformMatches(win('10.0.26100'), win('10.0.20348.1006'))).to.equal(true);   // LTSC 2025 runs LTSC 2022 images
    expect(platformMatches(win('10.0.20348'), win('10.0.26100'))).to.equal(false);
    expect(platformMatches({ os: 'windows', architecture: 'amd64' }, win('10.0.20348'))).to.equal(true);
    expect(platformMatches(win('10.0.20348'), { os: 'windows', architecture: 'amd64' })).to.equal(true);
    // Only Windows compares versions.
    expect(platformMatches({ os: 'linux', architecture: 'amd64', 'os.version': '1' }, { os: 'linux', architecture: 'amd64', 'os.version': '2' })).to.equal(true);
  });

  it('says why a platform does not parse in containerd\'s words (platforms.Parse), as BuildKit\'s errors quote them', () => {
    expect(platformParseError('linux/amd64')).to.equal(undefined);
    expect(platformParseError('linux/')).to.equal('"" is an invalid component of "linux/": platform specifier component must match "^[A-Za-z0-9_.-]+$": invalid argument');
    expect(platformParseError('li nux/amd64')).to.equal('"li nux" is an invalid OS component of "li nux/amd64": OSAndVersion specifier component must match '
      + String.raw`"^([A-Za-z0-9_-]+)(?:\\(([A-Za-z0-9_.%-]*)((?:\\+[A-Za-z0-9_.%-]+)*)\\))?$": invalid argument`);
    expect(platformParseError('nonsense')).to.equal('"nonsense": unknown operating system or architecture: invalid argument');
    expect(platformParseError('linux/arm64/v8/x')).to.equal('"linux/arm64/v8/x": cannot parse platform specifier: invalid argument');
    expect(platformParseError('linux/arm*')).to.equal('"linux/arm*": wildcards not yet supported: invalid argument');
  });

  it('reads and writes the OS version as containerd\'s Parse and FormatAll: windows(10.0.17763)/amd64', () => {
    const win = parsePlatform('windows(10.0.17763)/amd64');
    expect(win).to.deep.equal({ os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763' });
    expect(formatPlatformAll(win ?? { os: '', architecture: '' })).to.equal('windows(10.0.17763)/amd64');
    expect(parsePlatform('linux()/arm64')).to.deep.equal({ os: 'linux', architecture: 'arm64' });
    expect(formatPlatformAll({ os: 'x', architecture: 'y', 'os.version': 'a(b)+c/d%' })).to.equal('x(a%28b%29%2Bc%2Fd%25)/y');
    expect(parsePlatform('x(a%28b%29%2Bc%2Fd%25)/y')).to.deep.equal({ os: 'x', architecture: 'y', 'os.version': 'a(b)+c/d%' });
    for (const bad of ['windows(10/amd64', 'windows(1)(2)/amd64', 'windows(%zz)/amd64']) expect(parsePlatform(bad), bad).to.equal(undefined);
  });

  it('normalises as containerd\'s Normalize: arm64/v8 is arm64, arm is arm/v7, amd64/v1 is amd64', () => {
    expect(normalizePlatform({ os: 'linux', architecture: 'arm64', variant: 'v8' })).to.deep.equal({ os: 'linux', architecture: 'arm64' });
    expect(normalizePlatform({ os: 'linux', architecture: 'arm' })).to.deep.equal({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(normalizePlatform({ os: 'Linux', architecture: 'x86_64', variant: 'v1' })).to.deep.equal({ os: 'linux', architecture: 'amd64' });
  });

  it('matches after normalising both sides: arm64/v8 is arm64, arm is arm/v7, amd64/v1 is amd64', () => {
    expect(platformMatches({ os: 'linux', architecture: 'arm64', variant: 'v8' }, { os: 'linux', architecture: 'arm64' })).to.equal(true);
    expect(platformMatches({ os: 'linux', architecture: 'arm' }, { os: 'linux', architecture: 'arm', variant: 'v7' })).to.equal(true);
    expect(platformMatches({ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'amd64', variant: 'v1' })).to.equal(true);
    expect(platformMatches({ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'amd64', variant: 'v2' })).to.equal(false);
    expect(platformMatches({ os: 'linux', architecture: 'arm64' }, { os: 'windows', architecture: 'arm64' })).to.equal(false);
  });
});
