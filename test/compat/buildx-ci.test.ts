import { expect } from 'chai';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { PROJECT_ROOT, TSBUILD, run } from '../fixtures/tsbuild-cli.js';

// test/compat/buildx-ci.sh: a dozen buildx invocations from real projects' workflows, run unchanged with tsbuild.
describe('a buildx CI script runs with tsbuild in its place (test/compat/buildx-ci.sh)', function () {
  this.timeout(600_000);
  let env: BuildEnv;
  before(async () => { env = await startBuildEnv('tsbuild-compat-'); });
  after(async () => { await env?.stop(); });

  it('passes every check of the script', async () => {
    const r = await run('bash', [join(PROJECT_ROOT, 'test/compat/buildx-ci.sh')], {
      env: { TSBUILD, REGISTRY: env.registry.host, BASE: env.base, WORK: join(env.dir, 'work') },
    });
    const summary = /compat: (\d+) passed, (\d+) failed/.exec(r.stdout);
    expect(summary, `${r.stdout}\n${r.stderr}`).not.to.equal(null);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('FAILED')), r.stdout).to.deep.equal([]);
    expect(Number(summary?.[1])).to.be.at.least(30);
    expect(r.code, r.stdout).to.equal(0);
  });
});
