import { expect } from 'chai';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { tsbuild } from '../fixtures/tsbuild-cli.js';

// `tsbuild explain --against`: one machine (root A) pushes an image with its report attached; another (root B,
// its own cache) builds after changing one file and one build arg and asks why its steps missed where A's hit.

interface Compared {
  steps: { instruction: string; outcome: string; isRootCause: boolean; reasons: { reason: { kind: string; name?: string; before?: string; after?: string; changes?: { path: string; before?: string; after?: string }[] }; text: string }[] }[];
  same: number;
}

describe('explain --against another machine\'s build', function () {
  this.timeout(300_000);
  let env: BuildEnv | undefined;
  let dir: string;
  let ctx: string;
  let image: string;

  before(async () => {
    env = await startBuildEnv('tsbuild-explain-');
    dir = env.dir;
    ctx = join(dir, 'ctx');
    image = `${env.registry.host}/explain/app:1`;
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'a.txt'), 'one\n');
    await writeFile(join(ctx, 'b.txt'), 'stays\n');
    await writeFile(join(ctx, 'Dockerfile'), [
      `FROM ${env.base}`,
      'ARG FLAVOR=plain',
      'ARG API_TOKEN=none',
      'COPY b.txt /srv/b.txt',
      'COPY a.txt /srv/a.txt',
      'RUN echo "$FLAVOR" > /srv/flavor && echo "$API_TOKEN" | wc -c > /srv/len',
      '',
    ].join('\n'));
  });
  after(async () => {
    await env?.stop();
  });

  const build = (root: string, extra: string[]) => tsbuild(['build', '--root', join(dir, root), '--progress', 'plain', ...extra, ctx]);

  it('names the changed file with both digests and the changed build arg, and hides a secret-looking value', async () => {
    const a = await build('rootA', ['-t', image, '--push', '--attach-report', '--build-arg', 'API_TOKEN=hunter2-there', '--report', join(dir, 'a.json')]);
    expect(a.code, a.stderr).to.equal(0);
    // Machine B: warm its own cache with the same inputs first, so its steps hit locally; then change one file and
    // the args: the steps that hit on A miss on B for reasons explain names.
    await writeFile(join(ctx, 'a.txt'), 'two\n');
    const b = await build('rootB', ['--build-arg', 'FLAVOR=fancy', '--build-arg', 'API_TOKEN=hunter2-here']);
    expect(b.code, b.stderr).to.equal(0);

    const r = await tsbuild(['explain', '--root', join(dir, 'rootB'), '--against', image, '--format', 'json']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.not.contain('hunter2');
    const c = JSON.parse(r.stdout) as Compared;
    const copyA = c.steps.find((s) => s.instruction.startsWith('COPY a.txt'));
    expect(copyA?.outcome).to.equal('missed on both');   // A built from an empty root too: both missed, keys differ
    const content = copyA?.reasons.find((x) => x.reason.kind === 'content');
    expect(content?.reason.changes?.map((ch) => ch.path)).to.deep.equal(['a.txt']);
    expect(content?.reason.changes?.[0]?.before).to.match(/^sha256:[0-9a-f]{64}$/);
    expect(content?.reason.changes?.[0]?.after).to.match(/^sha256:[0-9a-f]{64}$/);
    expect(content?.reason.changes?.[0]?.before).to.not.equal(content?.reason.changes?.[0]?.after);
    const run = c.steps.find((s) => s.instruction.startsWith('RUN'));
    const args = run?.reasons.filter((x) => x.reason.kind === 'arg') ?? [];
    expect(args.map((x) => x.reason.name)).to.deep.equal(['API_TOKEN', 'FLAVOR']);
    expect(args[1]?.reason).to.include({ before: 'plain', after: 'fancy' });
    expect(args[0]?.text).to.contain('values not shown');
    // The unchanged COPY is the same on both sides: not listed.
    expect(c.steps.some((s) => s.instruction.startsWith('COPY b.txt'))).to.equal(false);

    const text = await tsbuild(['explain', '--root', join(dir, 'rootB'), '--against', image]);
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout).to.match(/files differ in context: a\.txt sha256:[0-9a-f]{12} → sha256:[0-9a-f]{12}/);
    expect(text.stdout).to.contain('build arg FLAVOR differs: "plain" → "fancy"');
    expect(text.stdout).to.not.contain('hunter2');
    // The report's key manifest keeps no secret-looking value either (the rest of the report's redaction is the
    // report's own business), but its digest, so equal values still compare equal.
    const saved = JSON.parse(await readFile(join(dir, 'a.json'), 'utf8')) as { steps: { key?: unknown }[] };
    const keys = JSON.stringify(saved.steps.map((s) => s.key));
    expect(keys).to.not.contain('hunter2');
    expect(keys).to.match(/"API_TOKEN":"redacted:sha256:[0-9a-f]{64}"/);
  });

  it('compares with a saved report offline (the registry stopped), hit there and missed here', async () => {
    // Root A rebuilds the original inputs: every step hits there. Its report file is all B gets.
    await writeFile(join(ctx, 'a.txt'), 'one\n');
    const a = await build('rootA', ['--build-arg', 'API_TOKEN=hunter2-there', '--report', join(dir, 'a2.json')]);
    expect(a.code, a.stderr).to.equal(0);
    await writeFile(join(ctx, 'a.txt'), 'three\n');
    const b = await build('rootB', ['--build-arg', 'API_TOKEN=hunter2-there', '--explain-against', join(dir, 'a2.json')]);
    expect(b.code, b.stderr).to.equal(0);
    // build --explain-against prints the same comparison at the end of the build.
    expect(b.stderr).to.match(/COPY a\.txt \/srv\/a\.txt {4}missed here, hit there\n {4}files differ in context: a\.txt sha256:/);
    await env?.registry.stop();

    const r = await tsbuild(['explain', '--root', join(dir, 'rootB'), '--against', join(dir, 'a2.json'), '--format', 'json']);
    expect(r.code, r.stderr).to.equal(0);
    const c = JSON.parse(r.stdout) as Compared;
    const copyA = c.steps.find((s) => s.instruction.startsWith('COPY a.txt'));
    expect(copyA?.outcome).to.equal('missed here, hit there');
    expect(copyA?.isRootCause).to.equal(true);
    expect(copyA?.reasons.map((x) => x.reason.kind)).to.deep.equal(['content']);
    const run = c.steps.find((s) => s.instruction.startsWith('RUN'));
    expect(run?.outcome).to.equal('missed here, hit there');
    expect(run?.reasons.map((x) => x.reason.kind)).to.deep.equal(['parent']);
    expect(c.same).to.be.greaterThan(0);

    const missing = await tsbuild(['explain', '--root', join(dir, 'rootB'), '--against', join(dir, 'nope.json')]);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.contain('not found');
  });
  it('compares with the build bundle a CI job exported (history export, .dockerbuild): the report rides in it', async () => {
    // Root A's latest build (all hits, above) as CI keeps it: docker/build-push-action uploads this bundle.
    const bundle = join(dir, 'ci.dockerbuild');
    const exported = await tsbuild(['history', 'export', '--root', join(dir, 'rootA'), '-o', bundle]);
    expect(exported.code, exported.stderr).to.equal(0);
    const r = await tsbuild(['explain', '--root', join(dir, 'rootB'), '--against', bundle, '--format', 'json']);
    expect(r.code, r.stderr).to.equal(0);
    const c = JSON.parse(r.stdout) as Compared;
    expect(c.steps.find((s) => s.instruction.startsWith('COPY a.txt'))?.outcome).to.equal('missed here, hit there');
    expect(r.stdout).to.not.contain('hunter2');
    const text = await tsbuild(['explain', '--root', join(dir, 'rootB'), '--against', bundle]);
    expect(text.stdout).to.contain(`bundle ${bundle}, build `);
    // `tsbuild report FILE` shows the build the bundle holds, as its own root would.
    const fromBundle = await tsbuild(['report', '--root', join(dir, 'rootB'), bundle, '--format', 'json']);
    const fromRoot = await tsbuild(['report', '--root', join(dir, 'rootA'), '--format', 'json']);
    expect(fromBundle.code, fromBundle.stderr).to.equal(0);
    expect((JSON.parse(fromBundle.stdout) as { build: { id: string } }).build.id).to.equal((JSON.parse(fromRoot.stdout) as { build: { id: string } }).build.id);
    // Someone else's file: a damaged one is refused by name, not read as far as it goes.
    const damaged = join(dir, 'damaged.dockerbuild');
    const bytes = await readFile(bundle);
    await writeFile(damaged, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const bad = await tsbuild(['explain', '--root', join(dir, 'rootB'), '--against', damaged]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain(`${damaged} is not a readable build bundle`).and.not.contain('    at ');
  });
});
