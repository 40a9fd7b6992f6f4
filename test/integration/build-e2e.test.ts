import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunningRegistry } from '../fixtures/registry-server.js';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { run, tsbuild } from '../fixtures/tsbuild-cli.js';

// The first end-to-end path: FROM (pulled from a real registry), COPY, ENV, WORKDIR, LABEL, USER, CMD, ENTRYPOINT,
// built by the real CLI, pushed, and checked with skopeo and umoci.

interface InspectConfig { config: { Env?: string[]; WorkingDir?: string; User?: string; Labels?: Record<string, string>; Cmd?: string[]; Entrypoint?: string[] }; history: { created_by?: string; empty_layer?: boolean }[]; rootfs: { diff_ids: string[] } }

describe('tsbuild build, end to end against a real registry', function () {
  this.timeout(180_000);
  let env: BuildEnv | undefined;
  let registry: RunningRegistry;
  let dir: string;
  let ctx: string;
  let base: string;

  before(async () => {
    env = await startBuildEnv('tsbuild-e2e-');
    ({ registry, base, dir } = env);
    ctx = join(dir, 'ctx');
    await mkdir(join(ctx, 'src'), { recursive: true });
    await writeFile(join(ctx, 'src', 'app.sh'), '#!/bin/sh\necho "app $*"\n', { mode: 0o755 });
    await writeFile(join(ctx, 'src', 'notes.tmp'), 'excluded by .dockerignore\n');
    await writeFile(join(ctx, '.dockerignore'), '**/*.tmp\n');
    await writeFile(join(ctx, 'Dockerfile'), [
      `FROM ${base}`,
      'ENV APP_HOME=/srv/app MODE=production',
      'WORKDIR $APP_HOME',
      'COPY src/ ./bin/',
      'LABEL org.example.team="builders" version=1',
      'USER nobody',
      'ENTRYPOINT ["/srv/app/bin/app.sh"]',
      'CMD ["--help"]',
      '',
    ].join('\n'));
  });
  after(async () => {
    await env?.stop();
  });

  const inspectConfig = async (ref: string): Promise<InspectConfig> => {
    const r = await run('skopeo', ['inspect', '--tls-verify=false', '--config', `docker://${ref}`]);
    expect(r.code, r.stderr).to.equal(0);
    return JSON.parse(r.stdout) as InspectConfig;
  };

  it('pushes an image whose digest, files and config skopeo and umoci confirm', async () => {
    const root = join(dir, 'root-a');
    const meta = join(dir, 'meta.json');
    const ref = `${registry.host}/app:1`;
    const r = await tsbuild(['build', '--root', root, '--progress', 'plain', '--metadata-file', meta, '-t', ref, '--push', ctx]);
    expect(r.code, r.stderr).to.equal(0);
    const digest = (JSON.parse(await readFile(meta, 'utf8')) as Record<string, string>)['containerimage.digest'];

    const inspected = JSON.parse((await run('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`])).stdout) as { Digest: string; Layers: string[] };
    expect(inspected.Digest).to.equal(digest);
    // buildx's default: a pushed image gets min provenance, so the tag names an index of the image and its
    // attestation manifest (platform unknown/unknown, pointing back at the image).
    const raw = JSON.parse((await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`])).stdout) as { mediaType: string; manifests: { digest: string; platform?: { os: string }; annotations?: Record<string, string> }[] };
    expect(raw.mediaType).to.equal('application/vnd.oci.image.index.v1+json');
    expect(raw.manifests.map((m) => m.platform?.os)).to.deep.equal(['linux', 'unknown']);
    expect(raw.manifests[1]?.annotations?.['vnd.docker.reference.digest']).to.equal(raw.manifests[0]?.digest);
    expect(inspected.Layers).to.have.length(3);   // busybox + WORKDIR's directory + COPY

    const config = await inspectConfig(ref);
    expect(config.config.Env).to.include.members(['APP_HOME=/srv/app', 'MODE=production']);
    expect(config.config.Env?.some((e) => e.startsWith('PATH='))).to.equal(true);
    expect(config.config.WorkingDir).to.equal('/srv/app');
    expect(config.config.User).to.equal('nobody');
    expect(config.config.Labels).to.deep.equal({ 'org.example.team': 'builders', version: '1' });
    expect(config.config.Entrypoint).to.deep.equal(['/srv/app/bin/app.sh']);
    expect(config.config.Cmd).to.deep.equal(['--help']);

    const oci = join(dir, 'oci');
    const bundle = join(dir, 'bundle');
    expect((await run('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${oci}:app`])).code).to.equal(0);
    const unpack = await run('umoci', ['unpack', '--image', `${oci}:app`, bundle]);
    expect(unpack.code, unpack.stderr).to.equal(0);
    expect(await readFile(join(bundle, 'rootfs/srv/app/bin/app.sh'), 'utf8')).to.contain('echo "app $*"');
    expect(await readFile(join(bundle, 'rootfs/bin/busybox')).then((b) => b.length)).to.be.greaterThan(100_000);
    await readFile(join(bundle, 'rootfs/srv/app/bin/notes.tmp')).then(() => expect.fail('.dockerignore\'d file in the image'), () => undefined);
    const runtime = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as { process: { args: string[]; cwd: string; user: { uid: number } } };
    expect(runtime.process.args).to.deep.equal(['/srv/app/bin/app.sh', '--help']);
    expect(runtime.process.cwd).to.equal('/srv/app');
    expect(runtime.process.user.uid).to.equal(65534);
  });

  it('writes history as docker history shows it: instruction text, empty_layer for config-only steps', async () => {
    const config = await inspectConfig(`${registry.host}/app:1`);
    const ours = config.history.slice(-7);
    expect(ours.map((h) => h.created_by)).to.deep.equal([
      'ENV APP_HOME=/srv/app MODE=production',
      'WORKDIR /srv/app',
      'COPY src/ ./bin/ # buildkit',
      'LABEL org.example.team=builders version=1',
      'USER nobody',
      'ENTRYPOINT ["/srv/app/bin/app.sh"]',
      'CMD ["--help"]',
    ]);
    expect(ours.map((h) => h.empty_layer === true)).to.deep.equal([true, false, false, true, true, true, true]);
    expect(config.history.filter((h) => !h.empty_layer)).to.have.length(config.rootfs.diff_ids.length);
  });

  // With the default provenance on: it is deterministic, so the rebuild's attestation manifest and index are the same.
  it('takes every step from the cache on a rebuild, gives the same image, and re-pushes no blob bytes', async () => {
    const before = (JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as Record<string, string>)['containerimage.digest'];
    const meta = join(dir, 'meta2.json');
    const r = await tsbuild(['build', '--root', join(dir, 'root-a'), '--progress', 'plain', '--metadata-file', meta, '-t', `${registry.host}/app:1`, '--push', ctx]);
    expect(r.code, r.stderr).to.equal(0);
    const m = JSON.parse(await readFile(meta, 'utf8')) as { 'containerimage.digest': string; 'tsbuild.cache': { steps: number; cached: number }; 'tsbuild.transfer': { blobBytesUp: number; blobsUploaded: number } };
    expect(m['tsbuild.cache'].cached).to.equal(m['tsbuild.cache'].steps);
    expect(m['containerimage.digest']).to.equal(before);
    expect(m['tsbuild.transfer'].blobBytesUp).to.equal(0);
    expect(m['tsbuild.transfer'].blobsUploaded).to.equal(0);
    expect(r.stderr).to.match(/CACHED/);
  });

  it('accepts the shorthand `tsbuild --push REF CONTEXT`', async () => {
    const r = await tsbuild(['--push', `${registry.host}/short:1`, ctx, '--root', join(dir, 'root-a'), '--progress', 'plain']);
    expect(r.code, r.stderr).to.equal(0);
    expect((await run('skopeo', ['inspect', '--tls-verify=false', `docker://${registry.host}/short:1`])).code).to.equal(0);
  });

  it('writes an OCI layout tarball with -o type=oci without pushing, byte-identical across roots with SOURCE_DATE_EPOCH', async () => {
    const digests: string[] = [];
    const tarballs: string[] = [];
    for (const name of ['x', 'y']) {
      const out = join(dir, `image-${name}.tar`);
      const r = await tsbuild(['build', '--root', join(dir, `root-${name}`), '--progress', 'plain', '-t', 'example/app:2', '-o', `type=oci,dest=${out}`, ctx], { env: { SOURCE_DATE_EPOCH: '1700000000' } });
      expect(r.code, r.stderr).to.equal(0);
      const inspect = await run('skopeo', ['inspect', `oci-archive:${out}`]);
      expect(inspect.code, inspect.stderr).to.equal(0);
      const parsed = JSON.parse(inspect.stdout) as { Digest: string; Created: string };
      expect(parsed.Created).to.equal('2023-11-14T22:13:20Z');
      // The config's own bytes, as BuildKit (Go) writes a time: no `.000` (skopeo above reformats what it parsed).
      const config = JSON.parse((await run('skopeo', ['inspect', '--config', '--raw', `oci-archive:${out}`])).stdout) as { created: string; history: { created: string }[] };
      expect([config.created, config.history.at(-1)?.created]).to.deep.equal(['2023-11-14T22:13:20Z', '2023-11-14T22:13:20Z']);
      digests.push(parsed.Digest);
      tarballs.push(createHash('sha256').update(await readFile(out)).digest('hex'));
      // The layout holds the default min provenance too (BuildKit attaches it to type=oci): it does not break the bytes.
      const raw = JSON.parse((await run('skopeo', ['inspect', '--raw', `oci-archive:${out}`])).stdout) as { manifests: { annotations?: Record<string, string> }[] };
      expect(raw.manifests.map((m) => m.annotations?.['vnd.docker.reference.type'])).to.deep.equal([undefined, 'attestation-manifest']);
    }
    expect(digests[0]).to.equal(digests[1]);
    expect(tarballs[0]).to.equal(tarballs[1]);
    expect((await run('skopeo', ['inspect', '--tls-verify=false', `docker://${registry.host}/example/app:2`])).code).to.not.equal(0);
  });

  describe('bad input', () => {
    const build = (context: string, extra: string[] = []) => tsbuild(['build', '--root', join(dir, 'root-bad'), '--progress', 'plain', ...extra, context]);
    const dockerfile = async (name: string, lines: string[]) => {
      const d = join(dir, name);
      await mkdir(d, { recursive: true });
      await writeFile(join(d, 'Dockerfile'), `${lines.join('\n')}\n`);
      return d;
    };

    it('names the missing Dockerfile and exits non-zero', async () => {
      const d = join(dir, 'empty');
      await mkdir(d, { recursive: true });
      const r = await build(d);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.contain(`${d}/Dockerfile`).and.to.contain('hint:');
      expect(r.stderr).to.not.match(/\n\s+at /);   // no stack trace
    });

    it('points a missing COPY source at its Dockerfile line', async () => {
      const d = await dockerfile('nocopy', [`FROM ${base}`, 'COPY missing.txt /x']);
      const r = await build(d);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/Dockerfile:2/).and.to.contain('missing.txt');
    });

    it('shows an unknown instruction with its line, a caret and a suggestion', async () => {
      const d = await dockerfile('typo', [`FROM ${base}`, 'COPPY a b']);
      const r = await build(d);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/Dockerfile:2:1/).and.to.contain('^').and.to.contain('COPY');
    });

    it('names an unknown base image', async () => {
      const d = await dockerfile('nobase', [`FROM ${registry.host}/does-not-exist:1`]);
      const r = await build(d);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.contain('does-not-exist');
    });

    it('names an unreachable registry', async () => {
      const d = await dockerfile('unreachable', ['FROM 127.0.0.1:1/busybox:latest']);
      const r = await build(d);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.contain('127.0.0.1:1');
    });

    it('leaves the store usable: a good build after the failures succeeds', async () => {
      const r = await build(ctx, ['-o', `type=oci,dest=${join(dir, 'after-failures.tar')}`]);
      expect(r.code, r.stderr).to.equal(0);
    });
  });
});
