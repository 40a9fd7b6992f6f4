import { expect } from 'chai';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunningRegistry } from '../fixtures/registry-server.js';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { tsbuild } from '../fixtures/tsbuild-cli.js';

interface Predicted { id: string; wouldHit: boolean; reasons: { kind: string; changes?: { path: string }[] }[] }

// `tsbuild plan` predicts, without running anything, which steps the cache in --root would answer and why the others
// would run; the prediction must agree with what the next build then does.
describe('tsbuild plan with the cache', function () {
  this.timeout(120_000);
  let env: BuildEnv | undefined;
  let registry: RunningRegistry;
  let dir: string;
  let ctx: string;
  const dockerfile = (label: string) => [
    `FROM ${registry.host}/busybox:latest`, 'WORKDIR /app', 'COPY . .', 'RUN cat app.txt > /copied.txt', `LABEL v=${label}`, 'CMD ["sh"]', '',
  ].join('\n');
  const plan = async (): Promise<Predicted[]> => {
    const r = await tsbuild(['plan', '--root', join(dir, 'root'), '--format', 'json', ctx]);
    expect(r.code, r.stderr).to.equal(0);
    return (JSON.parse(r.stdout) as { predictions: Predicted[] }).predictions;
  };

  before(async () => {
    env = await startBuildEnv('tsbuild-plan-');
    ({ registry, dir } = env);
    ctx = join(dir, 'ctx');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'app.txt'), 'v1\n');
    // COPY . . would copy the Dockerfile too, so editing its LABEL would rightly miss the COPY; keep it out.
    await writeFile(join(ctx, '.dockerignore'), 'Dockerfile\n.dockerignore\n');
    await writeFile(join(ctx, 'Dockerfile'), dockerfile('1'));
    const r = await tsbuild(['build', '--root', join(dir, 'root'), '--progress', 'plain', '-o', `type=local,dest=${join(dir, 'out')}`, ctx]);
    expect(r.code, r.stderr).to.equal(0);
  });
  after(async () => {
    await env?.stop();
  });

  it('predicts every step a hit right after a build', async () => {
    expect((await plan()).map((p) => p.wouldHit)).to.deep.equal([true, true, true, true, true, true]);
  });

  it('predicts a changed file misses the COPY, names the file, and misses what is built on it', async () => {
    await writeFile(join(ctx, 'app.txt'), 'v2\n');
    const p = await plan();
    expect(p.map((x) => x.wouldHit)).to.deep.equal([true, true, false, false, false, false]);
    expect(p[2]?.reasons[0]?.kind).to.equal('content');
    expect(p[2]?.reasons[0]?.changes?.map((c) => c.path)).to.deep.equal(['app.txt']);
    expect(p[3]?.reasons[0]?.kind).to.equal('parent');
    await writeFile(join(ctx, 'app.txt'), 'v1\n');
  });

  it('predicts a LABEL change misses only the LABEL, and the build agrees', async () => {
    await writeFile(join(ctx, 'Dockerfile'), dockerfile('2'));
    expect((await plan()).map((x) => x.wouldHit)).to.deep.equal([true, true, true, true, false, true]);
    const meta = join(dir, 'meta.json');
    const r = await tsbuild(['build', '--root', join(dir, 'root'), '--progress', 'plain', '--metadata-file', meta, '-o', `type=local,dest=${join(dir, 'out2')}`, ctx]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/RUN cat app.txt > \/copied.txt\n#\d+ CACHED/);
  });
});
