import { expect } from 'chai';
import { parseRegistryConfig, registryConfigPaths } from './registry-config.js';
import { isTsbuildError } from '../common/index.js';

function refusal(text: string): string {
  try {
    parseRegistryConfig(text, '/etc/tsbuild/tsbuild.toml');
  } catch (err) {
    if (isTsbuildError(err) && err.code === 'INVALID_ARGUMENT') return err.message;
    throw err;
  }
  throw new Error('expected the config to be refused');
}

describe('tsbuild.toml registry settings', () => {
  it('reads buildkitd.toml-shaped [registry."HOST"] tables: mirrors, http, insecure, ca', () => {
    const config = parseRegistryConfig([
      '[registry."docker.io"]',
      'mirrors = ["mirror.example:5000", "10.0.0.2"]',
      '',
      '[registry."mirror.example:5000"]',
      'http = true',
      '',
      '[registry."corp.example"]',
      'insecure = true',
      'ca = ["/etc/corp/ca.pem"]',
    ].join('\n'), 'f.toml');
    expect(config.hosts).to.deep.equal({
      'docker.io': { mirrors: ['mirror.example:5000', '10.0.0.2'], http: false, insecure: false, ca: [] },
      'mirror.example:5000': { mirrors: [], http: true, insecure: false, ca: [] },
      'corp.example': { mirrors: [], http: false, insecure: true, ca: ['/etc/corp/ca.pem'] },
    });
  });

  it('refuses bad TOML with file:line:column, unknown keys, wrong types and mirrors with a scheme', () => {
    expect(refusal('[registry."a"]\nmirrors = [\n')).to.match(/^\/etc\/tsbuild\/tsbuild\.toml:\d+:\d+: /);
    expect(refusal('debug = true\n')).to.contain('unknown key "debug"');
    expect(refusal('[registry."a"]\nmirror = ["b"]\n')).to.contain('registry."a": unknown key "mirror"');
    expect(refusal('[registry."a"]\nhttp = "yes"\n')).to.contain('registry."a".http must be true or false');
    expect(refusal('[registry."a"]\nmirrors = "b"\n')).to.contain('must be a list of strings');
    expect(refusal('[registry."a"]\nmirrors = ["https://b"]\n')).to.contain('is not a host[:port]');
    expect(refusal('[registry."https://a"]\n')).to.contain('not a registry host[:port]');
  });

  it('looks in $TSBUILD_CONFIG alone when set, else the XDG config dir, then /etc/tsbuild', () => {
    expect(registryConfigPaths({ TSBUILD_CONFIG: '/x.toml', HOME: '/root' })).to.deep.equal(['/x.toml']);
    expect(registryConfigPaths({ XDG_CONFIG_HOME: '/cfg', HOME: '/root' })).to.deep.equal(['/cfg/tsbuild/tsbuild.toml', '/etc/tsbuild/tsbuild.toml']);
    expect(registryConfigPaths({ HOME: '/root' })).to.deep.equal(['/root/.config/tsbuild/tsbuild.toml', '/etc/tsbuild/tsbuild.toml']);
  });
});
