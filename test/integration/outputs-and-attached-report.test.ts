import { expect } from 'chai';
import { createHash } from 'node:crypto';
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
    // By default the layout holds buildx's min provenance: the tag names an index of the image and its attestation
    // manifest, which skopeo reads (it picks the platform) ...
    const withProvenance = join(dir, 'layout-default');
    const d = await build(`type=oci,dest=${withProvenance},tar=false`);
    expect(d.code, d.stderr).to.equal(0);
    const raw = await run('skopeo', ['inspect', '--raw', `oci:${withProvenance}:1`]);
    expect(raw.code, raw.stderr).to.equal(0);
    const index = JSON.parse(raw.stdout) as { manifests: { platform?: { os: string } }[] };
    expect(index.manifests.map((m) => m.platform?.os)).to.deep.equal(['linux', 'unknown']);
    expect((await run('skopeo', ['inspect', `oci:${withProvenance}:1`])).code).to.equal(0);
    // ... but umoci resolves a tag to every manifest under it and refuses two ("tag is ambiguous"), as it does for
    // buildx's layouts: its users pass --provenance=false, and so does this check of the layout umoci unpacks.
    const layout = join(dir, 'layout');
    const r = await build(`type=oci,dest=${layout},tar=false`, ['--provenance=false']);
    expect(r.code, r.stderr).to.equal(0);
    // The store's blobs were copied by the kernel (OciLayoutDir.pushFile): each holds the bytes its name is the digest of.
    const blobNames = await readdir(join(layout, 'blobs/sha256'));
    expect(blobNames.length).to.be.greaterThan(3);
    for (const name of blobNames) expect(createHash('sha256').update(await readFile(join(layout, 'blobs/sha256', name))).digest('hex')).to.equal(name);
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

  // With the default provenance the tag names an index (image + attestation manifest). The report describes the whole
  // build, so it refers to what the tag names, the index, as `oras attach REF` and `cosign attach … REF` resolve a tag;
  // `tsbuild report REF` and `oras discover REF` resolve the tag the same way and find it. The attestation manifest
  // keeps the platform image as its subject, as BuildKit writes it.
  it('attaches the report to the pushed image and shows it from an empty root', async () => {
    const ref = `${registry.host}/app:reported`;
    const r = await tsbuild(['build', '--root', join(dir, 'root'), '--progress', 'plain', '-t', ref, '--push', '--attach-report', ctx]);
    expect(r.code, r.stderr).to.equal(0);
    const raw = JSON.parse((await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`])).stdout) as { mediaType: string; manifests: { digest: string }[] };
    expect(raw.mediaType).to.equal('application/vnd.oci.image.index.v1+json');
    const shown = await tsbuild(['report', ref, '--root', join(dir, 'other-root'), '--format', 'json']);
    expect(shown.code, shown.stderr).to.equal(0);
    const report = JSON.parse(shown.stdout) as { schemaVersion: number; steps: { instruction: string }[]; build: { resultDigest: string } };
    expect(report.schemaVersion).to.equal(1);
    expect(report.steps.map((s) => s.instruction)).to.include('COPY hello.txt /srv/hello.txt');
    const digest = (await run('skopeo', ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${ref}`])).stdout.trim();
    expect(report.build.resultDigest).to.equal(digest);
    const discover = await tsbuild(['artifact', 'discover', ref, '--json']);
    expect(discover.code, discover.stderr).to.equal(0);
    const found = JSON.parse(discover.stdout) as { subject: { digest: string; mediaType: string }; referrers: { artifactType?: string }[] };
    expect(found.subject).to.include({ digest, mediaType: 'application/vnd.oci.image.index.v1+json' });
    expect(found.referrers.map((x) => x.artifactType)).to.deep.equal(['application/vnd.tsbuild.report.v1+json']);
    // The platform image itself carries no report: one report per build, on the index.
    const image = raw.manifests[0]?.digest ?? '';
    const onImage = await tsbuild(['artifact', 'discover', `${registry.host}/app@${image}`, '--json']);
    expect(onImage.code, onImage.stderr).to.equal(0);
    expect((JSON.parse(onImage.stdout) as { referrers: unknown[] }).referrers).to.deep.equal([]);
  });

  it('refuses --attach-report without a push, before building', async () => {
    const r = await tsbuild(['build', '--root', join(dir, 'root'), '--attach-report', '-o', `type=local,dest=${join(dir, 'x')}`, ctx]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('--attach-report needs a pushed image');
  });
});
