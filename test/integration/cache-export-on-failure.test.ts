import { expect } from 'chai';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { run, tsbuild } from '../fixtures/tsbuild-cli.js';

// Issue 19: a build that fails at a late step still seeds the cache for the next runner. Runner A's build fails at
// its last RUN; runner B (another root, empty) fixes that line and builds with --cache-from: every step before the
// failure is a remote hit.

interface Metadata { 'tsbuild.cache': { steps: number; cached: number; missed: number; remote: number } }

describe('cache export from a failed build', function () {
  this.timeout(300_000);
  let env: BuildEnv | undefined;
  let dir: string;
  let ctx: string;
  let host: string;

  const dockerfile = (last: string) => [
    `FROM ${env?.base ?? ''}`,
    'COPY a.txt /srv/a.txt',
    'RUN echo one > /srv/one',
    'RUN echo two > /srv/two',
    'RUN echo three > /srv/three',
    last,
    '',
  ].join('\n');

  before(async () => {
    env = await startBuildEnv('tsbuild-cachefail-');
    dir = env.dir;
    host = env.registry.host;
    ctx = join(dir, 'ctx');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'a.txt'), 'a\n');
  });
  after(async () => {
    await env?.stop();
  });

  it('exports the steps that finished before the failure, manifest last, and a second root hits them', async () => {
    await writeFile(join(ctx, 'Dockerfile'), dockerfile('RUN test -e /srv/missing'));
    const local = join(dir, 'local-cache');
    const a = await tsbuild(['build', '--root', join(dir, 'rootA'), '--progress', 'plain',
      '--cache-to', `type=registry,ref=${host}/cache:fail,mode=max`, '--cache-to', `type=local,dest=${local},mode=max`, ctx]);
    expect(a.code, a.stderr).to.equal(1);
    expect(a.stderr).to.match(new RegExp(`${host}/cache:fail holds the 5 steps that finished`));

    // Every blob the manifest names is in the repository (skopeo copies the whole artifact or fails).
    const copy = await run('skopeo', ['copy', '--src-tls-verify=false', `docker://${host}/cache:fail`, `oci:${join(dir, 'copied')}:x`]);
    expect(copy.code, copy.stderr).to.equal(0);
    // The local export is a whole OCI layout (index.json renamed into place last).
    await access(join(local, 'index.json'));

    await writeFile(join(ctx, 'Dockerfile'), dockerfile('RUN echo fixed > /srv/fixed'));
    for (const [name, from] of [['rootB', `type=registry,ref=${host}/cache:fail`], ['rootC', `type=local,src=${local}`]] as const) {
      const meta = join(dir, `${name}.json`);
      const b = await tsbuild(['build', '--root', join(dir, name), '--progress', 'plain', '--cache-from', from, '--metadata-file', meta, ctx]);
      expect(b.code, b.stderr).to.equal(0);
      const m = JSON.parse(await readFile(meta, 'utf8')) as Metadata;
      // FROM, COPY and three RUNs came from A's failed build; only the fixed last step ran.
      expect(m['tsbuild.cache'], name).to.include({ steps: 6, remote: 5, missed: 1 });
    }
  });
});
