import { expect } from 'chai';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { run, tsbuild } from '../fixtures/tsbuild-cli.js';

// `build --push --dry-run`: one line per blob (already there, mountable from another repository, bytes to upload)
// and nothing pushed.

describe('build --push --dry-run', function () {
  this.timeout(240_000);
  let env: BuildEnv | undefined;
  let dir: string;
  let ctx: string;
  let host: string;

  before(async () => {
    env = await startBuildEnv('tsbuild-pushplan-');
    dir = env.dir;
    host = env.registry.host;
    ctx = join(dir, 'ctx');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'a.txt'), 'one\n');
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${env.base}\nCOPY a.txt /a.txt\n`);
  });
  after(async () => {
    await env?.stop();
  });

  const build = (extra: string[]) => tsbuild(['build', '--root', join(dir, 'root'), '--progress', 'plain', ...extra, ctx]);

  it('says per blob what a push would do, and pushes nothing', async () => {
    expect((await build(['-t', `${host}/plan/app:1`, '--push'])).code).to.equal(0);
    await writeFile(join(ctx, 'a.txt'), 'two, longer\n');

    const same = await build(['-t', `${host}/plan/app:2`, '--push', '--dry-run']);
    expect(same.code, same.stderr).to.equal(0);
    const lines = same.stdout.split('\n');
    expect(lines[0]).to.equal(`push plan for ${host}/plan/app:2 (dry run: nothing sent):`);
    expect(lines.filter((l) => l.includes('already in the repository'))).to.have.length(1);   // the busybox layer
    expect(lines.filter((l) => / \d+ bytes to upload$/.test(l))).to.have.length(2);           // the config, the new COPY layer
    expect(same.stdout).to.match(/total: 1 already there, 0 mountable, 2 to upload \(\d+ bytes\), then the manifest/);
    const tag = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${host}/plan/app:2`]);
    expect(tag.code).to.not.equal(0);

    const other = await build(['-t', `${host}/other/app:1`, '--push', '--dry-run']);
    expect(other.code, other.stderr).to.equal(0);
    expect(other.stdout).to.contain(`mountable from ${host}/busybox`);

    const noPush = await build(['--dry-run']);
    expect(noPush.code).to.equal(2);
    expect(noPush.stderr).to.contain('--dry-run needs --push');
  });
});
