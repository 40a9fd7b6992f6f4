import { expect } from 'chai';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { tsbuild } from '../fixtures/tsbuild-cli.js';

// A failed build keeps a record of every step that finished and of the step that failed (with its error and its
// key), so `tsbuild report` and `tsbuild explain` work on it as on a successful build.

interface ReportJson {
  build: { status: string; error?: { message: string } };
  steps: { instruction: string; cached: boolean; error?: string; key?: { key: string }; reasons: { reason: { kind: string } }[] }[];
}
interface Compared { steps: { instruction: string; reasons: { reason: { kind: string; name?: string; before?: string; after?: string; changes?: { path: string }[] }; text: string }[] }[] }

describe('the record of a failed build', function () {
  this.timeout(240_000);
  let env: BuildEnv | undefined;
  let dir: string;
  let ctx: string;
  let root: string;

  before(async () => {
    env = await startBuildEnv('tsbuild-failrec-');
    dir = env.dir;
    root = join(dir, 'root');
    ctx = join(dir, 'ctx');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'a.txt'), 'one\n');
    await writeFile(join(ctx, 'Dockerfile'), [`FROM ${env.base}`, 'ARG MODE=good', 'COPY a.txt /a.txt', 'RUN test "$MODE" = good', ''].join('\n'));
  });
  after(async () => {
    await env?.stop();
  });

  const build = (extra: string[]) => tsbuild(['build', '--root', root, '--progress', 'plain', ...extra, ctx]);

  it('has the finished steps and the failed one, and explain compares it with a successful build', async () => {
    const ok = await build(['--report', join(dir, 'ok.json')]);
    expect(ok.code, ok.stderr).to.equal(0);
    await writeFile(join(ctx, 'a.txt'), 'two\n');
    const failed = await build(['--build-arg', 'MODE=bad']);
    expect(failed.code).to.not.equal(0);

    const report = await tsbuild(['report', '--root', root, '--format', 'json']);
    expect(report.code, report.stderr).to.equal(0);
    const r = JSON.parse(report.stdout) as ReportJson;
    expect(r.build.status).to.equal('failed');
    expect(r.steps.map((s) => s.instruction.split(' ')[0])).to.deep.equal(['FROM', 'ARG', 'COPY', 'RUN']);
    const [from, , copy, run] = r.steps;
    expect(from?.cached).to.equal(true);
    expect(copy?.cached).to.equal(false);
    expect(copy?.reasons.map((x) => x.reason.kind)).to.include('content');
    expect(run?.cached).to.equal(false);
    expect(run?.error).to.be.a('string').and.to.contain(r.build.error?.message.split('\n')[0]);
    expect(run?.key?.key).to.match(/^sha256:[0-9a-f]{64}$/);
    expect(r.steps.slice(0, 3).every((s) => s.error === undefined)).to.equal(true);

    // The Markdown (also the $GITHUB_STEP_SUMMARY) marks the failed step, and has the context and trend sections.
    const md = await tsbuild(['report', '--root', root, '--format', 'md']);
    expect(md.code, md.stderr).to.equal(0);
    expect(md.stdout).to.match(/^\| 💥 \| #4 `Dockerfile:4` \| `RUN test "\$MODE" = good` \|.*\*\*failed:\*\* /m);
    expect(md.stdout).to.contain('### Build context');
    expect(md.stdout).to.match(/\| `a\.txt` \| 1 \| 4 B \| `Dockerfile:3` \|/);
    const trends = await tsbuild(['report', '--root', root, '--last', '2', '--format', 'md']);
    expect(trends.code, trends.stderr).to.equal(0);
    expect(trends.stdout).to.match(/^## tsbuild: cache trends over 2 builds of `.*Dockerfile`/);
    expect(trends.stdout).to.match(/\| `Dockerfile:4` \| `RUN test "\$MODE" = good` \| ❌❌ \| 0% \| 2 \|/);

    const explained = await tsbuild(['explain', '--root', root, '--against', join(dir, 'ok.json'), '--format', 'json']);
    expect(explained.code, explained.stderr).to.equal(0);
    const c = JSON.parse(explained.stdout) as Compared;
    const changed = c.steps.find((s) => s.instruction.startsWith('COPY'));
    expect(changed?.reasons.find((x) => x.reason.kind === 'content')?.reason.changes?.map((ch) => ch.path)).to.deep.equal(['a.txt']);
    const failedRun = c.steps.find((s) => s.instruction.startsWith('RUN'));
    expect(failedRun?.reasons.find((x) => x.reason.kind === 'arg')?.reason).to.include({ name: 'MODE', before: 'good', after: 'bad' });
  });
});
