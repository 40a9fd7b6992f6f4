import { expect } from 'chai';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publishBusybox } from '../fixtures/busybox-image.js';
import { startRegistry, type RunningRegistry } from '../fixtures/registry-server.js';
import { run, tsbuild } from '../fixtures/tsbuild-cli.js';

// The cache report end to end: a real build, one source edit under `COPY . .`, a rebuild where the (slow) install
// re-runs for nothing, then `tsbuild report --format html` loaded in headless Chromium: the DOM after its script ran
// must show the timeline, the changed file and the reorder advice, and a screenshot must render.

const CHROMIUM = '/usr/bin/chromium';

async function chromium(args: string[], dir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const profile = await mkdtemp(join(dir, 'chromium-profile-'));
  return run(CHROMIUM, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, ...args,
  ]);
}

describe('tsbuild report --format html, rendered by headless Chromium', function () {
  this.timeout(240_000);
  let registry: RunningRegistry;
  let dir: string;
  let ctx: string;
  let root: string;
  let ref: string;

  before(async () => {
    await stat(CHROMIUM).catch(() => { throw new Error(`${CHROMIUM} is missing: install the Debian package chromium (apt-get install -y chromium)`); });
    registry = await startRegistry();
    await publishBusybox(registry.host, 'busybox');
    ref = `${registry.host}/report-app:1`;
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-report-'));
    ctx = join(dir, 'ctx');
    root = join(dir, 'root');
    await mkdir(join(ctx, 'src'), { recursive: true });
    await writeFile(join(ctx, 'package.json'), '{ "name": "app", "version": "1.0.0" }\n');
    await writeFile(join(ctx, 'src', 'index.js'), 'console.log("v1");\n');
    // A stand-in `npm` that takes a second, like a real install would take minutes.
    await writeFile(join(ctx, 'Dockerfile'), [
      `FROM ${registry.host}/busybox:latest`,
      `RUN mkdir -p /usr/local/bin && printf '#!/bin/sh\\nsleep 1\\necho installed > /app/node_modules.txt\\n' > /usr/local/bin/npm && chmod +x /usr/local/bin/npm`,
      'WORKDIR /app',
      'COPY . .',
      'RUN npm install',
      'LABEL org.example.note="<script>alert(1)</script>"',
      'CMD ["sh"]',
      '',
    ].join('\n'));
  });
  after(async () => {
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('shows the timeline, the changed file behind the miss and the reorder advice in the rendered page', async () => {
    const first = await tsbuild(['build', '--root', root, '--progress', 'plain', '-t', ref, '--push', ctx]);
    expect(first.code, first.stderr).to.equal(0);
    await writeFile(join(ctx, 'src', 'index.js'), 'console.log("v2");\n');
    const second = await tsbuild(['build', '--root', root, '--progress', 'plain', '-t', ref, '--push', ctx]);
    expect(second.code, second.stderr).to.equal(0);

    const file = join(dir, 'report.html');
    const report = await tsbuild(['report', '--root', root, '--format', 'html', '-o', file]);
    expect(report.code, report.stderr).to.equal(0);
    expect(await readFile(file, 'utf8')).to.match(/^<!doctype html>/);

    const dumped = await chromium(['--dump-dom', `file://${file}`], dir);
    expect(dumped.code, dumped.stderr).to.equal(0);
    const dom = dumped.stdout;
    expect(dom.match(/<div class="bar (hit|miss)"/g)).to.have.length(7);
    expect(dom.match(/<div class="bar miss"/g)).to.have.length(4);   // COPY, RUN npm install, LABEL, CMD
    const copyRow = /<tr id="step-s0\.3"[\s\S]*?<\/tr>/.exec(dom)?.[0] ?? '';
    expect(copyRow).to.contain('✗ missed');
    expect(copyRow).to.contain('<code class="file">src/index.js</code>');
    const installRow = /<tr id="step-s0\.4"[\s\S]*?<\/tr>/.exec(dom)?.[0] ?? '';
    expect(installRow).to.contain('href="#step-s0.3"');
    const advice = /<section class="panel advice warning" data-kind="reorder-copy">[\s\S]*?<\/section>/.exec(dom)?.[0] ?? '';
    expect(advice).to.contain('COPY package*.json ./\nRUN npm install\nCOPY . .');
    expect(dom).to.contain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(dom.match(/<script/g)).to.have.length(1);

    const png = join(dir, 'report.png');
    const shot = await chromium([`--screenshot=${png}`, '--window-size=1400,1000', `file://${file}`], dir);
    expect(shot.code, shot.stderr).to.equal(0);
    const bytes = await readFile(png);
    expect(bytes.subarray(1, 4).toString()).to.equal('PNG');
    expect(bytes.length).to.be.greaterThan(10_000);
  });

  it('prints the Markdown report of a build picked by id prefix to stdout', async () => {
    const history = await tsbuild(['history', '--root', root, '--json']);
    const [latest] = JSON.parse(history.stdout) as { id: string }[];
    const r = await tsbuild(['report', latest?.id.slice(0, 8) ?? '', '--root', root]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^## ✅ tsbuild: succeeded in .*, 3\/7 steps cached/);
    expect(r.stdout).to.contain('```dockerfile\nCOPY package*.json ./\nRUN npm install\nCOPY . .\n```');
  });
});
