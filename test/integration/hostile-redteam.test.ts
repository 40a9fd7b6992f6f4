import { expect } from 'chai';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { run, TSBUILD, type CliResult } from '../fixtures/tsbuild-cli.js';

// Builds as an attacker writes them, each aimed at one place where tsbuild (root on the host) acts on what the build
// controls. Each case runs the real CLI against a real registry and checks the host, or the sandbox the host relies
// on, is as it was.

describe('hostile builds (red team)', function () {
  this.timeout(180_000);
  let env: BuildEnv | undefined;
  let n = 0;

  before(async () => { env = await startBuildEnv('tsbuild-redteam-'); });
  after(async () => { await env?.stop(); });

  /** `bin/tsbuild build` of `dockerfile` in a context of its own (plus `files`), killed after 120 s (exit 124). */
  async function build(dockerfile: string, extra: string[] = [], files: Record<string, string> = {}): Promise<CliResult & { ctx: string }> {
    if (env === undefined) throw new Error('the registry did not start');
    const ctx = join(env.dir, `ctx${n++}`);
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), dockerfile.replaceAll('BASE', env.base));
    for (const [name, content] of Object.entries(files)) await writeFile(join(ctx, name), content);
    const r = await run('timeout', ['-k', '5', '120', TSBUILD, 'build', '--root', join(env.dir, 'root'), '--progress', 'plain', ...extra, ctx], { env: { TSBUILD_DAEMON: '0' } });
    return { ...r, ctx };
  }

  it('masks /proc files with its own /dev/null, not with what a RUN mount over /dev put there (a link to a /proc/sys file made it writable)', async () => {
    if (env === undefined) throw new Error('the registry did not start');
    // runc's CVE-2025-31133: the masked /proc files were bind mounts of the path /dev/null, taken after the step's
    // own mounts. A bind or cache mount on /dev whose `null` is a link to a /proc/sys file made /proc/interrupts that
    // file, read-write: with kernel.core_pattern there, a way to run a program as root on the host. domainname (in
    // the step's own UTS namespace) stands in for it here.
    const probe = 'for f in /proc/interrupts /proc/keys /proc/timer_list /proc/kcore /proc/latency_stats /proc/timer_stats /proc/sched_debug; do [ -f $f ] && echo pwned > $f; done 2>/err; '
      + 'cat /proc/sys/kernel/domainname > /domainname; cat /proc/interrupts /proc/keys > /masked';
    const out = join(env.dir, 'out-devnull');
    const r = await build([
      'FROM BASE AS evil',
      'RUN mkdir /d && ln -s /proc/sys/kernel/domainname /d/null',
      'FROM BASE',
      `RUN --mount=type=bind,from=evil,source=/d,target=/dev ${probe}`,
      'RUN --mount=type=cache,id=redteam-dev,target=/c ln -sf /proc/sys/kernel/domainname /c/null',
      `RUN --mount=type=cache,id=redteam-dev,target=/dev ${probe.replaceAll('/domainname', '/domainname2').replaceAll('/masked', '/masked2')}`,
    ].join('\n'), ['-o', `type=local,dest=${out}`]);
    expect(r.code, r.stderr).to.equal(0);
    for (const [domainname, masked] of [['domainname', 'masked'], ['domainname2', 'masked2']] as const) {
      expect(await readFile(join(out, domainname), 'utf8')).to.not.contain('pwned');
      expect(await readFile(join(out, masked), 'utf8')).to.equal('');
    }
  });
});
