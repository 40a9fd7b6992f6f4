import { expect } from 'chai';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { tsbuild } from '../fixtures/tsbuild-cli.js';

// `tsbuild du` and `prune` on a real root print its records as `docker buildx du` and `prune` print BuildKit's.
describe('du and prune as buildx prints them', function () {
  this.timeout(120_000);
  let env: BuildEnv;
  let root: string;
  before(async () => {
    env = await startBuildEnv('tsbuild-du-');
    root = join(env.dir, 'root');
    const ctx = join(env.dir, 'ctx');
    await mkdir(ctx);
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${env.base}\nRUN echo one > /one\nRUN head -c 5000 /dev/zero > /five-k\n`);
    const built = await tsbuild(['build', '--root', root, '--progress', 'plain', ctx]);
    expect(built.code, built.stderr).to.equal(0);
  });
  after(async () => { await env.stop(); });

  const ROW = /^[0-9a-f]{25} {15}\ttrue \t\t\S+ *\t(Less than a second|\d+ seconds?) ago$/;

  it('lists every record in buildx\'s table, then what is reclaimable and the total', async () => {
    const du = await tsbuild(['du', '--root', root]);
    expect(du.code, du.stderr).to.equal(0);
    const lines = du.stdout.trimEnd().split('\n');
    expect(lines[0]).to.equal('ID\t\t\t\t\t\tRECLAIMABLE\tSIZE\t\tLAST ACCESSED');
    const rows = lines.slice(1, -2);
    expect(rows.length).to.be.at.least(3);   // the base's layer and the two RUN steps
    for (const row of rows) expect(row).to.match(ROW);
    expect(lines.at(-2)).to.match(/^Reclaimable:\t\d[\d.]*[kMG]?B$/);
    expect(lines.at(-1)).to.equal(`Total:\t\t${(lines.at(-2) ?? '').split('\t')[1]}`);
    const verbose = await tsbuild(['du', '--root', root, '--verbose']);
    expect(verbose.stdout).to.match(/^ID:\t\tsha256:[0-9a-f]{64}\nCreated at:\t\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC\nMutable:\tfalse\nReclaimable:\ttrue\n/);
    expect(verbose.stdout).to.contain('Description:\tRUN /bin/sh -c head -c 5000 /dev/zero > /five-k');
  });

  it('lists RUN cache mounts as exec.cachemount records, and prune --filter type=exec.cachemount removes only them', async () => {
    const ctx = join(env.dir, 'ctx-cache');
    await mkdir(ctx);
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${env.base}\nRUN --mount=type=cache,target=/cache head -c 7000 /dev/zero > /cache/seven-k && echo done > /done\n`);
    const built = await tsbuild(['build', '--root', root, '--progress', 'plain', ctx]);
    expect(built.code, built.stderr).to.equal(0);
    const mounts = await tsbuild(['du', '--root', root, '--filter', 'type=exec.cachemount', '--verbose']);
    expect(mounts.code, mounts.stderr).to.equal(0);
    expect(mounts.stdout).to.match(/^ID:\t\tsha256:[0-9a-f]{64}\n/);
    expect(mounts.stdout).to.contain('Mutable:\ttrue\n');
    expect(mounts.stdout).to.contain('Description:\tcached mount /cache with id "/cache"\n');
    // The file's 7,000 bytes, and the directory's own size (4 kB on ext4).
    expect(Number(/Size:\t\t([\d.]+)kB\n/.exec(mounts.stdout)?.[1])).to.be.within(7, 12);
    expect(mounts.stdout).to.contain('Type:\t\texec.cachemount\n');
    expect(mounts.stdout.match(/^ID:/gm)).to.have.length(1);
    const records = await tsbuild(['du', '--root', root, '--filter', 'type!=exec.cachemount']);
    const recordRows = records.stdout.trimEnd().split('\n').length - 1;
    expect(recordRows).to.be.at.least(4);
    const pruned = await tsbuild(['prune', '--root', root, '--filter', 'type=exec.cachemount']);
    expect(pruned.code, pruned.stderr).to.equal(0);
    expect(pruned.stdout.trimEnd().split('\n')).to.have.length(3);   // the header, the cache mount, Total
    expect(pruned.stdout).to.match(/^Total:\t\d+\.\d+kB$/m);
    expect((await tsbuild(['du', '--root', root, '--filter', 'type=exec.cachemount'])).stdout).to.equal('');
    expect((await tsbuild(['du', '--root', root, '--filter', 'type=regular'])).stdout.trimEnd().split('\n').length - 1).to.equal(recordRows);
    // The next build starts with an empty cache mount: the step that needs its file misses it.
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${env.base}\nRUN --mount=type=cache,target=/cache test ! -e /cache/seven-k && echo empty > /empty\n`);
    const again = await tsbuild(['build', '--root', root, '--progress', 'plain', ctx]);
    expect(again.code, again.stderr).to.equal(0);
  });

  it('filters by last use (no summary with a filter, as buildx), refuses other filters, and prune prints what it removed', async () => {
    const old = await tsbuild(['du', '--root', root, '--filter', 'until=1h']);
    expect(old.code, old.stderr).to.equal(0);
    expect(old.stdout).to.equal('');   // nothing here is an hour old
    const bad = await tsbuild(['du', '--root', root, '--filter', 'description=x']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain('unsupported --filter description=x');
    const badType = await tsbuild(['du', '--root', root, '--filter', 'type=nope']);
    expect(badType.code).to.equal(2);
    expect(badType.stderr).to.contain('unsupported --filter type=nope: no record type nope');
    const pruned = await tsbuild(['prune', '--root', root, '--all', '--force']);
    expect(pruned.code, pruned.stderr).to.equal(0);
    const lines = pruned.stdout.trimEnd().split('\n');
    expect(lines[0]).to.equal('ID\t\t\t\t\t\tRECLAIMABLE\tSIZE\t\tLAST ACCESSED');
    for (const row of lines.slice(1, -1)) expect(row).to.match(ROW);
    expect(lines.at(-1)).to.match(/^Total:\t\d[\d.]*[kMG]?B$/);
    const after = await tsbuild(['du', '--root', root]);
    expect(after.stdout).to.equal('Reclaimable:\t0B\nTotal:\t\t0B\n');
  });
});
