import { expect } from 'chai';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunningRegistry } from '../fixtures/registry-server.js';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { run, tsbuild } from '../fixtures/tsbuild-cli.js';

// Every -o type checked with a tool that is not tsbuild, and a report attached to a pushed image read back from a
// second, empty root (as another machine would).

describe('outputs and attached reports', function () {
  this.timeout(180_000);
  let env: BuildEnv | undefined;
  let registry: RunningRegistry;
  let dir: string;
  let ctx: string;

  before(async () => {
    env = await startBuildEnv('tsbuild-out-');
    ({ registry, dir } = env);
    ctx = join(dir, 'ctx');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'hello.txt'), 'hello\n');
    await writeFile(join(ctx, 'Dockerfile'), [
      `FROM ${registry.host}/busybox:latest`,
      'COPY hello.txt /srv/hello.txt',
      'RUN rm /bin/vi && echo built > /srv/built.txt',
      'CMD ["cat", "/srv/hello.txt"]',
      '',
    ].join('\n'));
  });
  after(async () => {
    await env?.stop();
  });

  const build = (out: string, extra: string[] = []) => tsbuild(['build', '--root', join(dir, 'root'), '--progress', 'plain', '-t', 'example/out:1', '-o', out, ...extra, ctx]);

  it('writes a docker archive that skopeo reads, with the tag and the config', async () => {
    const file = join(dir, 'docker.tar');
    const r = await build(`type=docker,dest=${file}`);
    expect(r.code, r.stderr).to.equal(0);
    const inspect = await run('skopeo', ['inspect', '--config', `docker-archive:${file}`]);
    expect(inspect.code, inspect.stderr).to.equal(0);
    expect((JSON.parse(inspect.stdout) as { config: { Cmd: string[] } }).config.Cmd).to.deep.equal(['cat', '/srv/hello.txt']);
    const manifest = JSON.parse((await run('tar', ['-xOf', file, 'manifest.json'])).stdout) as { RepoTags: string[] }[];
    expect(manifest[0]?.RepoTags).to.deep.equal(['example/out:1']);
  });

  it('writes an OCI layout directory (tar=false) that umoci unpacks', async () => {
    const layout = join(dir, 'layout');
    const r = await build(`type=oci,dest=${layout},tar=false`);
    expect(r.code, r.stderr).to.equal(0);
    const bundle = join(dir, 'bundle');
    const unpack = await run('umoci', ['unpack', '--image', `${layout}:1`, bundle]);
    expect(unpack.code, unpack.stderr).to.equal(0);
    expect(await readFile(join(bundle, 'rootfs/srv/built.txt'), 'utf8')).to.equal('built\n');
    // The whiteout of the deleted /bin/vi was applied: the file is gone from the unpacked image.
    expect(await readdir(join(bundle, 'rootfs/bin'))).to.not.include('vi');
  });

  it('copies the final filesystem with type=local and tars it with type=tar', async () => {
    const local = join(dir, 'local');
    expect((await build(`type=local,dest=${local}`)).code).to.equal(0);
    expect(await readFile(join(local, 'srv/hello.txt'), 'utf8')).to.equal('hello\n');
    expect(await readdir(join(local, 'bin'))).to.not.include('vi');
    const tarFile = join(dir, 'fs.tar');
    expect((await build(`type=tar,dest=${tarFile}`)).code).to.equal(0);
    const list = (await run('tar', ['-tf', tarFile])).stdout.split('\n');
    expect(list).to.include('srv/built.txt');
    expect(list).to.include('bin/busybox');
    expect(list.filter((l) => l.includes('.wh.'))).to.deep.equal([]);
  });

  it('attaches the report to the pushed image and shows it from an empty root', async () => {
    const ref = `${registry.host}/app:reported`;
    const r = await tsbuild(['build', '--root', join(dir, 'root'), '--progress', 'plain', '-t', ref, '--push', '--attach-report', ctx]);
    expect(r.code, r.stderr).to.equal(0);
    const shown = await tsbuild(['report', ref, '--root', join(dir, 'other-root'), '--format', 'json']);
    expect(shown.code, shown.stderr).to.equal(0);
    const report = JSON.parse(shown.stdout) as { schemaVersion: number; steps: { instruction: string }[]; build: { resultDigest: string } };
    expect(report.schemaVersion).to.equal(1);
    expect(report.steps.map((s) => s.instruction)).to.include('COPY hello.txt /srv/hello.txt');
    const digest = (await run('skopeo', ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${ref}`])).stdout.trim();
    expect(report.build.resultDigest).to.equal(digest);
    const discover = await tsbuild(['artifact', 'discover', ref, '--json']);
    expect(discover.stdout).to.contain('application/vnd.tsbuild.report.v1+json');
  });

  it('refuses --attach-report without a push, before building', async () => {
    const r = await tsbuild(['build', '--root', join(dir, 'root'), '--attach-report', '-o', `type=local,dest=${join(dir, 'x')}`, ctx]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('--attach-report needs a pushed image');
  });
});
