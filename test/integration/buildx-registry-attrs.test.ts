import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { addHostsEntry } from '../fixtures/hosts-entry.js';
import { run, tsbuild, type CliResult } from '../fixtures/tsbuild-cli.js';

// tsbuild issue 17: `registry.insecure=true` on `-o type=image` and on `--cache-to/--cache-from` reaches a plain-HTTP
// registry under a name that is not loopback, and `--metadata-file` reports the image as it was written (pushed).

const NAME = 'tsbuild-insecure17.test';

describe('buildx registry.insecure and metadata of the written image (issue 17)', function () {
  this.timeout(240_000);
  let env: BuildEnv;
  let ctx = '';
  let root = '';
  let host = '';
  let hosts: { remove(): Promise<void> } | undefined;
  const build = (args: string[]): Promise<CliResult> => tsbuild(['build', '--root', root, '--progress', 'plain', ...args], { cwd: ctx });
  const ok = (r: CliResult): CliResult => { expect(r.code, r.stderr).to.equal(0); return r; };

  before(async () => {
    env = await startBuildEnv('tsbuild-insecure-attrs-');
    hosts = await addHostsEntry(NAME);
    host = `${NAME}:${env.registry.host.split(':')[1] ?? ''}`;
    ctx = join(env.dir, 'ctx');
    root = join(env.dir, 'root');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${env.base}\nRUN echo hello > /hello.txt\n`);
  });
  after(async () => {
    await hosts?.remove();
    await env?.stop();
  });

  it('pushes to a plain-HTTP registry by name only with registry.insecure=true', async () => {
    const refused = await build(['--provenance=false', '-o', `type=image,name=${host}/app:1,push=true`, '.']);
    expect(refused.code, refused.stderr).to.equal(1);
    ok(await build(['--provenance=false', '-o', `type=image,name=${host}/app:1,push=true,registry.insecure=true`, '.']));
    const check = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${host}/app:1`]);
    expect(check.code, check.stderr).to.equal(0);
  });

  it('exports and imports a registry cache with registry.insecure=true', async () => {
    const refused = await build(['--cache-to', `type=registry,ref=${host}/app:cache`, '.']);
    expect(refused.code, refused.stderr).to.not.equal(0);
    ok(await build(['--cache-to', `type=registry,ref=${host}/app:cache,mode=max,registry.insecure=true`, '.']));
    // A new root: every step comes from the cache on the insecure registry.
    const r = tsbuild(['build', '--root', join(env.dir, 'root2'), '--progress', 'plain', '--cache-from', `type=registry,ref=${host}/app:cache,registry.insecure=true`, '.'], { cwd: ctx });
    const out = ok(await r);
    expect(out.stderr).to.match(/CACHED|remote/);
    expect(out.stderr).not.to.contain('MISS');
  });

  it('reports in --metadata-file the digest of the image as pushed when -o attributes change it', async () => {
    const meta = join(env.dir, 'meta.json');
    ok(await build(['--provenance=false', '--metadata-file', meta,
      '-o', `type=image,name=${env.registry.host}/app:zstd,push=true,compression=zstd,annotation.org.opencontainers.image.title=t17`, '.']));
    const metadata = JSON.parse(await readFile(meta, 'utf8')) as Record<string, unknown> & { 'containerimage.descriptor': { digest: string } };
    const raw = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${env.registry.host}/app:zstd`]);
    expect(raw.code, raw.stderr).to.equal(0);
    const pushed = `sha256:${createHash('sha256').update(raw.stdout).digest('hex')}`;
    const manifest = JSON.parse(raw.stdout) as { config: { digest: string }; annotations?: Record<string, string>; layers: { mediaType: string }[] };
    expect(manifest.layers.at(-1)?.mediaType).to.equal('application/vnd.oci.image.layer.v1.tar+zstd');
    expect(metadata['containerimage.digest']).to.equal(pushed);
    expect(metadata['containerimage.descriptor'].digest).to.equal(pushed);
    expect(metadata['containerimage.config.digest']).to.equal(manifest.config.digest);
  });
});
