import { expect } from 'chai';
import { pluginCommandLine, pluginMetadata } from './docker-cli-plugin.js';

describe('docker CLI plugin', () => {
  const asPlugin = { DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND: '/usr/bin/docker' };
  const cases: [string[], { argv: string[]; dockerConfig?: string }][] = [
    [['buildx', 'build', '-t', 'a:1', '.'], { argv: ['build', '-t', 'a:1', '.'] }],
    [['buildx'], { argv: [] }],
    [['-D', '--tls', 'buildx', 'version'], { argv: ['version'] }],
    [['--context', 'default', '-H', 'unix:///x.sock', '-l', 'debug', 'buildx', 'ls'], { argv: ['ls'] }],
    [['--config', '/cfg', 'buildx', 'imagetools', 'inspect', 'r/a'], { argv: ['imagetools', 'inspect', 'r/a'], dockerConfig: '/cfg' }],
    [['--config=/cfg2', '--log-level=warn', 'buildx', 'buildx'], { argv: ['buildx'], dockerConfig: '/cfg2' }],
  ];
  for (const [argv, want] of cases) {
    it(`reads \`docker-buildx ${argv.join(' ')}\`, run by docker, as \`tsbuild ${want.argv.join(' ')}\``, () => {
      expect(pluginCommandLine(argv, asPlugin)).to.deep.equal(want);
    });
  }

  it('leaves a command line alone when docker did not run it (tsbuild itself, or a `buildx` link)', () => {
    expect(pluginCommandLine(['buildx', 'build', '.'], {})).to.deep.equal({ argv: ['buildx', 'build', '.'] });
  });

  it('describes itself as docker/cli reads plugin metadata: schema 0.1.0, a vendor, a buildx version', () => {
    const meta = JSON.parse(pluginMetadata()) as Record<string, string>;
    expect(meta['SchemaVersion']).to.equal('0.1.0');
    expect(meta['Vendor']).to.be.a('string').and.not.equal('');
    expect(meta['Version']).to.match(/^v\d+\.\d+\.\d+\+tsbuild\./);
    expect(pluginMetadata()).to.match(/^\{\n {5}"SchemaVersion"/);
  });
});
