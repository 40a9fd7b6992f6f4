import { expect } from 'chai';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { tsbuild } from '../fixtures/tsbuild-cli.js';

// `tsbuild history inspect/ls/logs` on a real root, answering as `docker buildx history …` does (buildx
// commands/history/*.go): scripts and docker/actions-toolkit parse these outputs field by field.
describe('history commands in buildx\'s formats', function () {
  this.timeout(180_000);
  let env: BuildEnv;
  let root: string;
  let ctx: string;
  const ids: string[] = [];
  before(async () => {
    env = await startBuildEnv('tsbuild-history-fmt-');
    root = join(env.dir, 'root');
    ctx = join(env.dir, 'app');
    await mkdir(ctx);
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${env.base} AS base\nARG MODE=good\nRUN echo built-$MODE > /n && test "$MODE" = good\nFROM base AS final\nRUN cat /n\n`);
    // Oldest first: a successful build of the target with args, a cached rebuild, then one that fails in its RUN.
    for (const extra of [['--target', 'final', '--build-arg', 'MODE=good', '--build-arg', 'SOURCE_DATE_EPOCH=0'], ['--target', 'final', '--build-arg', 'MODE=good', '--build-arg', 'SOURCE_DATE_EPOCH=0'], ['--build-arg', 'MODE=bad']]) {
      const built = await tsbuild(['build', '--root', root, '--progress', 'plain', ...extra, ctx], { cwd: env.dir });
      const listed = await tsbuild(['history', 'ls', '--root', root, '--format', 'json']);
      ids.push(((JSON.parse(listed.stdout.split('\n')[0] ?? '{}') as { ref: string }).ref).split('/')[2] ?? '');
      expect(built.code, built.stderr).to.equal(extra.includes('MODE=bad') ? 1 : 0);
    }
  });
  after(async () => { await env.stop(); });

  const inspect = (args: string[]) => tsbuild(['history', 'inspect', '--root', root, ...args], { cwd: env.dir });

  it('inspect --format json writes buildx\'s inspectOutput: its field names and order, omitted empties, local times, nanoseconds', async () => {
    const r = await inspect(['^1', '--format', 'json']);
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(out)).to.deep.equal(['Name', 'Ref', 'Context', 'Dockerfile', 'Target', 'StartedAt', 'CompletedAt', 'Duration', 'Status',
      'NumCompletedSteps', 'NumTotalSteps', 'NumCachedSteps', 'BuildArgs', 'Config']);
    expect(out).to.deep.include({ Name: 'app (final)', Ref: ids[1], Context: 'app', Dockerfile: 'Dockerfile', Target: 'final', Status: 'completed', NumCachedSteps: 4, NumTotalSteps: 4, NumCompletedSteps: 4 });
    // Build args sorted by name; SOURCE_DATE_EPOCH is both a build arg and a setting, as buildx lists it.
    expect(out['BuildArgs']).to.deep.equal([{ Name: 'MODE', Value: 'good' }, { Name: 'SOURCE_DATE_EPOCH', Value: '0' }]);
    expect(out['Config']).to.deep.equal({ SourceDateEpoch: '0' });
    expect(out['StartedAt']).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
    const ms = Date.parse(String(out['CompletedAt'])) - Date.parse(String(out['StartedAt']));
    expect(out['Duration']).to.equal(ms * 1e6);
    expect(r.stdout.endsWith('}\n')).to.equal(true);
  });

  it('inspect names a failed build\'s error with its gRPC code, and takes a Go template over the same fields', async () => {
    const failed = JSON.parse((await inspect(['--format', 'json'])).stdout) as { Ref: string; Status: string; Error: { Code: number; Message: string }; NumCompletedSteps: number; NumTotalSteps: number };
    expect(failed.Ref).to.equal(ids[2]);
    expect(failed.Status).to.equal('failed');
    expect(failed.Error.Code).to.equal(2);
    expect(failed.Error.Message).to.not.equal('');
    expect(failed.NumCompletedSteps).to.be.lessThan(failed.NumTotalSteps);
    const t = await inspect([ids[0] ?? '', '--format', '{{.Status}} {{.NumCachedSteps}}/{{.NumTotalSteps}} {{range .BuildArgs}}{{.Name}}={{.Value}} {{end}}{{if .Error}}error{{end}}']);
    expect(t.code, t.stderr).to.equal(0);
    expect(t.stdout).to.equal('completed 0/4 MODE=good SOURCE_DATE_EPOCH=0 \n');
    // A time.Duration prints as Go prints one; `raw` is no format buildx knows: a template with that text.
    expect((await inspect(['--format', '{{.Duration}}'])).stdout).to.match(/^\d+(\.\d+)?(ms|s)\n$/);
    expect((await inspect(['--format', 'raw'])).stdout).to.equal('raw\n');
    const bad = await inspect(['--format', '{{.Nope}}']);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.contain('failed to execute format template');
    expect(bad.stderr).to.not.match(/\n\s+at /);
  });

  it('inspect without --format prints buildx\'s pretty text, and resolves ^N and unknown refs as buildx', async () => {
    const r = await inspect([]);
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 4)).to.deep.equal(['Name:\t\tapp', `Ref:\t\t${ids[2] ?? ''}`, 'Context:\tapp', 'Dockerfile:\tDockerfile']);
    expect(r.stdout).to.match(/\nStarted:\t\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\nDuration:\t\d+\.\ds\nError:\t\tUnknown .+\nBuild Steps:\t2\/3 \(67% cached\)\n\n/);
    expect(r.stdout).to.contain('\nBUILD ARG\tVALUE\nMODE\t\tbad\n\n');
    expect(r.stdout.endsWith(`Print build logs: tsbuild history logs ${ids[2] ?? ''}\n`)).to.equal(true);
    const previous = await inspect(['^1']);
    expect(previous.stdout).to.match(/^Name:\t\tapp \(final\)\nContext:/);   // a named ref: no Ref line
    expect(previous.stdout).to.contain('Build Steps:\t4/4 (100% cached)\n');
    expect(previous.stdout).to.contain('\nSource Date Epoch:\t0\n');
    for (const [ref, message] of [['^3', 'no record found for ref "^3"'], ['^7', 'no completed build found with offset 4'], ['^x', 'invalid offset "^x"'], ['nope', 'no record found for ref "nope"']] as const) {
      const e = await inspect([ref]);
      expect(e.code, ref).to.equal(2);
      expect(e.stderr).to.contain(message);
    }
  });

  it('inspect --json is still tsbuild\'s own record', async () => {
    const r = await inspect([ids[0] ?? '', '--json']);
    const record = JSON.parse(r.stdout) as { id: string; vertices: unknown[] };
    expect(record.id).to.equal(ids[0]);
    expect(record.vertices).to.have.length(4);
  });
});
