import { expect } from 'chai';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { tsbuild, type CliResult } from '../fixtures/tsbuild-cli.js';

// tsbuild issue 17: the RUN settings buildx passes build-wide, through the real command: --ulimit, --shm-size.

describe('buildx RUN flags: --ulimit, --shm-size (issue 17)', function () {
  this.timeout(240_000);
  let env: BuildEnv;
  let ctx = '';
  let root = '';
  const build = (args: string[]): Promise<CliResult> => tsbuild(['build', '--root', root, '--progress', 'plain', ...args], { cwd: ctx });
  const ok = (r: CliResult): CliResult => { expect(r.code, r.stderr).to.equal(0); return r; };

  before(async () => {
    env = await startBuildEnv('tsbuild-run-flags-');
    ctx = join(env.dir, 'ctx');
    root = join(env.dir, 'root');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), [
      `FROM ${env.base}`,
      'RUN echo "nofile $(ulimit -n) $(ulimit -Hn)" > /limits.txt && echo "core $(ulimit -c)" >> /limits.txt && echo "stack $(ulimit -s)" >> /limits.txt',
      'RUN df -k /dev/shm | tail -1 | awk \'{print $2}\' > /shm.txt',
      '',
    ].join('\n'));
  });
  after(async () => { await env?.stop(); });

  it('applies --ulimit in RUN (soft and hard, -1 as unlimited) and --shm-size to /dev/shm', async () => {
    const out = join(env.dir, 'out');
    ok(await build(['--ulimit', 'nofile=1024:2048', '--ulimit', 'core=-1', '--ulimit', 'stack=16384', '--shm-size', '128m', '-o', `type=local,dest=${out}`, '.']));
    expect((await readFile(join(out, 'limits.txt'), 'utf8')).split('\n')).to.include.members(['nofile 1024 2048', 'core unlimited', 'stack 16']);
    expect((await readFile(join(out, 'shm.txt'), 'utf8')).trim()).to.equal(String(128 * 1024));
  });

  it('keeps 64 MiB /dev/shm without --shm-size, and a different --ulimit makes the RUN steps miss', async () => {
    const out = join(env.dir, 'out-default');
    ok(await build(['-o', `type=local,dest=${out}`, '.']));
    expect((await readFile(join(out, 'shm.txt'), 'utf8')).trim()).to.equal(String(64 * 1024));
    const again = ok(await build(['--ulimit', 'nofile=512', '-o', `type=local,dest=${join(env.dir, 'out-512')}`, '.']));
    expect(again.stderr).to.contain('MISS');
    expect(await readFile(join(env.dir, 'out-512', 'limits.txt'), 'utf8')).to.contain('nofile 512 512');
  });

  it('names the --ulimit the kernel refused and why, not an RLIMIT number and an errno', async () => {
    // Above fs.nr_open (1048576 by default): even root cannot set it.
    const r = await build(['--ulimit', 'nofile=2000000000', '-o', 'type=cacheonly', '.']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain('setting up the RUN container failed: setrlimit("nofile"): EPERM');
    expect(r.stderr).to.contain('hint: --ulimit nofile:');
  });

  it('refuses a bad --ulimit or --shm-size by name, before building', async () => {
    for (const [args, text] of [
      [['--ulimit', 'nofiles=10'], 'unknown --ulimit type "nofiles"'],
      [['--ulimit', 'nofile=10:5'], 'soft limit must be at most the hard limit'],
      [['--ulimit', 'nofile'], 'invalid --ulimit'],
      [['--shm-size', 'lots'], '--shm-size'],
      [['--ulimit', 'nofile=99999999999999999999'], '--ulimit nofile=99999999999999999999: value out of range'],
      [['--shm-size', '9000000t'], '--shm-size 9000000t: value out of range'],
    ] as [string[], string][]) {
      const r = await build([...args, '.']);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(2);
      expect(r.stderr).to.contain(text);
      expect(r.stderr).not.to.contain('#1 ');
    }
  });
});
