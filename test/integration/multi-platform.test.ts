import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { run, runBytes, tsbuild, type CliResult } from '../fixtures/tsbuild-cli.js';

// Multi-platform images end to end, against the real registry: `--platform linux/amd64,linux/arm64` with a RUN that
// really executes arm64 busybox (Debian's busybox-static:arm64) under QEMU; a cross-compiling Dockerfile whose
// $BUILDPLATFORM stage runs once for both targets; and the distributed form, one push-by-digest build per root
// merged by `imagetools create`. skopeo and umoci check what the registry holds.

interface Metadata {
  'tsbuild.cache': { steps: number; cached: number; missed: number; remote: number };
  'containerimage.digest': string;
  'containerimage.descriptor': { mediaType: string; digest: string };
  'image.name'?: string;
}
interface ReportStep { instruction: string; cached: boolean; stage: { index: number; name?: string } }

describe('multi-platform builds (--platform a,b, push-by-digest, imagetools create)', function () {
  this.timeout(300_000);
  let env: BuildEnv | undefined;
  let host: string;
  let dir: string;
  let n = 0;

  before(async () => {
    env = await startBuildEnv('tsbuild-mp-');
    ({ dir } = env);
    host = env.registry.host;
  });
  after(async () => {
    await env?.stop();
  });

  const context = async (name: string, dockerfile: string[]): Promise<string> => {
    const ctx = join(dir, name);
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), `${dockerfile.join('\n')}\n`);
    return ctx;
  };
  const build = async (args: string[], ctx: string): Promise<{ r: CliResult; meta: Metadata }> => {
    const meta = join(dir, `meta-${++n}.json`);
    const r = await tsbuild(['build', '--progress', 'plain', '--metadata-file', meta, ...args, ctx]);
    expect(r.code, r.stderr).to.equal(0);
    return { r, meta: JSON.parse(await readFile(meta, 'utf8')) as Metadata };
  };
  const skopeo = async (args: string[]): Promise<string> => {
    const r = await run('skopeo', args);
    expect(r.code, r.stderr).to.equal(0);
    return r.stdout;
  };
  /** The file at `path` in the `arch` image of `ref`, via skopeo copy --override-arch and umoci unpack. */
  const fileIn = async (ref: string, arch: string, path: string): Promise<string> => {
    const oci = join(dir, `oci-${++n}`);
    const bundle = join(dir, `bundle-${n}`);
    await skopeo(['copy', '-q', '--override-arch', arch, '--src-tls-verify=false', `docker://${ref}`, `oci:${oci}:x`]);
    const r = await run('umoci', ['unpack', '--image', `${oci}:x`, bundle]);
    expect(r.code, r.stderr).to.equal(0);
    return readFile(join(bundle, 'rootfs', path), 'utf8');
  };
  type Index = { mediaType: string; manifests: { digest: string; platform?: { architecture: string }; annotations?: Record<string, string> }[] };
  const rawIndex = async (ref: string): Promise<Index> =>
    JSON.parse(await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${ref}`])) as Index;
  /** buildx's shape with its default min provenance: the images, then one attestation manifest per image, naming it. */
  const expectAttested = (index: Index, archs: string[]): void => {
    expect(index.manifests.map((m) => m.platform?.architecture)).to.deep.equal([...archs, ...archs.map(() => 'unknown')]);
    const images = index.manifests.slice(0, archs.length).map((m) => m.digest);
    expect(index.manifests.slice(archs.length).map((m) => m.annotations?.['vnd.docker.reference.digest'])).to.deep.equal(images);
  };

  it('builds linux/amd64 and linux/arm64 into one index; the arm64 RUN runs arm64 busybox under QEMU', async () => {
    const ctx = await context('uname', [
      `FROM ${host}/busybox:multi`,
      'ARG TARGETPLATFORM',
      'ARG TARGETARCH',
      'RUN uname -m > /arch && echo "$TARGETPLATFORM $TARGETARCH" > /target',
    ]);
    const ref = `${host}/uname:1`;
    const { r, meta } = await build(['--root', join(dir, 'root-uname'), '--platform', 'linux/amd64,linux/arm64', '-t', ref, '--push'], ctx);
    const index = await rawIndex(ref);
    expect(index.mediaType).to.equal('application/vnd.oci.image.index.v1+json');
    expectAttested(index, ['amd64', 'arm64']);
    expect(meta['containerimage.digest']).to.match(/^sha256:/);
    expect(meta['containerimage.descriptor'].mediaType).to.equal('application/vnd.oci.image.index.v1+json');
    const arm = JSON.parse(await skopeo(['--override-arch', 'arm64', 'inspect', '--tls-verify=false', `docker://${ref}`])) as { Architecture: string };
    expect(arm.Architecture).to.equal('arm64');
    expect(await fileIn(ref, 'arm64', 'arch')).to.equal('aarch64\n');
    expect(await fileIn(ref, 'arm64', 'target')).to.equal('linux/arm64 arm64\n');
    expect(await fileIn(ref, 'amd64', 'arch')).to.equal('x86_64\n');
    // Each step once per platform, the platform named as buildx names it.
    expect(r.stderr).to.contain('[linux/amd64 2/2] RUN uname -m').and.contain('[linux/arm64 2/2] RUN uname -m');
  });

  it('keeps every platform\'s base layers as the base has them: rewrite-timestamp and zstd touch only the build\'s own', async () => {
    // BuildKit never rewrites or recompresses a base image's layers. Keyed by the FROM's text alone, the second
    // platform's base replaced the first's, whose base layer was then rewritten as if the build had made it.
    const ctx = await context('rewrite', [`FROM ${host}/busybox:multi`, 'RUN echo built > /built']);
    const ref = `${host}/rewrite:1`;
    const r = await tsbuild(['build', '--progress', 'plain', '--root', join(dir, 'root-rewrite'), '--platform', 'linux/amd64,linux/arm64', '--provenance=false',
      '-o', `type=image,name=${ref},push=true,rewrite-timestamp=true`, ctx], { env: { ...process.env, SOURCE_DATE_EPOCH: '1' } });
    expect(r.code, r.stderr).to.equal(0);
    for (const arch of ['amd64', 'arm64']) {
      const layers = async (image: string): Promise<string[]> =>
        (JSON.parse(await skopeo(['--override-arch', arch, 'inspect', '--tls-verify=false', `docker://${image}`])) as { Layers: string[] }).Layers;
      const base = await layers(`${host}/busybox:multi`);
      expect((await layers(ref)).slice(0, base.length), arch).to.deep.equal(base);
    }
  });

  it('puts Docker manifests (oci-mediatypes=false) in a Docker manifest list, as BuildKit\'s exporter does', async () => {
    const ctx = await context('docker-types', [`FROM ${host}/busybox:multi`, 'RUN echo d > /d']);
    const ref = `${host}/docker-types:1`;
    const { meta } = await build(['--root', join(dir, 'root-docker-types'), '--platform', 'linux/amd64,linux/arm64', '--provenance=false', '-o', `type=image,name=${ref},push=true,oci-mediatypes=false`], ctx);
    const index = await rawIndex(ref);
    expect(index.mediaType).to.equal('application/vnd.docker.distribution.manifest.list.v2+json');
    expect(meta['containerimage.descriptor'].mediaType).to.equal('application/vnd.docker.distribution.manifest.list.v2+json');
  });

  it('runs a --platform=$BUILDPLATFORM stage once for both targets (cross-compilation), shows it once and reports each step per platform', async () => {
    const ctx = await context('cross', [
      'FROM --platform=$BUILDPLATFORM ' + `${host}/busybox:multi AS build`,
      'RUN echo "prepared on $(uname -m)" > /prepared',
      'ARG TARGETARCH',
      'ARG BUILDPLATFORM',
      'RUN echo "compiled on $(uname -m) for $TARGETARCH ($BUILDPLATFORM)" > /app',
      `FROM ${host}/busybox:multi`,
      'COPY --from=build /prepared /app /',
    ]);
    const ref = `${host}/cross:1`;
    const root = join(dir, 'root-cross');
    const reportFile = join(dir, 'cross-report.json');
    const { r } = await build(['--root', root, '--platform', 'linux/amd64,linux/arm64', '-t', ref, '--push', '--report', reportFile], ctx);
    const report = JSON.parse(await readFile(reportFile, 'utf8')) as { steps: ReportStep[] };
    const prepare = report.steps.filter((s) => s.instruction.startsWith('RUN echo "prepared'));
    expect(prepare.map((s) => s.stage.name).sort()).to.deep.equal(['linux/amd64 build', 'linux/arm64 build']);
    expect(prepare.filter((s) => !s.cached), 'the shared RUN executed once').to.have.length(1);
    const compileSteps = report.steps.filter((s) => s.instruction.startsWith('RUN echo "compiled'));
    expect(compileSteps.filter((s) => !s.cached), 'the per-target RUN executed once per platform').to.have.length(2);
    // Progress shows the shared step once, named by the platform it runs on, as BuildKit shows one vertex per digest
    // (dockerfile2llb prefixCommand); a step whose TARGETARCH differs from its stage's is `linux/amd64->arm64`.
    expect(r.stderr.match(/prepared on/g) ?? [], 'one label for the shared step').to.have.length(1);
    expect(r.stderr).to.contain('[linux/amd64 build 2/3] RUN echo "prepared').and.not.contain('[linux/arm64 build');
    expect(r.stderr).to.contain('[linux/amd64 build 3/3] RUN echo "compiled').and.contain('[linux/amd64->arm64 build 3/3] RUN echo "compiled');
    expect(r.stderr).to.contain('[linux/arm64 stage-1 2/2] COPY --from=build');
    // Read back from the history (no graph in memory), the Markdown report still names each step's platform.
    const md = await tsbuild(['report', '--root', root, '--format', 'md']);
    expect(md.code, md.stderr).to.equal(0);
    expect(md.stdout.split('\n').filter((l) => l.includes('RUN echo "prepared')).map((l) => /`(linux\/\w+)`/.exec(l)?.[1])).to.deep.equal(['linux/amd64', 'linux/arm64']);
    expect(await fileIn(ref, 'arm64', 'app')).to.equal('compiled on x86_64 for arm64 (linux/amd64)\n');
    expect(await fileIn(ref, 'amd64', 'app')).to.equal('compiled on x86_64 for amd64 (linux/amd64)\n');
    expect(await fileIn(ref, 'arm64', 'prepared')).to.equal('prepared on x86_64\n');

    // The OCI layout holds the index; type=local writes one directory per platform, as buildx does.
    const layout = join(dir, 'cross-oci');
    const local = join(dir, 'cross-local');
    await build(['--root', root, '--platform', 'linux/amd64,linux/arm64', '-o', `type=oci,dest=${layout},tar=false`, '-o', `type=local,dest=${local}`], ctx);
    const top = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { mediaType: string; digest: string }[] };
    expect(top.manifests.map((m) => m.mediaType)).to.deep.equal(['application/vnd.oci.image.index.v1+json']);
    const inner = JSON.parse(await readFile(join(layout, 'blobs', 'sha256', (top.manifests[0]?.digest ?? '').slice(7)), 'utf8')) as Index;
    expectAttested(inner, ['amd64', 'arm64']);
    expect((await readdir(local)).sort()).to.deep.equal(['linux_amd64', 'linux_arm64']);
    expect(await readFile(join(local, 'linux_arm64', 'app'), 'utf8')).to.equal('compiled on x86_64 for arm64 (linux/amd64)\n');
  });

  it('names each image and its index entry by the asked platform when the target stage runs on $BUILDPLATFORM; reads `arm64` as linux/arm64', async () => {
    // BuildKit's Dockerfile2LLB gives the image config the requested os/architecture and dockerui's makeExportPlatform
    // names the index entry by it; the target stage's own platform (the build's) made an index of two amd64 images.
    const ctx = await context('on-build-platform', [
      `FROM --platform=$BUILDPLATFORM ${host}/busybox:multi AS out`,
      'ARG TARGETARCH TARGETSTAGE',
      'RUN echo "$TARGETARCH $TARGETSTAGE" > /t',
    ]);
    const ref = `${host}/on-build-platform:1`;
    // One part alone is an architecture on the host's OS (containerd's platforms.Parse, as buildx reads --platform).
    await build(['--root', join(dir, 'root-on-build-platform'), '--platform', 'linux/amd64,arm64', '--provenance=false', '-t', ref, '--push'], ctx);
    const index = await rawIndex(ref);
    expect(index.manifests.map((m) => m.platform?.architecture)).to.deep.equal(['amd64', 'arm64']);
    const arm = JSON.parse(await skopeo(['--override-arch', 'arm64', 'inspect', '--tls-verify=false', `docker://${ref}`])) as { Architecture: string; Os: string };
    expect([arm.Os, arm.Architecture]).to.deep.equal(['linux', 'arm64']);
    expect(await fileIn(ref, 'arm64', 't')).to.equal('arm64 out\n');
  });

  it('merges the platforms into one directory with -o type=local,platform-split=false, refusing a file two platforms share', async () => {
    // BuildKit's local exporter (CreateFSOpts.UsePlatformSplit): split by default only for several platforms;
    // platform-split=false merges them and fails on a file path seen twice; =true gives one platform its directory too.
    const lines = (dest: string): string[] => [
      `FROM --platform=$BUILDPLATFORM ${host}/busybox:multi AS build`,
      'ARG TARGETARCH',
      'RUN echo $TARGETARCH > /app-$TARGETARCH',
      'FROM scratch',
      'ARG TARGETARCH',
      `COPY --from=build /app-$TARGETARCH /${dest}`,
    ];
    const root = join(dir, 'root-split');
    const merged = join(dir, 'split-merged');
    await build(['--root', root, '--platform', 'linux/amd64,linux/arm64', '-o', `type=local,dest=${merged},platform-split=false`], await context('split', lines('')));
    expect((await readdir(merged)).sort()).to.deep.equal(['app-amd64', 'app-arm64']);
    expect(await readFile(join(merged, 'app-arm64'), 'utf8')).to.equal('arm64\n');
    const one = join(dir, 'split-one');
    await build(['--root', root, '--platform', 'linux/arm64', '-o', `type=local,dest=${one},platform-split=true`], await context('split', lines('')));
    expect(await readdir(one)).to.deep.equal(['linux_arm64']);
    const clash = join(dir, 'split-clash-out');
    const r = await tsbuild(['build', '--root', root, '--platform', 'linux/amd64,linux/arm64', '-o', `type=local,dest=${clash},platform-split=false`, await context('split-clash', lines('app'))]);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr).to.contain('cannot overwrite app from linux/amd64 with linux/arm64 when split option is disabled');
    expect(await readdir(clash).catch(() => []), 'nothing written').to.deep.equal([]);
  });

  it('pushes each platform by digest from its own root, then imagetools create merges them into one tagged index', async () => {
    const ctx = await context('dist', [
      `FROM ${host}/busybox:multi`,
      'RUN uname -m > /arch',
    ]);
    const repo = `${host}/dist`;
    const output = `type=image,name=${repo},push-by-digest=true,name-canonical=true,push=true`;
    // With buildx's default provenance each runner pushes an index (its image + attestation manifest); create
    // flattens them, as buildx's does, into one index of both images and both attestation manifests.
    const digests: string[] = [];
    const children: string[][] = [];
    for (const arch of ['amd64', 'arm64']) {
      const { meta } = await build(['--root', join(dir, `root-dist-${arch}`), '--platform', `linux/${arch}`, '-o', output], ctx);
      expect(meta['image.name']).to.equal(`${repo}@${meta['containerimage.digest']}`);
      digests.push(meta['containerimage.digest']);
      const own = await rawIndex(`${repo}@${meta['containerimage.digest']}`);
      expectAttested(own, [arch]);
      children.push(own.manifests.map((m) => m.digest));
    }
    const [amd64, arm64] = children.map((c) => c[0] ?? '');
    // By digest only: the repository has no tag.
    const tags = await run('skopeo', ['list-tags', '--tls-verify=false', `docker://${repo}`]);
    expect(tags.code === 0 ? (JSON.parse(tags.stdout) as { Tags: string[] | null }).Tags ?? [] : []).to.deep.equal([]);

    const dry = await tsbuild(['imagetools', 'create', '--dry-run', '-t', `${host}/final:1`, ...digests.map((d) => `${repo}@${d}`)]);
    expect(dry.code, dry.stderr).to.equal(0);
    expect((JSON.parse(dry.stdout) as { manifests: { digest: string }[] }).manifests.map((m) => m.digest)).to.deep.equal(children.flat());
    expect((await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${host}/final:1`])).code, 'a dry run pushes nothing').to.not.equal(0);

    // Into another repository of the same registry: the manifests are copied, their blobs mounted, not uploaded.
    const created = await tsbuild(['imagetools', 'create', '-t', `${host}/final:1`, ...digests.map((d) => `${repo}@${d}`)]);
    expect(created.code, created.stderr).to.equal(0);
    expect(created.stderr).to.match(/4 manifests copied \(\d+ blobs mounted, 0 copied/);
    const index = await rawIndex(`${host}/final:1`);
    expect(index.manifests.map((m) => [m.digest, m.platform?.architecture])).to.deep.equal([
      [amd64, 'amd64'], [children[0]?.[1], 'unknown'], [arm64, 'arm64'], [children[1]?.[1], 'unknown'],
    ]);
    expect(await fileIn(`${host}/final:1`, 'arm64', 'arch')).to.equal('aarch64\n');
    // And in the same repository, by bare digest, as a CI merge job does.
    const same = await tsbuild(['imagetools', 'create', '-t', `${repo}:latest`, ...digests]);
    expect(same.code, same.stderr).to.equal(0);
    expect(same.stderr).to.contain('0 manifests copied');
    expect(same.stdout.trim()).to.equal(created.stdout.trim());

    // A CI matrix where each job adds its platform: --append starts from what the tag holds (and --progress, which
    // buildx scripts pass, is accepted).
    const first = await tsbuild(['imagetools', 'create', '-t', `${host}/appended:1`, `${repo}@${digests[0] ?? ''}`]);
    expect(first.code, first.stderr).to.equal(0);
    const appended = await tsbuild(['imagetools', 'create', '--append', '--progress', 'plain', '-t', `${host}/appended:1`, `${repo}@${digests[1] ?? ''}`]);
    expect(appended.code, appended.stderr).to.equal(0);
    expect(appended.stdout.trim(), 'the same index as both at once').to.equal(created.stdout.trim());
    expect((await rawIndex(`${host}/appended:1`)).manifests.map((m) => m.digest)).to.deep.equal(children.flat());

    // A lone source with no annotations is pushed as it is (buildx's Combine), so re-tagging keeps the digest a
    // signature was made over: an index always, into another repository with its manifests copied first; an image
    // manifest only with --prefer-index=false (by default it is wrapped in a new index).
    const promoted = await tsbuild(['imagetools', 'create', '-t', `${host}/promoted:1`, `${repo}@${digests[0] ?? ''}`]);
    expect(promoted.code, promoted.stderr).to.equal(0);
    expect(promoted.stdout.trim()).to.equal(digests[0]);
    expect(promoted.stderr).to.contain(`index ${digests[0] ?? ''} kept as it is; 3 manifests copied`);
    expect(await rawIndex(`${host}/promoted:1`)).to.deep.equal(await rawIndex(`${repo}@${digests[0] ?? ''}`));
    expect(await fileIn(`${host}/promoted:1`, 'amd64', 'arch')).to.equal('x86_64\n');
    const lone = await tsbuild(['imagetools', 'create', '--prefer-index=false', '-t', `${host}/lone:1`, `${repo}@${amd64}`]);
    expect(lone.code, lone.stderr).to.equal(0);
    expect(lone.stdout.trim()).to.equal(amd64);
    const loneRaw = await runBytes('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${host}/lone:1`]);
    expect(`sha256:${createHash('sha256').update(loneRaw.stdout).digest('hex')}`).to.equal(amd64);
    const wrapped = await tsbuild(['imagetools', 'create', '--dry-run', '-t', `${host}/lone:2`, `${repo}@${amd64}`]);
    expect((JSON.parse(wrapped.stdout) as { manifests: { digest: string }[] }).manifests.map((m) => m.digest)).to.deep.equal([amd64]);
    expect((await tsbuild(['imagetools', 'create', '--prefer-index=maybe', '-t', `${host}/lone:3`, `${repo}@${amd64}`])).stderr).to.contain('--prefer-index=maybe: expected true or false');
    // --annotation as buildx's combine places them: index: on the index, manifest-descriptor[PLATFORM]: on the entries
    // of that platform; manifest: and untyped ones are refused, never written as index keys named "manifest:…".
    const annotated = await tsbuild(['imagetools', 'create', '--dry-run', '-t', `${host}/ann:1`, '--annotation', 'index:a=1', '--annotation', 'manifest-descriptor[linux/arm64]:b=2', `${repo}@${amd64}`, `${repo}@${arm64}`]);
    expect(annotated.code, annotated.stderr).to.equal(0);
    const doc = JSON.parse(annotated.stdout) as { annotations?: Record<string, string>; manifests: { digest: string; annotations?: Record<string, string> }[] };
    expect(doc.annotations).to.deep.equal({ a: '1' });
    expect(doc.manifests.map((m) => m.annotations?.['b'])).to.deep.equal([undefined, '2']);
    const untyped = await tsbuild(['imagetools', 'create', '--dry-run', '-t', `${host}/ann:2`, '--annotation', 'foo=bar', `${repo}@${amd64}`, `${repo}@${arm64}`]);
    expect(untyped.code).to.equal(2);
    expect(untyped.stderr).to.contain('"manifest" annotations are not supported by imagetools create yet');

    const inspect = await tsbuild(['imagetools', 'inspect', `${host}/final:1`]);
    expect(inspect.code, inspect.stderr).to.equal(0);
    expect(inspect.stdout).to.contain(`Name:      ${host}/final:1`).and.contain('MediaType: application/vnd.oci.image.index.v1+json')
      .and.contain('  Platform:    linux/amd64').and.contain('  Platform:    linux/arm64').and.contain('  Annotations: \n    vnd.docker.reference.digest: ').and.contain(`${host}/final@${arm64}`);
    const raw = await tsbuild(['imagetools', 'inspect', '--raw', `${host}/final:1`]);
    expect(JSON.parse(raw.stdout)).to.deep.equal(index);
  });

  it('keys the registry cache per platform: an amd64 cache never serves an arm64 RUN', async () => {
    const ctx = await context('cache', [`FROM ${host}/busybox:multi`, 'RUN uname -m > /arch']);
    const cache = `${host}/cache:uname`;
    await build(['--root', join(dir, 'root-cache-a'), '--platform', 'linux/amd64', '--cache-to', `type=registry,ref=${cache},mode=max`, '-o', `type=local,dest=${join(dir, 'cache-a')}`], ctx);
    const arm = await build(['--root', join(dir, 'root-cache-b'), '--platform', 'linux/arm64', '--cache-from', `type=registry,ref=${cache}`, '-o', `type=local,dest=${join(dir, 'cache-b')}`], ctx);
    expect(arm.meta['tsbuild.cache'].remote).to.equal(0);
    expect(await readFile(join(dir, 'cache-b', 'arch'), 'utf8')).to.equal('aarch64\n');
    // Both platforms from a fresh root: amd64 comes from the cache, arm64 runs.
    const both = await build(['--root', join(dir, 'root-cache-c'), '--platform', 'linux/amd64,linux/arm64', '--cache-from', `type=registry,ref=${cache}`, '-o', `type=local,dest=${join(dir, 'cache-c')}`], ctx);
    expect(both.meta['tsbuild.cache']).to.include({ steps: 4, remote: 2, missed: 2 });
    expect(await readFile(join(dir, 'cache-c', 'linux_amd64', 'arch'), 'utf8')).to.equal('x86_64\n');
    expect(await readFile(join(dir, 'cache-c', 'linux_arm64', 'arch'), 'utf8')).to.equal('aarch64\n');
  });

  it('refuses -o type=docker for several platforms before building', async () => {
    const ctx = await context('docker-out', [`FROM ${host}/busybox:multi`]);
    const r = await tsbuild(['build', '--root', join(dir, 'root-refuse'), '--platform', 'linux/amd64,linux/arm64', '-o', `type=docker,dest=${join(dir, 'x.tar')}`, ctx]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('type=docker holds one platform');
  });
});
