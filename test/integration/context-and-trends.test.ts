import { expect } from 'chai';
import { mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { run, tsbuild } from '../fixtures/tsbuild-cli.js';

// `tsbuild context` on a fixture context (exact files and bytes per part, a node_modules no COPY names suggested),
// then three builds with one file changing each time: the change history, `report --last 3` trends, and both
// HTML pages (the build report's context section, the trend chart) checked in headless Chromium.

const CHROMIUM = '/usr/bin/chromium';

interface ContextJson {
  sent: { files: number; bytes: number };
  excluded: { files: number; bytes: number; parts: { path: string; files: number; bytes: number }[] };
  parts: { path: string; files: number; bytes: number; readBy: string[] }[];
  largest: { path: string; bytes: number }[];
  suggestions: { pattern: string; files: number; bytes: number; sweptBy: string[] }[];
  copies: { label: string; files: number; bytes: number; isBroad: boolean; churn: { path: string; changes: number }[] }[];
  builds: number;
}
interface TrendsJson {
  builds: { hitRate: number; steps: number; cached: number }[];
  steps: { label: string; hits: number; misses: number; reasons: { kind: string; count: number }[]; history: (boolean | null)[] }[];
}

describe('context report and cache trends', function () {
  this.timeout(300_000);
  let env: BuildEnv | undefined;
  let dir: string;
  let ctx: string;
  let root: string;
  const dockerfile = (base: string) => [
    `FROM ${base}`,
    'COPY src/ /app/src/',
    'RUN cat /app/src/a.txt > /out',
    'COPY . /all/',
    'RUN ls /all > /list',
    '',
  ].join('\n');

  before(async () => {
    await stat(CHROMIUM).catch(() => { throw new Error(`${CHROMIUM} is missing: install the Debian package chromium (apt-get install -y chromium)`); });
    env = await startBuildEnv('tsbuild-context-');
    dir = env.dir;
    ctx = join(dir, 'ctx');
    root = join(dir, 'root');
    await mkdir(join(ctx, 'src'), { recursive: true });
    await mkdir(join(ctx, 'node_modules', 'x'), { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), dockerfile(env.base));
    await writeFile(join(ctx, '.dockerignore'), '*.log\n');
    await writeFile(join(ctx, 'app.log'), 'logline\n');
    await writeFile(join(ctx, 'src', 'a.txt'), 'v1\n');
    await writeFile(join(ctx, 'src', 'b.txt'), 'b'.repeat(10));
    await writeFile(join(ctx, 'node_modules', 'x', 'index.js'), 'x'.repeat(100));
  });
  after(async () => {
    await env?.stop();
  });

  it('counts files and bytes per part, names who reads them and suggests ignoring node_modules', async () => {
    const r = await tsbuild(['context', ctx, '--root', root, '--format', 'json']);
    expect(r.code, r.stderr).to.equal(0);
    const c = JSON.parse(r.stdout) as ContextJson;
    const dockerfileBytes = Buffer.byteLength(dockerfile(env?.base ?? ''));
    expect(c.sent).to.deep.equal({ files: 5, bytes: 13 + 100 + 6 + dockerfileBytes });
    expect(c.excluded).to.deep.equal({ files: 1, bytes: 8, parts: [{ path: 'app.log', files: 1, bytes: 8, readBy: [] }] });
    const part = (p: string) => c.parts.find((x) => x.path === p);
    expect(part('src/')).to.deep.equal({ path: 'src/', files: 2, bytes: 13, readBy: ['Dockerfile:2', 'Dockerfile:4'] });
    expect(part('node_modules/')).to.deep.equal({ path: 'node_modules/', files: 1, bytes: 100, readBy: ['Dockerfile:4'] });
    expect(c.largest.slice(0, 2)).to.deep.equal([{ path: 'Dockerfile', bytes: dockerfileBytes }, { path: 'node_modules/x/index.js', bytes: 100 }]);
    expect(c.suggestions).to.deep.equal([{ pattern: 'node_modules', files: 1, bytes: 100, sweptBy: ['Dockerfile:4'] }]);
    expect(c.copies.map((x) => [x.label, x.isBroad, x.files])).to.deep.equal([['Dockerfile:2', false, 2], ['Dockerfile:4', true, 5]]);

    const text = await tsbuild(['context', ctx, '--root', root]);
    expect(text.stdout).to.contain('suggest: add "node_modules" to .dockerignore: 1 files, 100 B no COPY names; only swept in by Dockerfile:4');
  });

  it('over three builds: the file that changed most, the trends, and both HTML pages in Chromium', async () => {
    for (const v of ['v1', 'v2', 'v3']) {
      await writeFile(join(ctx, 'src', 'a.txt'), `${v}\n`);
      const b = await tsbuild(['build', '--root', root, '--progress', 'plain', ctx]);
      expect(b.code, b.stderr).to.equal(0);
    }
    const c = JSON.parse((await tsbuild(['context', ctx, '--root', root, '--format', 'json'])).stdout) as ContextJson;
    expect(c.builds).to.equal(3);
    expect(c.copies[0]?.churn).to.deep.equal([{ path: 'src/a.txt', changes: 2 }]);
    expect(c.copies[1]?.churn).to.deep.equal([{ path: 'src/a.txt', changes: 2 }]);

    const t = await tsbuild(['report', '--last', '3', '--root', root, '--format', 'json']);
    expect(t.code, t.stderr).to.equal(0);
    const trends = JSON.parse(t.stdout) as TrendsJson;
    expect(trends.builds.map((b) => [b.steps, b.cached])).to.deep.equal([[5, 0], [5, 1], [5, 1]]);
    const copy = trends.steps.find((s) => s.label === 'Dockerfile:2');
    expect(copy).to.include({ hits: 0, misses: 3 });
    expect(copy?.reasons[0]).to.deep.equal({ kind: 'content', count: 2, example: 'files changed in context: src/a.txt (changed)' });
    expect(trends.steps.find((s) => s.label === 'Dockerfile:1')?.history).to.deep.equal([false, true, true]);

    const pages = await mkdtemp(join(dir, 'pages-'));
    const reportHtml = join(pages, 'report.html');
    expect((await tsbuild(['report', '--root', root, '--format', 'html', '-o', reportHtml])).code).to.equal(0);
    const trendsHtml = join(pages, 'trends.html');
    expect((await tsbuild(['report', '--last', '3', '--root', root, '--format', 'html', '-o', trendsHtml])).code).to.equal(0);
    expect(await readFile(trendsHtml, 'utf8')).to.not.match(/(src|href)="(https?:)?\/\//);

    const dom = await dumpDom(reportHtml, pages);
    const section = /<section id="context">[\s\S]*?<\/section>/.exec(dom)?.[0] ?? '';
    expect(section).to.contain('<tr data-part="node_modules/">');
    expect(section).to.contain('<li class="suggestion" data-pattern="node_modules">');
    expect(section).to.match(/<li data-copy="Dockerfile:4">[\s\S]*<code>src\/a\.txt<\/code> 2×/);

    const chart = await dumpDom(trendsHtml, pages);
    const rates = [...chart.matchAll(/<circle class="build" data-build="[^"]+" data-hit-rate="([0-9.]+)"/g)].map((m) => m[1]);
    expect(rates).to.deep.equal(['0.000', '0.200', '0.200']);
    expect(chart).to.contain('<tr class="trend-step" data-label="Dockerfile:2">');
  });
});

async function dumpDom(file: string, dir: string): Promise<string> {
  const profile = await mkdtemp(join(dir, 'chromium-profile-'));
  const r = await run(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--dump-dom', `file://${file}`]);
  expect(r.code, r.stderr).to.equal(0);
  return r.stdout;
}
