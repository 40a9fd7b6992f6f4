import { expect } from 'chai';
import { mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { run, tsbuild, type CliResult } from '../fixtures/tsbuild-cli.js';

// tsbuild issue 17: `--build-context NAME=DIR`, `NAME=oci-layout://DIR` and a named context replacing a stage, as
// BuildKit does them, through the real command.

describe('buildx named contexts (issue 17)', function () {
  this.timeout(240_000);
  let env: BuildEnv;
  let ctx = '';
  let lib = '';
  let root = '';
  const build = (args: string[]): Promise<CliResult> => tsbuild(['build', '--root', root, '--progress', 'plain', ...args], { cwd: ctx });
  const ok = (r: CliResult): CliResult => { expect(r.code, r.stderr).to.equal(0); return r; };

  before(async () => {
    env = await startBuildEnv('tsbuild-named-ctx-');
    ctx = join(env.dir, 'ctx');
    lib = join(env.dir, 'lib');
    root = join(env.dir, 'root');
    await mkdir(ctx, { recursive: true });
    await mkdir(join(lib, 'sub'), { recursive: true });
    await writeFile(join(ctx, 'main.txt'), 'main\n');
    await writeFile(join(lib, 'lib.txt'), 'lib v1\n');
    await writeFile(join(lib, 'sub', 'secret.key'), 'never copied\n');
    await writeFile(join(lib, '.dockerignore'), '**/*.key\n');
  });
  after(async () => { await env?.stop(); });

  it('reads a local directory with COPY --from=NAME and RUN --mount=from=NAME, its own .dockerignore applied, keyed by content', async () => {
    await writeFile(join(ctx, 'Dockerfile'), [
      `FROM ${env.base}`,
      'COPY main.txt /out/',
      'COPY --from=lib . /out/lib/',
      'RUN --mount=from=lib,target=/mnt/lib cat /mnt/lib/lib.txt > /out/mounted.txt',
      '',
    ].join('\n'));
    const out = join(env.dir, 'out1');
    ok(await build(['--build-context', `lib=${lib}`, '-o', `type=local,dest=${out}`, '.']));
    expect(await readFile(join(out, 'out', 'main.txt'), 'utf8')).to.equal('main\n');
    expect(await readFile(join(out, 'out', 'lib', 'lib.txt'), 'utf8')).to.equal('lib v1\n');
    expect(await readFile(join(out, 'out', 'mounted.txt'), 'utf8')).to.equal('lib v1\n');
    await readFile(join(out, 'out', 'lib', 'sub', 'secret.key')).then(() => expect.fail('the .dockerignore of the named context was not applied'), () => undefined);

    // Same files: every step hits. A changed file in the named context misses the COPY that reads it.
    const again = ok(await build(['--build-context', `lib=${lib}`, '-o', `type=local,dest=${join(env.dir, 'out1b')}`, '.']));
    expect(again.stderr).not.to.contain('MISS');
    await writeFile(join(lib, 'lib.txt'), 'lib v2\n');
    const changed = ok(await build(['--build-context', `lib=${lib}`, '-o', `type=local,dest=${join(env.dir, 'out1c')}`, '.']));
    expect(changed.stderr).to.contain('MISS');
    expect(await readFile(join(env.dir, 'out1c', 'out', 'mounted.txt'), 'utf8')).to.equal('lib v2\n');
  });

  it('fails with a clear error for a missing named directory', async () => {
    const r = await build(['--build-context', `lib=${join(env.dir, 'nope')}`, '.']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain('--build-context lib=').and.to.contain('not a directory');
  });

  it('replaces a stage with a docker-image:// named context: the stage\'s own instructions do not run', async () => {
    await writeFile(join(ctx, 'Dockerfile'), [
      `FROM ${env.base} AS base`,
      'RUN echo from-the-stage > /marker',
      'FROM base',
      'RUN (cat /marker 2>/dev/null || echo replaced) > /result',
      '',
    ].join('\n'));
    const out = join(env.dir, 'out2');
    ok(await build(['-o', `type=local,dest=${out}`, '.']));
    expect(await readFile(join(out, 'result'), 'utf8')).to.equal('from-the-stage\n');
    const out2 = join(env.dir, 'out2b');
    const r = ok(await build(['--build-context', `base=docker-image://${env.base}`, '-o', `type=local,dest=${out2}`, '.']));
    expect(await readFile(join(out2, 'result'), 'utf8')).to.equal('replaced\n');
    expect(r.stderr).not.to.contain('from-the-stage');
  });

  it('replaces a stage with a local directory: its files (its .dockerignore applied, symlinks kept) and an empty config', async () => {
    const dir = join(env.dir, 'libstage');
    await mkdir(join(dir, 'sub'), { recursive: true });
    await writeFile(join(dir, 'lib.txt'), 'from the directory\n');
    await writeFile(join(dir, 'sub', 'secret.key'), 'never copied\n');
    await writeFile(join(dir, '.dockerignore'), '**/*.key\n');
    await symlink('/etc/hostname', join(dir, 'escape'));   // copied as a link: never followed on the host
    await writeFile(join(ctx, 'Dockerfile'), [
      `FROM ${env.base} AS lib`,
      'RUN echo from-the-stage > /marker',
      'ENV FROM_STAGE=1',
      `FROM ${env.base}`,
      'COPY --from=lib / /copied/',
      'RUN --mount=from=lib,target=/mnt cat /mnt/lib.txt > /mounted.txt; ls /mnt > /listing.txt',
      '',
    ].join('\n'));
    const out = join(env.dir, 'out-local-stage');
    const r = ok(await build(['--build-context', `lib=${dir}`, '-o', `type=local,dest=${out}`, '.']));
    expect(r.stderr).not.to.contain('from-the-stage');
    expect(await readFile(join(out, 'copied', 'lib.txt'), 'utf8')).to.equal('from the directory\n');
    expect(await readFile(join(out, 'mounted.txt'), 'utf8')).to.equal('from the directory\n');
    expect((await readFile(join(out, 'listing.txt'), 'utf8')).split('\n')).to.include('lib.txt').and.not.to.include('marker');
    expect(await readlink(join(out, 'copied', 'escape'))).to.equal('/etc/hostname');
    await readFile(join(out, 'copied', 'sub', 'secret.key')).then(() => expect.fail('the .dockerignore of the named context was not applied'), () => undefined);

    // The replaced stage as the target: the directory's files only, and no config from the stage's base or its ENV.
    const layout = join(env.dir, 'local-stage-layout');
    ok(await build(['--build-context', `lib=${dir}`, '--target', 'lib', '--provenance=false', '-t', 'lib:v1', '-o', `type=oci,tar=false,dest=${layout}`, '.']));
    const inspect = await run('skopeo', ['inspect', '--config', `oci:${layout}:v1`]);
    expect(inspect.code, inspect.stderr).to.equal(0);
    const config = JSON.parse(inspect.stdout) as { config?: { Env?: string[] }; rootfs: { diff_ids: string[] } };
    expect(config.config?.Env ?? []).to.deep.equal([]);
    expect(config.rootfs.diff_ids).to.have.length(1);
    const bundle = join(env.dir, 'local-stage-bundle');
    const unpack = await run('umoci', ['unpack', '--image', `${layout}:v1`, bundle]);
    expect(unpack.code, unpack.stderr).to.equal(0);
    expect((await readdir(join(bundle, 'rootfs'))).sort()).to.deep.equal(['.dockerignore', 'escape', 'lib.txt', 'sub']);
    expect(await readlink(join(bundle, 'rootfs', 'escape'))).to.equal('/etc/hostname');
  });

  it('takes docker-image://scratch as an empty stage, asking no registry for it', async () => {
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${env.base} AS base\nRUN echo from-the-stage > /marker\nFROM base\nCOPY main.txt /\n`);
    const out = join(env.dir, 'out-scratch');
    const r = ok(await build(['--build-context', 'base=docker-image://scratch', '-o', `type=local,dest=${out}`, '.']));
    expect(r.stderr).not.to.contain('from-the-stage').and.not.to.contain('library/scratch');
    expect((await readdir(out)).sort()).to.deep.equal(['main.txt']);
  });

  it('reads an image from a local OCI layout (oci-layout://DIR, :TAG and @digest)', async () => {
    const layout = join(env.dir, 'layout');
    await writeFile(join(ctx, 'Dockerfile.base'), `FROM ${env.base}\nRUN echo in-layout > /layout.txt\n`);
    ok(await build(['-f', 'Dockerfile.base', '--provenance=false', '-t', 'base:v1', '-o', `type=oci,tar=false,dest=${layout}`, '.']));
    await writeFile(join(ctx, 'Dockerfile'), 'FROM base\nRUN cat /layout.txt > /seen.txt\nFROM scratch\nCOPY --from=0 /seen.txt /\n');
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const digest = index.manifests[0]?.digest ?? '';
    for (const [k, value] of [`oci-layout://${layout}`, `oci-layout://${layout}:v1`, `oci-layout://${layout}@${digest}`].entries()) {
      const out = join(env.dir, `out3-${k}`);
      ok(await build(['--build-context', `base=${value}`, '-o', `type=local,dest=${out}`, '.']));
      expect(await readFile(join(out, 'seen.txt'), 'utf8')).to.equal('in-layout\n');
    }
    const bad = await build(['--build-context', `base=oci-layout://${layout}:nosuchtag`, '.']);
    expect(bad.code).to.equal(1);   // found while the build resolves its bases: a failed build, as a missing registry tag
    expect(bad.stderr).to.contain('no image tagged "nosuchtag"');
  });

  it('refuses a bake target as a named context outside bake by name, before building (remote ones: remote-context.test.ts)', async () => {
    const r = await build(['--build-context', 'src=target:other', '.']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('a bake target as a named context is not supported outside bake');
  });

  it('skopeo still reads an image built on an OCI-layout base', async () => {
    const layout = join(env.dir, 'layout');
    const tar = join(env.dir, 'on-layout.tar');
    ok(await build(['--build-context', `base=oci-layout://${layout}:v1`, '--provenance=false', '-o', `type=oci,dest=${tar}`, '.']));
    const check = await run('skopeo', ['inspect', `oci-archive:${tar}`]);
    expect(check.code, check.stderr).to.equal(0);
  });
});
