import { expect } from 'chai';
import { mkdir, writeFile } from 'node:fs/promises';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { tsbuild, type CliResult } from '../fixtures/tsbuild-cli.js';

// `tsbuild history logs` prints a past build's progress with its steps' output, as `docker buildx history logs`
// prints the SolveStatus stream BuildKit keeps with its record: the same `#N 0.123 line` lines the build's plain
// progress showed, clipped where the build clipped them, redacted as the record is; older records: their steps alone.
describe('history logs: a build\'s steps with their output', function () {
  this.timeout(180_000);
  let env: BuildEnv;
  let root: string;
  before(async () => {
    env = await startBuildEnv('tsbuild-history-logs-');
    root = join(env.dir, 'root');
  });
  after(async () => { await env?.stop(); });

  async function build(name: string, dockerfile: string, args: string[] = [], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    const ctx = join(env.dir, name);
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), dockerfile);
    return tsbuild(['build', '--root', root, '--progress', 'plain', ...args, ctx], { env: extraEnv });
  }
  const logs = (args: string[] = []) => tsbuild(['history', 'logs', '--root', root, ...args]);
  /** The output lines of a plain progress (`#N 1.234 text`). */
  const outputLines = (progress: string) => progress.split('\n').filter((l) => /^#\d+ \d+\.\d{3} /.test(l));

  it('replays a RUN\'s output lines as the build\'s plain progress showed them, stdout and stderr, an unended last line too', async () => {
    const built = await build('ok', `FROM ${env.base}\nRUN echo first-line-$RANDOM; echo to-stderr >&2; sleep 0.2; echo after-a-while; printf unended-tail\n`);
    expect(built.code, built.stderr).to.equal(0);
    const live = outputLines(built.stderr);
    expect(live.some((l) => / first-line-\d+$/.test(l))).to.equal(true);
    const r = await logs();
    expect(r.code, r.stderr).to.equal(0);
    expect(outputLines(r.stderr)).to.deep.equal(live);
    expect(r.stderr).to.match(/^#2 \d+\.\d{3} to-stderr$/m);
    expect(r.stderr).to.match(/^#2 unended-tail\n#2 DONE \d+\.\ds$/m);
  });

  it('replays a failed RUN\'s output before its error', async () => {
    const built = await build('fails', `FROM ${env.base}\nRUN echo about-to-fail-$RANDOM && exit 3\n`);
    expect(built.code).to.equal(1);
    const r = await logs();
    expect(r.code, r.stderr).to.equal(0);
    expect(outputLines(r.stderr)).to.deep.equal(outputLines(built.stderr));
    expect(r.stderr).to.match(/^#2 \d+\.\d{3} about-to-fail-\d+\n#2 ERROR: .*exit code: 3/m);
  });

  it('keeps an over-limit step as the build clipped it, with BuildKit\'s line', async () => {
    const flood = 'i=0; while [ $i -lt 60000 ]; do echo "line $i 0123456789012345678901234567890123456789"; i=$((i+1)); done';
    // The speed limit off, so the size limit (2 MiB, BuildKit's default) is the one reached; in-process, so it reads them.
    const built = await build('flood', `FROM ${env.base}\nRUN ${flood}; echo flood-$RANDOM\n`, [], { BUILDKIT_STEP_LOG_MAX_SPEED: '-1', TSBUILD_DAEMON: '0' });
    expect(built.code, built.stderr.slice(-2000)).to.equal(0);
    const r = await logs();
    expect(r.code, r.stderr.slice(-2000)).to.equal(0);
    expect(r.stderr).to.match(/^#2 \d+\.\d{3} \[output clipped, log limit 2MiB reached\]$/m);
    expect(r.stderr).to.contain(' line 0 0123');
    expect(r.stderr).to.not.contain(' line 59999 ');
    expect(r.stderr.length).to.be.lessThan(3 * 1024 * 1024);
    expect(outputLines(r.stderr)).to.deep.equal(outputLines(built.stderr));
  });

  it('keeps no secret-named build arg\'s value in the stored output', async () => {
    const built = await build('secret', `FROM ${env.base}\nARG API_TOKEN\nRUN echo "using $API_TOKEN now"; echo API_TOKEN=$API_TOKEN\n`, ['--build-arg', 'API_TOKEN=tok-9f8e7d6c']);
    expect(built.code, built.stderr).to.equal(0);
    const r = await logs();
    expect(r.stderr).to.match(/^#\d+ \d+\.\d{3} using <redacted> now$/m);
    expect(r.stderr).to.match(/^#\d+ \d+\.\d{3} API_TOKEN=<redacted>$/m);
    expect(r.stderr).to.not.contain('tok-9f8e7d6c');
  });

  it('replays a record from a tsbuild that kept no output: its steps, as before', async () => {
    const built = await build('old', `FROM ${env.base}\nRUN echo from-an-old-build-$RANDOM\n`);
    expect(built.code, built.stderr).to.equal(0);
    // A root written by an older tsbuild: its builds table has no logs column (the next open adds it, empty).
    const db = new DatabaseSync(join(root, 'cache.db'));
    db.exec('ALTER TABLE builds DROP COLUMN logs');
    db.close();
    const r = await logs();
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr, r.stderr).to.match(/^#2 RUN echo from-an-old-build-\$RANDOM\n(#2 MISS .*\n)*#2 DONE \d+\.\ds$/m);
    expect(outputLines(r.stderr)).to.deep.equal([]);
    // The earlier builds' records lost their output with the column; they still replay.
    expect((await logs(['^3'])).stderr).to.match(/^#2 ERROR: .*exit code: 3/m);
  });
});
