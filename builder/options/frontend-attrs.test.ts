import { expect } from 'chai';
import { buildSettingsAttrs } from './frontend-attrs.js';

describe('buildSettingsAttrs (buildx build/opt.go toSolveOpt)', () => {
  it('writes each setting under buildx\'s key and in its format', () => {
    expect(buildSettingsAttrs({
      platforms: [{ os: 'linux', architecture: 'arm', variant: 'v7' }, { os: 'linux', architecture: 'amd64' }], labels: { team: 'infra' },
      namedContexts: { base: { kind: 'image', ref: 'alpine:3' }, lay: { kind: 'image', ref: 'oci-layout:///l:v1' }, context: { kind: 'local', dir: '/x' }, src: { kind: 'remote', url: 'https://u:p@h/r.git' } },
      network: 'none', extraHosts: ['10.0.0.5\tdb', '::1\tdb'], noCache: false, noCacheFilter: ['a', 'b'], shmSize: 1024, ulimits: [{ name: 'nofile', soft: 1, hard: -1 }],
    })).to.deep.equal({
      'label:team': 'infra', 'context:base': 'docker-image://alpine:3', 'context:lay': 'oci-layout:///l:v1', 'context:context': 'local:_context',
      'context:src': 'https://u:xxxxx@h/r.git', 'no-cache': 'a,b', platform: 'linux/arm/v7,linux/amd64', 'force-network-mode': 'none',
      'add-hosts': 'db=10.0.0.5,db=::1', 'shm-size': '1024', ulimit: 'nofile=1:-1',
    });
  });

  it('sends nothing for the defaults, and --no-cache over --no-cache-filter', () => {
    expect(buildSettingsAttrs({ labels: {}, noCache: false, noCacheFilter: [], network: 'default' })).to.deep.equal({});
    expect(buildSettingsAttrs({ labels: {}, noCache: true, noCacheFilter: ['a'] })).to.deep.equal({ 'no-cache': '' });
  });
});
