import { expect } from 'chai';
import { lsJson, lsTable, truncPlatforms } from './ls-format.js';
import { goBytesSize } from '../../common/index.js';
import { inspectText } from './inspect-text.js';
import { builderViews, type MachineFacts } from './view.js';

const facts: MachineFacts = {
  root: '/var/lib/tsbuild', version: 'tsbuild 0.1.0', platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7'],
  labels: { 'org.mobyproject.buildkit.worker.snapshotter': 'overlayfs' },
  gcPolicy: [{ all: false, filter: null, keepDuration: 0, reservedSpace: 10 * 2 ** 30, maxUsedSpace: 0, minFreeSpace: 5 * 2 ** 29 }],
};
const records = { current: 'ci', builders: [{ name: 'ci', driver: 'docker-container', nodes: [{ name: 'ci0', platforms: ['linux/arm64'], driverOpts: {}, flags: [] }] }] };
const views = builderViews(records, 'ci', facts);

describe('ls and inspect as buildx prints them', () => {
  it('prints the ls table in docker\'s table format (tabwriter 10,1,3; ` \\_ ` node rows; `*` on the current builder)', () => {
    // buildx commands/ls.go lsDefaultTableFormat and lsIndent; docker cli formatter.Context tabwriter(10, 1, 3).
    expect(lsTable(views, true)).to.equal([
      'NAME/NODE     DRIVER/ENDPOINT                STATUS    BUILDKIT        PLATFORMS',
      'default       docker                                                   ',
      ' \\_ default    \\_ local:///var/lib/tsbuild   running   tsbuild 0.1.0   linux/amd64, linux/arm64, linux/arm/v7',
      'ci*           docker                                                   ',
      ' \\_ ci0        \\_ local:///var/lib/tsbuild   running   tsbuild 0.1.0   linux/amd64, linux/arm64*, linux/arm/v7',
      '',
    ].join('\n'));
  });

  it('truncates platforms as buildx\'s truncPlatforms does: major groups first, (+N) groups, (N more)', () => {
    const all = ['linux/amd64', 'linux/amd64/v2', 'linux/386', 'linux/arm64', 'linux/riscv64', 'linux/ppc64le', 'linux/s390x', 'linux/arm/v7', 'linux/arm/v6'];
    expect(truncPlatforms(all, 4)).to.equal('linux/amd64 (+2), linux/arm64, linux/arm (+2), linux/ppc64le, (3 more)');
    expect(truncPlatforms(['linux/amd64*', 'linux/amd64/v2'], 4)).to.equal('linux/amd64* (+2)');
  });

  it('writes --format json one builder a line, keys sorted as Go writes a map, empty node fields omitted', () => {
    const lines = lsJson(views).trimEnd().split('\n');
    expect(lines).to.have.length(2);
    const ci = JSON.parse(lines[1] ?? '') as Record<string, unknown>;
    expect(Object.keys(ci)).to.deep.equal(['Current', 'Driver', 'Dynamic', 'LastActivity', 'Name', 'Nodes']);
    expect(ci).to.deep.include({ Current: true, Name: 'ci', Driver: 'docker', LastActivity: '0001-01-01T00:00:00Z' });
    const node = (ci.Nodes as Record<string, unknown>[])[0] ?? {};
    expect(Object.keys(node)).to.deep.equal(['Endpoint', 'GCPolicy', 'Labels', 'Name', 'Platforms', 'Status', 'Version']);
    expect(node.Platforms).to.deep.equal(['linux/arm64', 'linux/amd64', 'linux/arm/v7']);
  });

  it('prints inspect as buildx\'s inspect.go does (tabwriter 0,0,1; Labels and GC rules indented by a tab)', () => {
    expect(inspectText(views[1] ?? views[0] ?? (undefined as never))).to.equal([
      'Name:   ci',
      'Driver: docker',
      '',
      'Nodes:',
      'Name:             ci0',
      'Endpoint:         local:///var/lib/tsbuild',
      'Status:           running',
      'BuildKit version: tsbuild 0.1.0',
      'Platforms:        linux/arm64*, linux/amd64, linux/arm/v7',
      'Labels:',
      ' org.mobyproject.buildkit.worker.snapshotter: overlayfs',
      'GC Policy rule#0:',
      ' All:            false',
      ' Reserved Space: 10GiB',
      ' Min Free Space: 2.5GiB',
      '',
    ].join('\n'));
  });

  it('writes sizes as go-units BytesSize (%.4g, binary units)', () => {
    expect([0, 1023, 1024, 1536, 10_000_000_000, 2 ** 40].map(goBytesSize)).to.deep.equal(['0B', '1023B', '1KiB', '1.5KiB', '9.313GiB', '1TiB']);
  });
});

describe('ls --format TEMPLATE as docker\'s formatter runs it', () => {
  it('renders a table template with its header and tabwriter, and a plain template a line per row', async () => {
    const { lsTemplate } = await import('./ls-format.js');
    expect(await lsTemplate(views, 'table {{.Name}}\\t{{.Status}}', true)).to.equal(
      'NAME/NODE     STATUS\ndefault       \n \\_ default   running\nci*           \n \\_ ci0       running\n');
    expect(await lsTemplate(views, '{{.Name}} {{.DriverEndpoint}}', true)).to.equal(
      'default docker\ndefault local:///var/lib/tsbuild\nci docker\nci0 local:///var/lib/tsbuild\n');
  });

  it('fails a bad template with ls\'s fields in the hint', async () => {
    const { lsTemplate } = await import('./ls-format.js');
    let caught: unknown;
    try { await lsTemplate(views, '{{.Nope}}', true); } catch (err) { caught = err; }
    expect(caught).to.have.property('code', 'TEMPLATE_FAILED');
    expect((caught as { hint: string }).hint).to.contain('.DriverEndpoint');
  });
});
