import { expect } from 'chai';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { run, tsbuild } from '../fixtures/tsbuild-cli.js';

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
    // BuildKit counts a step that failed as completed (its vertex has a Completed time).
    expect(failed.NumCompletedSteps).to.equal(failed.NumTotalSteps);
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
    expect(r.stdout).to.match(/\nStarted:\t\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\nDuration:\t\d+\.\ds\nError:\t\tUnknown .+\nBuild Steps:\t3\/3 \(67% cached\)\n\n/);
    expect(r.stdout).to.contain('\nBUILD ARG\tVALUE\nMODE\t\tbad\n\n');
    // tsbuild's own block: every step, hit or miss, and why the RUN missed (the arg), the failed one marked.
    expect(r.stdout).to.match(/\nSteps:\nCACHED +\d+\.\d\ds  FROM /);
    expect(r.stdout).to.match(/\nERROR +\d+\.\d\ds  RUN \|1 MODE=bad \/bin\/sh -c echo built-\$MODE/);
    expect(r.stdout, 'the failed step\'s error is the Error line, not repeated').to.not.contain('miss:');
    expect((await inspect(['^2'])).stdout).to.match(/\nRAN +\d+\.\d\ds  RUN \|1 MODE=good [^\n]*\n {17}miss: never built before\n/);
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

  const ls = (args: string[], cwd?: string) => tsbuild(['history', 'ls', '--root', root, ...args], { cwd: cwd ?? env.dir });

  it('ls --format json writes lsContext.MarshalJSON: a Go map\'s sorted keys, RFC3339Nano times', async () => {
    const r = await ls(['--format', 'json']);
    const first = r.stdout.split('\n')[0] ?? '';
    expect(Object.keys(JSON.parse(first) as object)).to.deep.equal(['cached_steps', 'completed_at', 'completed_steps', 'created_at', 'name', 'ref', 'status', 'total_steps']);
    for (const line of r.stdout.trimEnd().split('\n')) {
      const rec = JSON.parse(line) as { created_at: string; completed_at: string };
      // Go drops a fraction's trailing zeros (…:20.12Z, …:20Z) where toISOString writes three digits.
      for (const t of [rec.created_at, rec.completed_at]) expect(t).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$/);
    }
  });

  it('ls --filter matches as buildx\'s filters (status, ref, times), refuses what buildx refuses, and takes a Go template', async () => {
    const refs = async (...filters: string[]) => {
      const r = await ls([...filters.flatMap((f) => ['--filter', f]), '--format', '{{.Ref}}']);
      expect(r.code, r.stderr).to.equal(0);
      return r.stdout.split('\n').filter(Boolean);
    };
    expect(await refs('status=error')).to.deep.equal([ids[2]]);
    expect(await refs('status=completed')).to.deep.equal([ids[1], ids[0]]);
    expect(await refs('status=completed', `ref!=${ids[1] ?? ''}`)).to.deep.equal([ids[0]]);
    expect(await refs(`ref=${(ids[0] ?? '').slice(2, 9)}`)).to.deep.equal([ids[0]]);
    expect(await refs('startedAt>1h', 'duration>0s')).to.have.length(3);
    expect(await refs('startedAt<1h')).to.deep.equal([]);
    for (const [f, message] of [['startedAt>=1h', 'unsupported filter "startedAt>=1h"'], ['status>x', 'invalid separator for "status>x", expected = or !='],
      ['duration=1s', 'invalid separator for "duration=1s", expected <=, <, >= or >'], ['duration<soon', 'invalid duration soon'], ['nope', 'invalid filter "nope"']]) {
      const r = await ls(['--filter', f ?? '']);
      expect(r.code, f).to.equal(2);
      expect(r.stderr).to.contain(message);
    }
    const table = await ls(['--format', 'table {{.Ref}}\\t{{.Status}}\\t{{.Link}}']);
    expect(table.stdout.split('\n').slice(0, 2)).to.deep.equal([`BUILD ID${' '.repeat(15)}STATUS${' '.repeat(6)}`, `${ids[2] ?? ''}   Error${' '.repeat(7)}`]);
    expect((await ls(['--format', '{{.FullRef}} {{.Link}}'])).stdout.split('\n')[0]).to.equal(`default/default/${ids[2] ?? ''} docker-desktop://dashboard/build/default/default/${ids[2] ?? ''}`);
  });

  it('ls --local lists the builds of the git repository it runs in, and says so outside one', async () => {
    const outside = await ls(['--local']);
    expect(outside.code).to.equal(2);
    expect(outside.stderr).to.contain('could not find git repository for local filter');
    const repo = join(env.dir, 'repo');
    await mkdir(repo);
    for (const args of [['init', '-q'], ['remote', 'add', 'origin', 'https://example.com/other.git']]) expect((await run('git', args, { cwd: repo })).code).to.equal(0);
    const inside = await ls(['--local', '--format', 'json'], repo);
    expect(inside.code, inside.stderr).to.equal(0);
    expect(inside.stdout).to.equal('');   // these builds came from a local directory: no repository recorded
  });

  it('logs replays a build\'s steps as buildx\'s plain or rawjson progress, on stderr', async () => {
    const logs = (args: string[]) => tsbuild(['history', 'logs', '--root', root, ...args]);
    const cached = await logs(['^1']);
    expect(cached.code, cached.stderr).to.equal(0);
    expect(cached.stdout).to.equal('');
    const lines = cached.stderr.trimEnd().split('\n');
    expect(lines.filter((l) => / CACHED$/.test(l))).to.have.length(4);
    expect(lines[0]).to.match(/^#1 /);
    const failed = await logs([ids[2] ?? '']);
    expect(failed.stderr).to.match(/^#\d+ RUN echo built-\$MODE > \/n && test "\$MODE" = good$/m);
    expect(failed.stderr).to.match(/^#\d+ ERROR: .*exit code: 1/m);
    const raw = await logs(['--progress', 'rawjson']);
    const statuses = raw.stderr.trimEnd().split('\n').map((l) => JSON.parse(l) as { vertexes?: { name: string; error?: string }[] });
    expect(statuses.some((s) => s.vertexes?.some((v) => v.error !== undefined))).to.equal(true);
    const bad = await logs(['--progress', 'fancy']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain('invalid progress mode fancy');
  });

  it('inspect --json is still tsbuild\'s own record', async () => {
    const r = await inspect([ids[0] ?? '', '--json']);
    const record = JSON.parse(r.stdout) as { id: string; vertices: unknown[] };
    expect(record.id).to.equal(ids[0]);
    expect(record.vertices).to.have.length(4);
  });
});
