import { expect } from 'chai';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { tsbuild } from '../fixtures/tsbuild-cli.js';

// A RUN step's output reaches the build log as buildkitd lets it through (worker/exec/log-limit.ts): 200 KiB a second
// and 2 MiB in all per stream, BuildKit's clip line where it is cut, the end of the output shown when the step fails.

describe('tsbuild build: RUN output limits as BuildKit (BUILDKIT_STEP_LOG_MAX_SIZE / _SPEED)', function () {
  this.timeout(120_000);
  let env: BuildEnv;
  before(async () => { env = await startBuildEnv('tsbuild-log-limit-'); });
  after(async () => { await env?.stop(); });

  async function build(name: string, run: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string }> {
    const ctx = join(env.dir, name);
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${env.base}\nRUN ${run}\n`);
    return tsbuild(['build', '--root', join(env.dir, 'root'), '--progress', 'plain', ctx], { env: { TSBUILD_DAEMON: '0', ...extraEnv } });
  }

  // 3 MB of numbered lines at once: far over both limits.
  const flood = 'i=0; while [ $i -lt 60000 ]; do echo "line $i 0123456789012345678901234567890123456789"; i=$((i+1)); done';

  it('cuts a flood at 200 KiB/s with BuildKit\'s line, and the build still succeeds', async () => {
    const r = await build('speed', `${flood} && echo speed-done-$RANDOM`);
    expect(r.code, r.stderr.slice(-2000)).to.equal(0);
    expect(r.stderr).to.contain('[output clipped, log limit 200KiB/s reached]');
    expect(r.stderr.length).to.be.lessThan(2 * 1024 * 1024);
    expect(r.stderr).to.contain('line 0 ');
    expect(r.stderr).to.not.contain('line 59999 ');
  });

  it('cuts at 2 MiB when the speed limit is off, and passes everything with both off', async () => {
    const sized = await build('size', `${flood} && echo size-done-$RANDOM`, { BUILDKIT_STEP_LOG_MAX_SPEED: '-1' });
    expect(sized.code).to.equal(0);
    expect(sized.stderr).to.contain('[output clipped, log limit 2MiB reached]');
    const all = await build('all', `${flood} && echo all-done-$RANDOM`, { BUILDKIT_STEP_LOG_MAX_SPEED: '-1', BUILDKIT_STEP_LOG_MAX_SIZE: '-1' });
    expect(all.code).to.equal(0);
    expect(all.stderr).to.not.contain('output clipped');
    expect(all.stderr).to.contain('line 59999 ');
  });

  it('shows the end of a clipped step\'s output when the step fails', async () => {
    const r = await build('fails', `${flood} && echo the-last-words && exit 3`);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain('[output clipped, log limit 200KiB/s reached]');
    expect(r.stderr).to.contain('line 59999 ');
    expect(r.stderr).to.contain('the-last-words');
    expect(r.stderr).to.match(/exit code: 3|exited with 3|code 3/);
  });
});
