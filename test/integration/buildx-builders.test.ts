import { expect } from 'chai';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { run, tsbuild, type CliResult } from '../fixtures/tsbuild-cli.js';

// buildx's builder commands, driven the way CI drives them: docker/setup-buildx-action runs `buildx version`,
// `buildx create --name builder-… --driver docker-container --buildkitd-flags … --use`, `buildx inspect --bootstrap
// --builder NAME` and `buildx inspect NAME` (docker/actions-toolkit parses its `Key: value` lines); build-push-action
// then builds with `--builder NAME`, and the post step runs `buildx rm NAME`. Golden shapes come from buildx's code
// (github.com/docker/buildx commands/version.go, ls.go, inspect.go, create.go, rm.go; store/util.go; builder/builder.go).

/** `Key: value` lines of `inspect` as actions-toolkit's Builder.parseInspect reads them: the builder's, then each node's. */
function parseInspect(text: string): { name?: string; driver?: string; nodes: Record<string, string>[] } {
  const out: { name?: string; driver?: string; nodes: Record<string, string>[] } = { nodes: [] };
  let node: Record<string, string> | undefined;
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.startsWith(' ')) continue;
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (key === 'Nodes') continue;
    if (key === 'Name' && out.name !== undefined) { node = {}; out.nodes.push(node); }
    if (node) node[key] = value;
    else if (key === 'Name') out.name = value;
    else if (key === 'Driver') out.driver = value;
  }
  return out;
}

