import { expect } from 'chai';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { run, tsbuild, type CliResult } from '../fixtures/tsbuild-cli.js';

// `tsbuild bake` as CI runs `docker buildx bake --push --metadata-file`: an HCL file with two targets, one built on
// the other through `contexts = { base = "target:base" }`, pushed to the real registry; skopeo reads both images
// back, and the metadata file is one object keyed by target, as buildx writes it.

interface Inspect { Digest: string; Layers: string[] }
type Metadata = Record<string, { 'containerimage.digest'?: string; 'image.name'?: string; 'buildx.build.ref'?: string }>;

describe('tsbuild bake', function () {
  this.timeout(240_000);
  let env: BuildEnv;
  let dir = '';
  const ok = (r: CliResult): CliResult => { expect(r.code, r.stderr).to.equal(0); return r; };
  const inspect = async (ref: string): Promise<Inspect> => JSON.parse(ok(await run('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`])).stdout) as Inspect;
  const bake = (args: string[], vars: NodeJS.ProcessEnv = {}): Promise<CliResult> =>
    tsbuild(['bake', '--root', join(env.dir, 'root'), '--progress', 'plain', ...args], { cwd: dir, env: { REGISTRY: env.registry.host, ...vars } });

  before(async () => {
    env = await startBuildEnv('tsbuild-bake-');
    dir = join(env.dir, 'project');
    await mkdir(join(dir, 'base'), { recursive: true });
    await mkdir(join(dir, 'app'), { recursive: true });
    await writeFile(join(dir, 'base', 'base.txt'), 'base\n');
    await writeFile(join(dir, 'base', 'Dockerfile'), 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY base.txt /base.txt\n');
    await writeFile(join(dir, 'app', 'app.txt'), 'app\n');
    // `base` is the named context the bake file maps to the base target's result.
    await writeFile(join(dir, 'app', 'Dockerfile'), 'FROM base\nCOPY app.txt /app.txt\n');
    await writeFile(join(dir, 'docker-bake.hcl'), [
      'variable "REGISTRY" {',
      '  default = "localhost:5000"',
      '}',
      'variable "TAG" {',
      '  default = "1"',
      '}',
      'group "default" {',
      '  targets = ["app", "base"]',
      '}',
      'target "base" {',
      '  context = "base"',
      '  args = { BASE_IMAGE = "${REGISTRY}/busybox:latest" }',
      '  tags = ["${REGISTRY}/bake-base:${TAG}"]',
      '}',
      'target "app" {',
      '  context = "app"',
      '  contexts = { base = "target:base" }',
      '  tags = ["${REGISTRY}/bake-app:${TAG}", notequal(TAG, "1") ? "${REGISTRY}/bake-app:latest" : ""]',
      '}',
      '',
    ].join('\n'));
  });
  after(async () => { await env?.stop(); });

  it('pushes both targets, the dependent one on top of its target: context, and writes one metadata object keyed by target', async () => {
    const meta = join(env.dir, 'bake-meta.json');
    ok(await bake(['--push', '--metadata-file', meta]));
    const base = await inspect(`${env.registry.host}/bake-base:1`);
    const app = await inspect(`${env.registry.host}/bake-app:1`);
    // The app image is the base target's layers plus its own COPY.
    expect(app.Layers.slice(0, base.Layers.length)).to.deep.equal(base.Layers);
    expect(app.Layers).to.have.length(base.Layers.length + 1);
    const metadata = JSON.parse(await readFile(meta, 'utf8')) as Metadata;
    expect(Object.keys(metadata)).to.deep.equal(['app', 'base']);
    expect(metadata.app?.['containerimage.digest']).to.equal(app.Digest);
    expect(metadata.base?.['containerimage.digest']).to.equal(base.Digest);
    expect(metadata.app?.['image.name']).to.equal(`${env.registry.host}/bake-app:1`);
    // buildx's BUILDER/NODE/ID: the current builder (default), or the one --builder names.
    expect(metadata.app?.['buildx.build.ref']).to.match(/^default\/default\/[0-9a-z]+$/);
    ok(await tsbuild(['create', '--name', 'bakeci', '--root', join(env.dir, 'root')]));
    const named = join(env.dir, 'bake-meta-builder.json');
    ok(await bake(['--builder', 'bakeci', '--metadata-file', named, 'base']));
    expect((JSON.parse(await readFile(named, 'utf8')) as Metadata).base?.['buildx.build.ref']).to.match(/^bakeci\/bakeci0\/[0-9a-z]+$/);
  });

  it('writes build warnings once beside the targets with BUILDX_METADATA_WARNINGS=1, as buildx bake does', async () => {
    const meta = join(env.dir, 'bake-meta-warnings.json');
    // `FROM … as` (lower-case) is BuildKit's FromAsCasing warning.
    await writeFile(join(dir, 'app', 'Dockerfile.warn'), 'FROM base as final\nCOPY app.txt /app.txt\n');
    ok(await bake(['--metadata-file', meta, '--set', 'app.dockerfile=Dockerfile.warn'], { BUILDX_METADATA_WARNINGS: '1' }));
    const metadata = JSON.parse(await readFile(meta, 'utf8')) as Record<string, Record<string, unknown> | { short: string }[]>;
    expect(Object.keys(metadata)).to.deep.equal(['app', 'base', 'buildx.build.warnings']);
    expect(metadata.app).to.not.have.property('buildx.build.warnings');
    const shorts = (metadata['buildx.build.warnings'] as { short: string }[]).map((w) => Buffer.from(w.short, 'base64').toString());
    expect(shorts.some((s) => s.startsWith('FromAsCasing:'))).to.equal(true);
  });

  it('prints the resolved definition with --print and builds nothing', async () => {
    const r = ok(await bake(['--print', 'app'], { TAG: '2' }));
    expect(JSON.parse(r.stdout)).to.deep.equal({
      group: { default: { targets: ['app'] } },
      target: {
        app: { context: 'app', contexts: { base: 'target:base' }, dockerfile: 'Dockerfile', tags: [`${env.registry.host}/bake-app:2`, `${env.registry.host}/bake-app:latest`] },
        base: { context: 'base', dockerfile: 'Dockerfile', args: { BASE_IMAGE: `${env.registry.host}/busybox:latest` }, tags: [`${env.registry.host}/bake-base:2`], output: [{ type: 'cacheonly' }] },
      },
    });
    const missing = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${env.registry.host}/bake-app:2`]);
    expect(missing.code).to.not.equal(0);
  });

  it('builds a group of three targets at once, one on another through target:, in one display prefixed by target', async () => {
    await mkdir(join(dir, 'tool'), { recursive: true });
    await writeFile(join(dir, 'tool', 'Dockerfile'), `FROM ${env.registry.host}/busybox:latest\nRUN echo tool > /tool.txt\n`);
    await writeFile(join(dir, 'three.hcl'), [
      'variable "REGISTRY" {', '  default = "localhost:5000"', '}',
      'group "three" {', '  targets = ["tool", "app", "base"]', '}',
      'target "base" {', '  context = "base"', '  args = { BASE_IMAGE = "${REGISTRY}/busybox:latest" }', '  tags = ["${REGISTRY}/bake3-base:1"]', '}',
      'target "app" {', '  context = "app"', '  contexts = { base = "target:base" }', '  tags = ["${REGISTRY}/bake3-app:1"]', '}',
      'target "tool" {', '  context = "tool"', '  tags = ["${REGISTRY}/bake3-tool:1"]', '}', '',
    ].join('\n'));
    const meta = join(env.dir, 'bake3-meta.json');
    const r = ok(await bake(['-f', 'three.hcl', '--push', '--metadata-file', meta, 'three']));
    const base = await inspect(`${env.registry.host}/bake3-base:1`);
    const app = await inspect(`${env.registry.host}/bake3-app:1`);
    const tool = await inspect(`${env.registry.host}/bake3-tool:1`);
    expect(app.Layers.slice(0, base.Layers.length)).to.deep.equal(base.Layers);
    expect(app.Layers).to.have.length(base.Layers.length + 1);
    expect(tool.Layers).to.have.length(base.Layers.length);   // busybox + the RUN's layer, as base is busybox + its COPY
    const metadata = JSON.parse(await readFile(meta, 'utf8')) as Metadata;
    expect(Object.keys(metadata)).to.deep.equal(['app', 'base', 'tool']);
    expect(metadata.tool?.['containerimage.digest']).to.equal(tool.Digest);
    // buildx's progress.WithPrefix: every step named with its target first, each step numbered once in one display.
    expect(r.stderr).to.match(/^#\d+ \[tool 2\/2\] RUN echo tool > \/tool.txt$/m);
    expect(r.stderr).to.match(/^#\d+ \[app 2\/2\] COPY app.txt \/app.txt$/m);
    expect(r.stderr).to.not.include('#bake target');
    const finished = r.stderr.split('\n').filter((l) => l.startsWith('#- finished in'));
    expect(finished).to.have.length(1);
  });

  it('fails the bake with the failing target\'s error and status, cancelling the targets still building', async () => {
    await mkdir(join(dir, 'broken'), { recursive: true });
    await mkdir(join(dir, 'slow'), { recursive: true });
    await writeFile(join(dir, 'broken', 'Dockerfile'), `FROM ${env.registry.host}/busybox:latest\nCOPY missing.txt /x\n`);
    await writeFile(join(dir, 'slow', 'Dockerfile'), `FROM ${env.registry.host}/busybox:latest\nRUN sleep 60\n`);
    await writeFile(join(dir, 'fails.hcl'), [
      'variable "REGISTRY" {', '  default = "localhost:5000"', '}',
      'group "fails" {', '  targets = ["broken", "slow"]', '}',
      'target "broken" {', '  context = "broken"', '  tags = ["${REGISTRY}/bake-broken:1"]', '}',
      'target "slow" {', '  context = "slow"', '  tags = ["${REGISTRY}/bake-slow:1"]', '}', '',
    ].join('\n'));
    const failed = await bake(['-f', 'fails.hcl', '--push', 'fails']);
    // A failed build exits 1, as buildx does; the message is the failing target's, not the cancelled one's.
    expect(failed.code, failed.stderr).to.equal(1);
    expect(failed.stderr).to.match(/ERROR: (failed to solve: )?target "broken": .*missing\.txt/);
    expect(failed.stderr).to.not.include('target "slow"');
    // The slow target was cancelled: it never finished its RUN, so nothing was pushed.
    const slow = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${env.registry.host}/bake-slow:1`]);
    expect(slow.code).to.not.equal(0);
  });

  it('names the target whose output is refused, before any target builds: in the file (with file:line), by --set, and at the flag check', async () => {
    await writeFile(join(dir, 'outputs.hcl'), [
      'variable "REGISTRY" {}',
      'target "good" {', '  context = "base"', '  args = { BASE_IMAGE = "${REGISTRY}/busybox:latest" }', '}',
      'target "nope" {', '  context = "base"', '  output = ["type=nope"]', '}', '',
    ].join('\n'));
    const nope = await bake(['-f', 'outputs.hcl', 'good', 'nope']);
    expect(nope.code, nope.stderr).to.equal(2);
    expect(nope.stderr).to.contain('ERROR: target "nope": unknown output type "nope"').and.to.contain('hint:');
    // Refused before any target started: no step but #1, reading the bake file (buildx's "load local bake definitions").
    expect(nope.stderr).to.contain('#1 [internal] load local bake definitions');
    expect(nope.stderr).not.to.match(/^#([2-9]|\d\d+) /m);
    const set = await bake(['-f', 'outputs.hcl', '--set', 'good.output=,,,', 'good']);
    expect(set.code, set.stderr).to.equal(1);   // buildx: ERROR: … and 1, as for a bad file
    expect(set.stderr).to.contain('ERROR: target "good": --set output: ",,,": invalid value ""');
    await writeFile(join(dir, 'commas.hcl'), 'target "commas" {\n  context = "base"\n  output = [",,,"]\n}\n');
    const commas = await bake(['-f', 'commas.hcl', '--print']);
    expect(commas.code, commas.stderr).to.equal(1);
    expect(commas.stderr).to.contain('ERROR: commas.hcl:3,12-13: Unsuitable value type; Unsuitable value: ",,,": invalid value ""').and.to.contain('hint: target "commas" sets output here');
  });

  it('fails with the failing target\'s name, and a bad file with file:line and no stack', async () => {
    await mkdir(join(dir, 'broken'), { recursive: true });
    await writeFile(join(dir, 'broken', 'Dockerfile'), `FROM ${env.registry.host}/busybox:latest\nCOPY missing.txt /x\n`);
    await writeFile(join(dir, 'broken.hcl'), 'target "broken" {\n  context = "broken"\n}\n');
    const failed = await bake(['-f', 'broken.hcl', 'broken']);
    expect(failed.code).to.not.equal(0);
    expect(failed.stderr).to.include('target "broken"');
    await writeFile(join(dir, 'bad.hcl'), 'target "x" {\n  tags = [nosuch()]\n}\n');
    // buildx prints hcl's diagnostic and exits 1 (cmd/buildx/main.go), for a bad file as for a failed build.
    const bad = await bake(['-f', 'bad.hcl', '--print']);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.include('ERROR: bad.hcl:2,11-17: Call to unknown function; There is no function named "nosuch".');
    expect(bad.stderr).to.include('  2 |   tags = [nosuch()]\n    |           ^^^^^^');
    expect(bad.stderr).to.not.match(/\n\s+at /);
    const unknown = await bake(['-f', 'broken.hcl', '--print', 'nosuch']);
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.include('ERROR: failed to find target nosuch');
  });
});
