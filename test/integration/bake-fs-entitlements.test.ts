import { expect } from 'chai';
import { mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { makeHostMarker, snapshotTree } from '../fixtures/host-marker.js';
import { tsbuild, type CliResult } from '../fixtures/tsbuild-cli.js';

// A bake file comes with the repository, as the Dockerfile does: without `--allow fs.read=PATH` / `fs.write=PATH`
// it may not read host files outside the working directory into an image (a secret's src, a named context, the
// context or Dockerfile itself) nor write outside it (an output's dest), as buildx bake's fs entitlements have it.
// Found by a containment audit: tsbuild accepted the flags but never checked them.

describe('bake: a bake file reaches no host path outside the working directory unless --allow fs grants it', function () {
  this.timeout(240_000);
  let env: BuildEnv;
  let project = '';
  let host = '';
  let marker: string[] = [];
  /** A path as the refusal lists it: relative to the working directory, as buildx's toRelativePaths (one `..` here). */
  const shown = (p: string): string => relative(project, p);

  const bake = (hcl: string, dockerfile: string, args: string[] = [], vars: NodeJS.ProcessEnv = {}): Promise<CliResult> => (async () => {
    await writeFile(join(project, 'docker-bake.hcl'), hcl);
    await writeFile(join(project, 'Dockerfile'), dockerfile);
    return tsbuild(['bake', '--root', join(env.dir, 'root'), '--progress', 'plain', ...args], { cwd: project, env: { TSBUILD_DAEMON: '0', ...vars } });
  })();

  before(async () => {
    env = await startBuildEnv('tsbuild-bake-fs-');
    project = join(env.dir, 'project');
    host = join(env.dir, 'host');
    await mkdir(project, { recursive: true });
    marker = await makeHostMarker(host);
  });
  after(async () => { await env?.stop(); });

  it('refuses a secret whose src is a host file outside the working directory', async () => {
    const r = await bake([
      'target "default" {',
      `  secret = ["id=loot,src=${join(host, 'dir', 'inner')}"]`,
      `  output = ["type=local,dest=${join(project, 'out')}"]`,
      '}', '',
    ].join('\n'), `FROM ${env.base}\nRUN --mount=type=secret,id=loot cat /run/secrets/loot > /loot.txt\n`);
    expect(r.code, 'the bake read a host file outside the working directory into the image').to.not.equal(0);
    expect(existsSync(join(project, 'out', 'loot.txt'))).to.equal(false);
    expect(await snapshotTree(host)).to.deep.equal(marker);
  });

  it('refuses a named context that is a host directory outside the working directory', async () => {
    const r = await bake([
      'target "default" {',
      `  contexts = { hostdir = "${host}" }`,
      `  output = ["type=local,dest=${join(project, 'out2')}"]`,
      '}', '',
    ].join('\n'), `FROM ${env.base}\nCOPY --from=hostdir dir/inner /loot.txt\n`);
    expect(r.code, 'the bake copied a host directory outside the working directory into the image').to.not.equal(0);
    expect(existsSync(join(project, 'out2', 'loot.txt'))).to.equal(false);
  });

  it('refuses a local output whose dest is outside the working directory', async () => {
    const dest = join(host, 'dropped');
    const r = await bake([
      'target "default" {',
      `  output = ["type=local,dest=${dest}"]`,
      '}', '',
    ].join('\n'), `FROM ${env.base}\nRUN echo planted > /planted\n`);
    expect(r.code, 'the bake wrote into a host directory outside the working directory').to.not.equal(0);
    expect(existsSync(dest)).to.equal(false);
    expect(await snapshotTree(host)).to.deep.equal(marker);
  });
  it('checks each target again as it starts, against links an earlier target\'s output has written since, and leaves no temp dir', async () => {
    // Target a's local output holds `esc -> <host dir>`; target b, built after a (it uses a as a context), names a
    // path through that link as its output. At the bake's start the path did not exist yet.
    const tmp = join(env.dir, 'bake-tmp');
    await mkdir(tmp, { recursive: true });
    const r = await bake([
      'group "default" { targets = ["a", "b"] }',
      'target "a" {',
      `  dockerfile-inline = "FROM ${env.base}\\nRUN ln -s ${host} /esc\\n"`,
      '  output = ["type=local,dest=out-a"]',
      '}',
      'target "b" {',
      '  contexts = { dep = "target:a" }',
      '  dockerfile-inline = "FROM scratch\\nCOPY --from=dep /bin/busybox /pwned\\n"',
      '  output = ["type=local,dest=out-a/esc"]',
      '}', '',
    ].join('\n'), `FROM ${env.base}\n`, [], { TMPDIR: tmp });
    expect(r.code, 'target b wrote through the link target a planted').to.not.equal(0);
    expect(r.stderr).to.contain(`Write access to path ${shown(host)} (target "b" output type=local)`);
    expect(await snapshotTree(host)).to.deep.equal(marker);
    expect(await readdir(tmp), 'the bake\'s temp dir is removed').to.deep.equal([]);
    // A bake refused before any target starts makes no temp dir at all.
    const refused = await bake(`target "default" {\n  output = ["type=local,dest=${join(host, 'x')}"]\n}\n`, `FROM ${env.base}\n`, [], { TMPDIR: tmp });
    expect(refused.code).to.not.equal(0);
    expect(await readdir(tmp)).to.deep.equal([]);
  });

  it('names each path and the --allow that grants it, and builds once granted', async () => {
    const dest = join(env.dir, 'granted-out');
    const hcl = [
      'target "default" {',
      `  secret = ["id=s,src=${join(host, 'passwd')}"]`,
      `  output = ["type=local,dest=${dest}"]`,
      '}', '',
    ].join('\n');
    const dockerfile = `FROM ${env.base}\nRUN --mount=type=secret,id=s cp /run/secrets/s /s.txt\n`;
    const refused = await bake(hcl, dockerfile);
    expect(refused.code).to.equal(2);
    expect(refused.stderr).to.contain(`Read access to path ${shown(join(host, 'passwd'))} (target "default" secret s)`)
      .and.contain(`Write access to path ${shown(dest)} (target "default" output type=local)`);
    expect(refused.stderr).to.contain(`--allow=fs.read=${join(host, 'passwd')} --allow=fs.write=${dest}`);
    const granted = await bake(hcl, dockerfile, ['--allow', `fs.read=${host}`, '--allow', `fs.write=${dest}`]);
    expect(granted.code, granted.stderr).to.equal(0);
    expect(await readFile(join(dest, 's.txt'), 'utf8')).to.equal('host:x:0:0::/:/bin/sh\n');
    expect(await snapshotTree(host)).to.deep.equal(marker);
  });

  it('follows a symbolic link in the project to where it leads, and never prints a host file named as the Dockerfile', async () => {
    await symlink(host, join(project, 'looks-local'));
    const viaLink = await bake(['target "default" {', '  output = ["type=local,dest=looks-local/x"]', '}', ''].join('\n'), `FROM ${env.base}\n`);
    expect(viaLink.code).to.equal(2);
    expect(viaLink.stderr).to.contain(`Write access to path ${shown(join(host, 'x'))} `);
    const shadow = await bake(['target "default" {', `  dockerfile = "${join(host, 'passwd')}"`, '}', ''].join('\n'), `FROM ${env.base}\n`);
    expect(shadow.code).to.equal(2);
    expect(shadow.stderr).to.contain(`Read access to path ${shown(join(host, 'passwd'))} (target "default" dockerfile)`).and.not.contain('host:x:0:0');
    expect(await snapshotTree(host)).to.deep.equal(marker);
  });

  it('reads no compose include: through a symbolic link out of the project, and quotes none of its lines', async () => {
    await symlink(join(host, 'passwd'), join(project, 'leak.yml'));
    await writeFile(join(project, 'compose.yaml'), ['include:', '  - leak.yml', 'services:', '  app:', '    build: .', ''].join('\n'));
    try {
      const r = await tsbuild(['bake', '--root', join(env.dir, 'root'), '--progress', 'plain', '-f', 'compose.yaml', '--print'], { cwd: project, env: { TSBUILD_DAEMON: '0' } });
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.contain('leak.yml is outside the working directory').and.not.contain('host:x:0:0');
    } finally {
      await rm(join(project, 'compose.yaml'));
      await rm(join(project, 'leak.yml'));
    }
  });

  it('asks for --allow ssh before forwarding the invoker\'s SSH agent (ssh = ["default"])', async () => {
    const r = await bake(['target "default" {', '  ssh = ["default"]', '}', ''].join('\n'), `FROM ${env.base}\n`);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('Forwarding default SSH agent socket (target "default" ssh default)').and.contain('--allow=ssh');
  });

  it('checks a compose file\'s secrets too, and nothing with BUILDX_BAKE_ENTITLEMENTS_FS=0, as buildx', async () => {
    await writeFile(join(project, 'compose.yaml'), [
      'services:', '  app:', '    build:', '      context: .', '      secrets: [loot]',
      'secrets:', '  loot:', `    file: ${join(host, 'passwd')}`, '',
    ].join('\n'));
    try {
      const r = await tsbuild(['bake', '--root', join(env.dir, 'root'), '--progress', 'plain', '-f', 'compose.yaml'], { cwd: project, env: { TSBUILD_DAEMON: '0' } });
      expect(r.code).to.equal(2);
      expect(r.stderr).to.contain(`Read access to path ${shown(join(host, 'passwd'))} (target "app" secret loot)`);
    } finally {
      await rm(join(project, 'compose.yaml'));
    }
    const off = await bake(['target "default" {', `  output = ["type=local,dest=${join(env.dir, 'off-out')}"]`, '}', ''].join('\n'), `FROM ${env.base}\n`, [], { BUILDX_BAKE_ENTITLEMENTS_FS: '0' });
    expect(off.code, off.stderr).to.equal(0);
  });
});