describe('buildx builder commands (setup-buildx-action + build-push-action)', function () {
  this.timeout(180_000);
  let env: BuildEnv;
  let root = '';
  let ctx = '';
  const cli = (args: string[], extra: NodeJS.ProcessEnv = {}): Promise<CliResult> =>
    tsbuild(['--root', root, ...args], { cwd: ctx, env: { BUILDX_BUILDER: '', ...extra } });
  const ok = (r: CliResult): CliResult => { expect(r.code, r.stderr).to.equal(0); return r; };
  const name = 'builder-5f0e9c1a-3d2b-4c8e-9a7f-1b2c3d4e5f60';

  before(async () => {
    env = await startBuildEnv('tsbuild-buildx-builders-');
    root = join(env.dir, 'root');
    ctx = join(env.dir, 'ctx');
    await mkdir(ctx);
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${env.base}\nCOPY app.txt /app.txt\nRUN cat /app.txt\n`);
    await writeFile(join(ctx, 'app.txt'), 'hello from CI\n');
  });
  after(async () => { await env?.stop(); });

  it('runs the setup, build and cleanup steps of a buildx CI job unchanged', async () => {
    // setup-buildx-action: `buildx version`, printed by buildx as fmt.Println(Package, Version, Revision).
    const version = ok(await cli(['version'])).stdout;
    expect(version).to.match(/^tsbuild v\d+\.\d+\.\d+\+tsbuild\.\d+\.\d+\.\d+ ([0-9a-f]{40}(\.m)?|unknown)\n$/);
    expect(/\sv?([0-9a-f]{7}|[0-9.]+)/.exec(version)?.[1], 'actions-toolkit Buildx.parseVersion').to.match(/^\d+\.\d+\.\d+$/);

    // create prints the new builder's name (create.go: fmt.Printf("%s\n", b.Name)) and nothing else on stdout.
    const created = ok(await cli(['create', '--name', name, '--driver', 'docker-container',
      '--buildkitd-flags', '--allow-insecure-entitlement security.insecure --allow-insecure-entitlement network.host', '--use']));
    expect(created.stdout).to.equal(`${name}\n`);
    expect(created.stderr).to.contain('builds on this machine').and.not.to.contain('--buildkitd-flags');

    ok(await cli(['inspect', '--bootstrap', '--builder', name]));
    const info = parseInspect(ok(await cli(['inspect', name])).stdout);
    expect(info.name).to.equal(name);
    expect(info.driver).to.equal('docker');
    expect(info.nodes).to.have.length(1);
    expect(info.nodes[0]).to.deep.include({ Name: `${name}0`, Endpoint: `local://${root}`, Status: 'running' });
    expect(info.nodes[0]?.['BuildKit daemon flags']).to.equal('--allow-insecure-entitlement security.insecure --allow-insecure-entitlement network.host');
    expect(info.nodes[0]?.Platforms?.split(', ')[0]).to.match(/^linux\/[a-z0-9]+/);

    // ls: the current builder (--use) carries the `*`; its node row is indented with ` \_ ` (ls.go lsIndent).
    const ls = ok(await cli(['ls'])).stdout.split('\n');
    expect(ls[0]).to.match(/^NAME\/NODE +DRIVER\/ENDPOINT +STATUS +BUILDKIT +PLATFORMS$/);
    expect(ls[1]).to.match(/^default +docker +$/);
    expect(ls[3]).to.match(new RegExp(`^${name}\\* +docker +$`));
    const nodeRow = ls[4] ?? '';
    expect(nodeRow).to.match(new RegExp(`^ \\\\_ ${name}0 + \\\\_ local://${root} +running +tsbuild \\S+ +linux/`));
    expect(nodeRow.indexOf('running'), 'STATUS column aligned').to.equal(ls[0]?.indexOf('STATUS'));
    const json = ok(await cli(['ls', '--format', 'json'])).stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { Name: string; Current: boolean });
    expect(json.map((b) => [b.Name, b.Current])).to.deep.equal([['default', false], [name, true]]);

    // build-push-action: the build names the builder; tsbuild builds here and pushes.
    const image = `${env.registry.host}/ci/app:1`;
    const meta = join(env.dir, 'metadata.json');
    ok(await cli(['build', '--builder', name, '--progress', 'plain', '--metadata-file', meta, '--push', '-t', image, '.']));
    const metadata = JSON.parse(await readFile(meta, 'utf8')) as Record<string, unknown>;
    expect(metadata['containerimage.digest']).to.match(/^sha256:[0-9a-f]{64}$/);
    const check = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${image}`]);
    expect(check.code, check.stderr).to.equal(0);
    // BUILDX_BUILDER names it as well, on the other commands too.
    ok(await cli(['du'], { BUILDX_BUILDER: name.toUpperCase() }));

    // post step: rm prints `NAME removed` on stderr (rm.go); the name is gone, the current builder is default again.
    const removed = ok(await cli(['rm', name]));
    expect(removed.stderr).to.equal(`${name} removed\n`);
    expect(ok(await cli(['ls'])).stdout.split('\n')[1]).to.match(/^default\* +docker/);
    const after = await cli(['build', '--builder', name, '.']);
    expect(after.code).to.equal(1);
    expect(after.stderr).to.contain(`ERROR: no builder "${name}" found`);
  });

  it('fails as buildx fails: unknown names exit 1 with its message, default cannot go, names are checked', async () => {
    for (const args of [['inspect', 'nope'], ['stop', 'nope'], ['--builder', 'nope', 'du'], ['bake', '--builder', 'nope'], ['history', '--builder', 'nope'], ['imagetools', 'inspect', '--builder', 'nope', 'x']]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).to.equal(1);
      expect(r.stderr, args.join(' ')).to.contain('ERROR: no builder "nope" found');
    }
    const env1 = await cli(['prune'], { BUILDX_BUILDER: 'nope' });
    expect(env1.code).to.equal(1);
    const rmDefault = await cli(['rm', 'default']);
    expect(rmDefault.code).to.equal(1);
    expect(rmDefault.stderr).to.contain('failed to remove default:').and.to.contain('ERROR: failed to remove one or more builders');
    const bad = await cli(['create', '--name', '1bad']);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.contain('invalid name 1bad, name needs to start with a letter and may not contain symbols, except ._-');
    const reserved = await cli(['create', '--name', 'default']);
    expect(reserved.stderr).to.contain('default is a reserved name and cannot be used to identify builder instance');
    const use = await cli(['use', 'nope']);
    expect([use.code, use.stderr]).to.deep.equal([1, 'ERROR: failed to find instance "nope"\nhint: list the builders with `tsbuild ls`\n']);
    ok(await cli(['use', 'default']));
    ok(await cli(['stop']));
    ok(await cli(['inspect', '--bootstrap']));
  });

  it('keeps every builder when CI jobs sharing the machine create theirs at once', async () => {
    const names = Array.from({ length: 6 }, (_, i) => `job${i}`);
    for (const r of await Promise.all(names.map((n) => cli(['create', '--name', n])))) ok(r);
    const listed = ok(await cli(['ls', '--format', 'json'])).stdout.trimEnd().split('\n').map((l) => (JSON.parse(l) as { Name: string }).Name);
    expect(listed.slice(1).sort()).to.deep.equal(names);
    for (const r of await Promise.all(names.map((n) => cli(['rm', n])))) ok(r);
    expect(ok(await cli(['ls', '--format', 'json'])).stdout.trimEnd().split('\n')).to.have.length(1);
  });
});
