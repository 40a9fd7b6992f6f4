import { expect } from 'chai';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { tsbuild } from '../fixtures/tsbuild-cli.js';

// `tsbuild history ls` and `history rm` on a real root, as buildx's `history ls` and `history rm`.
describe('history ls and rm as buildx', function () {
  this.timeout(120_000);
  let env: BuildEnv;
  let root: string;
  before(async () => {
    env = await startBuildEnv('tsbuild-history-ls-');
    root = join(env.dir, 'root');
    for (const name of ['web', 'api']) {
      const ctx = join(env.dir, name);
      await mkdir(ctx);
      await writeFile(join(ctx, 'Dockerfile'), `FROM ${env.base}\nRUN echo ${name} > /n\n`);
      const built = await tsbuild(['build', '--root', root, '--progress', 'plain', ctx]);
      expect(built.code, built.stderr).to.equal(0);
    }
  });
  after(async () => { await env.stop(); });

  it('names buildx\'s history commands it does not have (import, open, trace) instead of looking up an image so called', async () => {
    for (const args of [['import'], ['open'], ['trace', 'x']]) {
      const r = await tsbuild(['history', ...args, '--root', root]);
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr).to.contain(`ERROR: history ${args[0] ?? ''} is not supported by tsbuild`);
      expect(r.stderr).not.to.contain('docker.io');
    }
  });

  it('lists the builds newest first, as a table and as JSON lines, and removes one by a prefix of its id, then all', async () => {
    const table = await tsbuild(['history', 'ls', '--root', root]);
    expect(table.code, table.stderr).to.equal(0);
    const lines = table.stdout.trimEnd().split('\n');
    // Every cell padded, the last (buildx's empty Desktop link column) too.
    expect(lines[0]).to.match(/^BUILD ID {3,}NAME {3,}STATUS {3,}CREATED AT {3,}DURATION {3}$/);
    expect(lines.slice(1).map((l) => l.split(/ {3,}/).slice(1, 3))).to.deep.equal([['api', 'Completed'], ['web', 'Completed']]);
    const json = await tsbuild(['history', 'ls', '--root', root, '--format', 'json']);
    const records = json.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { ref: string; name: string; total_steps: number });
    expect(records.map((r) => r.name)).to.deep.equal(['api', 'web']);
    expect(records[0]?.ref).to.match(/^default\/default\/[0-9a-f]+$/);
    const apiId = (records[0]?.ref ?? '').split('/')[2] ?? '';
    expect((await tsbuild(['history', 'rm', '--root', root, apiId.slice(0, 8)])).code).to.equal(0);
    expect((await tsbuild(['history', 'ls', '--root', root, '--format', 'json'])).stdout).to.not.contain(apiId);
    const unknown = await tsbuild(['history', 'rm', '--root', root, apiId]);
    expect(unknown.code).to.not.equal(0);
    expect(unknown.stderr).to.contain(`no build record found for "${apiId}"`);
    expect((await tsbuild(['history', 'rm', '--root', root, '--all'])).code).to.equal(0);
    expect((await tsbuild(['history', 'ls', '--root', root, '--format', 'json'])).stdout).to.equal('');
  });
});
