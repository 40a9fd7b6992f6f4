import { expect } from 'chai';
import { lstat, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { tsbuild } from '../fixtures/tsbuild-cli.js';

async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const st = await lstat(join(dir, name));
    out.push(`${name} ${st.mode.toString(8)} ${st.size} ${st.mtimeMs}`);
    if (st.isDirectory()) out.push(...(await tree(join(dir, name))).map((l) => `${name}/${l}`));
  }
  return out;
}

// Issue 14, users: one passwd/group reader for RUN's USER and COPY --chown, read through the confined resolver.
// Supplementary groups follow runc; --chown without a group takes the user's primary gid (BuildKit's readUser).

function groupsOf(idOutput: string): number[] {
  const m = /groups=(\S+)/.exec(idOutput);
  return m === null ? [] : (m[1] ?? '').split(',').map((g) => Number.parseInt(g, 10)).sort((a, b) => a - b);
}

describe('issue 14: USER groups and COPY --chown through the real CLI', function () {
  this.timeout(180_000);
  let env: BuildEnv | undefined;

  before(async () => { env = await startBuildEnv('tsbuild-issue14-cli-'); });
  after(async () => { await env?.stop(); });

  it('gives USER 1000:1000 groups=1000, USER app its primary and listed groups, and --chown=app the primary gid', async () => {
    if (env === undefined) throw new Error('build env did not start');
    const ctx = join(env.dir, 'ctx');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'f'), 'copied\n');
    await writeFile(join(ctx, 'Dockerfile'), [
      `FROM ${env.base}`,
      "RUN echo 'app:x:1000:1001::/home/app:/bin/sh' >> /etc/passwd && echo 'app:x:1001:' >> /etc/group && echo 'extra:x:2000:app' >> /etc/group && mkdir -m 777 /out",
      'COPY --chown=app f /home/app/sub/f',
      "RUN stat -c '%u:%g' /home/app/sub/f /home/app/sub /home/app > /out/owners",
      'USER 1000:1000',
      'RUN id > /out/numeric',
      'USER app',
      'RUN id > /out/named',
      '',
    ].join('\n'));
    const out = join(env.dir, 'out');
    const r = await tsbuild(['build', '--root', join(env.dir, 'root'), '--progress', 'plain', '-o', `type=local,dest=${out}`, ctx]);
    expect(r.code, r.stderr).to.equal(0);
    expect((await readFile(join(out, 'out/owners'), 'utf8')).trim().split('\n')).to.deep.equal(['1000:1001', '1000:1001', '1000:1001']);
    const numeric = await readFile(join(out, 'out/numeric'), 'utf8');
    expect(numeric).to.match(/uid=1000\b.*gid=1000\b/);
    expect(groupsOf(numeric)).to.deep.equal([1000]);
    const named = await readFile(join(out, 'out/named'), 'utf8');
    expect(named).to.match(/uid=1000\b.*gid=1001\b/);
    expect(groupsOf(named)).to.deep.equal([1001, 2000]);
  });

  it('leaves a host dir alone when a RUN step swaps /run (holding a secret target) for a symlink to it before the stub clean-up', async () => {
    if (env === undefined) throw new Error('build env did not start');
    // Named like the stubs the clean-up removes: an empty secrets/ dir target, an empty secret file.
    const hostDir = join(env.dir, 'host-marker');
    await mkdir(join(hostDir, 'secrets'), { recursive: true });
    await writeFile(join(hostDir, 'secrets', 'token'), '');
    const marked = await tree(hostDir);
    const ctx = join(env.dir, 'ctx-swap');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(env.dir, 'token.txt'), 'secret\n');
    await writeFile(join(ctx, 'Dockerfile'), [
      `FROM ${env.base}`,
      // /run is only a stub dir in the step's upper layer (busybox has none), so overlayfs lets the step rename it.
      `RUN --mount=type=secret,id=token,target=/run/secrets/token mv /run /run.old && ln -s ${hostDir} /run`,
      '',
    ].join('\n'));
    const r = await tsbuild(['build', '--root', join(env.dir, 'root-swap'), '--progress', 'plain', '--secret', `id=token,src=${join(env.dir, 'token.txt')}`, '-o', `type=local,dest=${join(env.dir, 'out-swap')}`, ctx]);
    // The step did swap them (the build succeeded), so the clean-up met the symlinks; the host dir is untouched.
    expect(r.code, r.stderr).to.equal(0);
    expect(await tree(hostDir), r.stderr).to.deep.equal(marked);
  });
});
