import { expect } from 'chai';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { publishDebian, type PublishedDebian } from '../fixtures/debian-image.js';
import { startRegistry, type RunningRegistry } from '../fixtures/registry-server.js';
import { run, tsbuild } from '../fixtures/tsbuild-cli.js';

// Provenance and SBOM attestations (issue 21) on a real Debian base, pushed to the real registry and read back with
// skopeo (the index and the attestation manifest as any registry client sees them) and with `imagetools inspect
// --format`, as buildx users read them. The npm dependency is a real package's installed files (left-pad 1.3.0's
// package.json and a lock file) COPYed in: the Debian base has no Node to run `npm install` with.

interface Desc { mediaType: string; digest: string; size: number; platform?: { os: string; architecture: string }; annotations?: Record<string, string> }
interface Spdx { spdxVersion: string; packages: { name: string; versionInfo: string; externalRefs: { referenceLocator: string }[] }[] }
/** SLSA provenance v1 as BuildKit writes it, the default version (BuildKit's since dockerfile/1.22.0). */
interface Slsa {
  buildDefinition: {
    buildType: string;
    externalParameters: { request: { frontend: string; args?: Record<string, string> } };
    internalParameters: { builderPlatform: string; buildConfig?: { llbDefinition: { id: string; op: { instruction: string }; cache?: { result: string } }[] } };
    resolvedDependencies: { uri: string; digest: { sha256?: string } }[];
  };
  runDetails: { metadata: Record<string, unknown> };
}

const LEFT_PAD = JSON.stringify({ name: 'left-pad', version: '1.3.0', description: 'String left pad', main: 'index.js', license: 'WTFPL' });
const LOCK = JSON.stringify({
  name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true,
  packages: {
    '': { name: 'app', version: '1.0.0', dependencies: { 'left-pad': '^1.3.0' } },
    'node_modules/left-pad': { version: '1.3.0', resolved: 'https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz', license: 'WTFPL' },
  },
});
const TOKEN = 'ghp_attestTestSecret0123456789';

describe('attestations: SLSA provenance and an SPDX SBOM attached as BuildKit attaches them', function () {
  this.timeout(300_000);
  let registry: RunningRegistry;
  let dir: string;
  let base: PublishedDebian;

  before(async function () {
    this.timeout(600_000);   // the first run on a machine debootstraps the base
    registry = await startRegistry();
    base = await publishDebian(registry.host);
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-attest-'));
  });
  after(async () => {
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const context = async (name: string, dockerfile: string[], files: Record<string, string> = {}): Promise<string> => {
    const ctx = join(dir, `ctx-${name}`);
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), `${[`FROM ${base.ref}`, ...dockerfile].join('\n')}\n`);
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(ctx, path)), { recursive: true });
      await writeFile(join(ctx, path), content);
    }
    return ctx;
  };
  const skopeoRaw = async (ref: string): Promise<unknown> => {
    const r = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]);
    expect(r.code, r.stderr).to.equal(0);
    return JSON.parse(r.stdout) as unknown;
  };
  const inspect = async (ref: string, format: string): Promise<unknown> => {
    const r = await tsbuild(['imagetools', 'inspect', ref, '--format', format]);
    expect(r.code, r.stderr).to.equal(0);
    return JSON.parse(r.stdout) as unknown;
  };

  it('lists the apt and npm packages with versions, names the base by digest and redacts a secret-looking build arg', async () => {
    const ctx = await context('full', [
      'ARG GITHUB_TOKEN',
      'RUN apt-get update && apt-get install -y --no-install-recommends hello && rm -rf /var/lib/apt/lists/*',
      'COPY app/ /app/',
    ], { 'app/package-lock.json': LOCK, 'app/node_modules/left-pad/package.json': LEFT_PAD, 'app/node_modules/left-pad/index.js': 'module.exports = 1;\n' });
    const ref = `${registry.host}/attest:full`;
    const r = await tsbuild(['build', '--root', join(dir, 'root'), '--progress', 'plain', '--provenance=mode=max', '--sbom=true',
      '--build-arg', `GITHUB_TOKEN=${TOKEN}`, '-t', ref, '--push', ctx]);
    expect(r.code, r.stderr.slice(-3000)).to.equal(0);

    // What any registry client sees: an index with the image and, after it, the attestation manifest.
    const index = await skopeoRaw(ref) as { mediaType: string; manifests: Desc[] };
    expect(index.mediaType).to.equal('application/vnd.oci.image.index.v1+json');
    expect(index.manifests).to.have.length(2);
    const [image, attestation] = index.manifests as [Desc, Desc];
    expect(image.platform?.os).to.equal('linux');
    expect(attestation.platform).to.deep.equal({ architecture: 'unknown', os: 'unknown' });
    expect(attestation.annotations).to.deep.equal({ 'vnd.docker.reference.digest': image.digest, 'vnd.docker.reference.type': 'attestation-manifest' });
    const manifest = await skopeoRaw(`${registry.host}/attest@${attestation.digest}`) as { layers: Desc[]; subject?: Desc };
    expect(manifest.layers.map((l) => [l.mediaType, l.annotations?.['in-toto.io/predicate-type']])).to.deep.equal([
      ['application/vnd.in-toto+json', 'https://slsa.dev/provenance/v1'],
      ['application/vnd.in-toto+json', 'https://spdx.dev/Document'],
    ]);
    expect(manifest.subject?.digest).to.equal(image.digest);
    // The image itself is whole: skopeo copies it (verifying every blob) by platform.
    const copy = await run('skopeo', ['copy', '--src-tls-verify=false', `docker://${ref}`, `oci:${join(dir, 'layout-full')}`]);
    expect(copy.code, copy.stderr).to.equal(0);

    const sbom = await inspect(ref, '{{json .SBOM}}') as { SPDX: Spdx };
    expect(sbom.SPDX.spdxVersion).to.equal('SPDX-2.3');
    const version = (name: string): string | undefined => sbom.SPDX.packages.find((p) => p.name === name)?.versionInfo;
    expect(version('hello')).to.match(/^\d/);
    expect(version('dpkg')).to.match(/^\d/);        // the base's own packages are listed too
    expect(version('left-pad')).to.equal('1.3.0');
    const purls = sbom.SPDX.packages.flatMap((p) => p.externalRefs.map((e) => e.referenceLocator));
    expect(purls).to.include('pkg:npm/left-pad@1.3.0');
    expect(purls.some((p) => p.startsWith('pkg:deb/debian/hello@'))).to.equal(true);

    const provenance = await inspect(ref, '{{json .Provenance}}') as { SLSA: Slsa };
    const slsa = provenance.SLSA.buildDefinition;
    expect(slsa.buildType).to.equal('https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md');
    expect(slsa.externalParameters.request.frontend).to.equal('dockerfile.v0');
    expect(slsa.resolvedDependencies).to.deep.include({ uri: `pkg:docker/${registry.host}/debian@bookworm?platform=${encodeURIComponent(image.platform ? `${image.platform.os}/${image.platform.architecture}` : '')}`, digest: { sha256: base.manifest.slice(7) } });
    expect(slsa.externalParameters.request.args?.['build-arg:GITHUB_TOKEN']).to.equal('<redacted>');
    expect(slsa.internalParameters.buildConfig?.llbDefinition.map((s) => s.op.instruction).join('\n')).to.contain('apt-get install');
    expect(JSON.stringify(provenance)).not.to.contain(TOKEN);
    expect(JSON.stringify(await inspect(ref, '{{json .SBOM}}'))).not.to.contain(TOKEN);
    // {{json .}} is buildx's {name, manifest, image}: the config's history records the ARG and the RUN's ARGs as
    // BuildKit does (`ARG GITHUB_TOKEN=…`, `|1 GITHUB_TOKEN=… /bin/sh -c …`); nothing else in it carries the token.
    const { image: imageConfig, ...everything } = await inspect(ref, '{{json .}}') as { image: { history: { created_by?: string }[] } };
    const { history, ...config } = imageConfig;
    expect(Object.keys(everything)).to.deep.equal(['name', 'manifest']);
    expect(JSON.stringify(everything) + JSON.stringify(config)).not.to.contain(TOKEN);
    expect(history.filter((h) => h.created_by?.includes(TOKEN)).every((h) => h.created_by === `ARG GITHUB_TOKEN=${TOKEN}` || h.created_by?.includes(`|1 GITHUB_TOKEN=${TOKEN} `))).to.equal(true);
  });

  it('pushes a plain single manifest with --provenance=false --sbom=false, as before', async () => {
    const ctx = await context('plain', ['RUN echo plain > /plain']);
    const ref = `${registry.host}/attest:plain`;
    const r = await tsbuild(['build', '--root', join(dir, 'root'), '--progress', 'plain', '--provenance=false', '--sbom=false', '-t', ref, '--push', ctx]);
    expect(r.code, r.stderr.slice(-3000)).to.equal(0);
    const raw = await skopeoRaw(ref) as { mediaType: string };
    expect(raw.mediaType).to.equal('application/vnd.oci.image.manifest.v1+json');
    const none = await inspect(ref, '{{json .Provenance}}');
    expect(none).to.deep.equal({});   // buildx's empty provenanceStub
  });

  it('writes min provenance (no build args) in SLSA v0.2 into an OCI layout with --attest type=provenance,mode=min,version=v0.2', async () => {
    const ctx = await context('v02', ['ARG FLAVOUR', 'RUN echo $FLAVOUR > /flavour']);
    const out = join(dir, 'v02-layout');
    const r = await tsbuild(['build', '--root', join(dir, 'root'), '--progress', 'plain', '--attest', 'type=provenance,mode=min,version=v0.2',
      '--build-arg', 'FLAVOUR=mint', '-o', `type=oci,dest=${out},tar=false`, ctx]);
    expect(r.code, r.stderr.slice(-3000)).to.equal(0);
    const copy = await run('skopeo', ['inspect', '--raw', `oci:${out}`]);
    expect(copy.code, copy.stderr).to.equal(0);
    const index = JSON.parse(copy.stdout) as { manifests: Desc[] };
    expect(index.manifests.map((m) => m.annotations?.['vnd.docker.reference.type'])).to.deep.equal([undefined, 'attestation-manifest']);
    const att = JSON.parse(await readFile(join(out, 'blobs/sha256', index.manifests[1]?.digest.slice(7) ?? ''), 'utf8')) as { layers: Desc[] };
    expect(att.layers.map((l) => l.annotations?.['in-toto.io/predicate-type'])).to.deep.equal(['https://slsa.dev/provenance/v0.2']);
    const statement = JSON.parse(await readFile(join(out, 'blobs/sha256', att.layers[0]?.digest.slice(7) ?? ''), 'utf8')) as { predicateType: string; predicate: { buildType: string; invocation: { parameters: { args?: Record<string, string> } } } };
    expect(statement.predicateType).to.equal('https://slsa.dev/provenance/v0.2');
    expect(statement.predicate.buildType).to.equal('https://mobyproject.org/buildkit@v1');
    expect(statement.predicate.invocation.parameters.args ?? {}).to.deep.equal({});   // min: no build args
  });

  it('takes provenance from a BUILDKIT_ATTEST_PROVENANCE build arg, as BuildKit reads one: mode=max, SLSA v1', async () => {
    const ctx = await context('attest-arg', ['COPY a.txt /a.txt'], { 'a.txt': 'arg\n' });
    const out = join(dir, 'attest-arg-layout');
    const r = await tsbuild(['build', '--root', join(dir, 'root'), '--progress', 'plain', '--build-arg', 'BUILDKIT_ATTEST_PROVENANCE=mode=max',
      '-o', `type=oci,dest=${out},tar=false`, ctx]);
    expect(r.code, r.stderr.slice(-3000)).to.equal(0);
    const blob = async (digest: string): Promise<unknown> => JSON.parse(await readFile(join(out, 'blobs/sha256', digest.slice(7)), 'utf8')) as unknown;
    const index = await blob((JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: Desc[] }).manifests[0]?.digest ?? '') as { manifests: Desc[] };
    const att = await blob(index.manifests[1]?.digest ?? '') as { layers: Desc[] };
    const statement = await blob(att.layers[0]?.digest ?? '') as { predicateType: string; predicate: Slsa };
    expect(statement.predicateType).to.equal('https://slsa.dev/provenance/v1');
    // max: the step list and the build args (this one included, as BuildKit keeps every build-arg: in the request).
    expect(statement.predicate.buildDefinition.internalParameters.buildConfig?.llbDefinition.map((s) => s.op.instruction).join('\n')).to.contain('COPY a.txt /a.txt');
    expect(statement.predicate.buildDefinition.externalParameters.request.args).to.include({ 'build-arg:BUILDKIT_ATTEST_PROVENANCE': 'mode=max' });
  });

  // buildx's default, made deterministic (issue 21 follow-up): min provenance on a pushed image with no flag, and the
  // same statement, attestation manifest and index from a second, empty root.
  it('attaches min provenance to a pushed image by default, the same bytes from an empty root; none when turned off', async () => {
    const ctx = await context('default', ['ARG FLAVOUR', 'COPY a.txt /a.txt', 'ENV FLAVOUR=$FLAVOUR'], { 'a.txt': 'a\n' });
    const ref = `${registry.host}/attest:default`;
    const epoch = { SOURCE_DATE_EPOCH: '1700000000' };
    const digests: string[] = [];
    for (const root of ['root-default-a', 'root-default-b']) {
      const meta = join(dir, `${root}.json`);
      const r = await tsbuild(['build', '--root', join(dir, root), '--progress', 'plain', '--metadata-file', meta, '--build-arg', 'FLAVOUR=mint', '-t', ref, '--push', ctx], { env: epoch });
      expect(r.code, r.stderr.slice(-3000)).to.equal(0);
      digests.push((JSON.parse(await readFile(meta, 'utf8')) as Record<string, string>)['containerimage.digest'] ?? '');
    }
    expect(digests[1], 'the index, attestation manifest included, is the same from an empty root').to.equal(digests[0]);
    const index = await skopeoRaw(ref) as { manifests: Desc[] };
    expect(index.manifests.map((m) => m.annotations?.['vnd.docker.reference.type'])).to.deep.equal([undefined, 'attestation-manifest']);
    const { SLSA: slsa } = await inspect(ref, '{{json .Provenance}}') as { SLSA: Slsa };
    expect(slsa.buildDefinition.externalParameters.request.args ?? {}).to.deep.equal({});   // min: no build args
    expect(slsa.runDetails.metadata).to.not.have.any.keys('invocationId', 'invocationID', 'startedOn', 'finishedOn', 'tsbuild_metadata');
    // No RUN, pinned base, SOURCE_DATE_EPOCH: tsbuild can claim a bit-for-bit rebuild, and the two roots just did one.
    expect(slsa.runDetails.metadata.buildkit_reproducible).to.equal(true);

    const off = join(dir, 'off.json');
    const r = await tsbuild(['build', '--root', join(dir, 'root-default-a'), '--progress', 'plain', '--metadata-file', off, '-t', `${registry.host}/attest:off`, '--push', ctx], { env: { BUILDX_NO_DEFAULT_ATTESTATIONS: '1' } });
    expect(r.code, r.stderr.slice(-3000)).to.equal(0);
    expect((await skopeoRaw(`${registry.host}/attest:off`) as { mediaType: string }).mediaType).to.equal('application/vnd.oci.image.manifest.v1+json');
    // Not for a docker archive (nor local/tar): BuildKit keeps attestations inline in image and OCI outputs only.
    const docker = join(dir, 'docker.json');
    const d = await tsbuild(['build', '--root', join(dir, 'root-default-a'), '--progress', 'plain', '--metadata-file', docker, '-o', `type=docker,dest=${join(dir, 'default.tar')}`, ctx]);
    expect(d.code, d.stderr.slice(-3000)).to.equal(0);
    expect((JSON.parse(await readFile(docker, 'utf8')) as { 'containerimage.descriptor': Desc })['containerimage.descriptor'].mediaType).to.equal('application/vnd.oci.image.manifest.v1+json');
  });

  it('makes the default provenance about the exported image when -o attributes change it (compression=zstd)', async () => {
    const ctx = await context('zstd', ['COPY a.txt /a.txt'], { 'a.txt': 'zstd\n' });
    const ref = `${registry.host}/attest:zstd`;
    const r = await tsbuild(['build', '--root', join(dir, 'root-zstd'), '--progress', 'plain', '-o', `type=image,name=${ref},push=true,compression=zstd`, ctx]);
    expect(r.code, r.stderr.slice(-3000)).to.equal(0);
    const index = await skopeoRaw(ref) as { manifests: Desc[] };
    const [image, attestation] = index.manifests;
    expect(attestation?.annotations?.['vnd.docker.reference.digest'], 'the attestation names the zstd image the index holds').to.equal(image?.digest);
    const manifest = await skopeoRaw(`${registry.host}/attest@${image?.digest ?? ''}`) as { layers: Desc[] };
    expect(manifest.layers.at(-1)?.mediaType).to.equal('application/vnd.oci.image.layer.v1.tar+zstd');
    const att = await skopeoRaw(`${registry.host}/attest@${attestation?.digest ?? ''}`) as { subject?: Desc; layers: Desc[] };
    expect(att.subject?.digest).to.equal(image?.digest);
    // The statement itself (a blob: read straight from the registry's blob endpoint) names the zstd image too.
    const res = await fetch(`http://${registry.host}/v2/attest/blobs/${att.layers[0]?.digest ?? ''}`);
    expect(res.status).to.equal(200);
    const statement = await res.json() as { subject: { digest: { sha256: string } }[] };
    expect(statement.subject.map((x) => `sha256:${x.digest.sha256}`)).to.deep.equal([image?.digest]);
  });

  it('refuses an unknown template function by name and position', async () => {
    const r = await tsbuild(['imagetools', 'inspect', `${registry.host}/attest:plain`, '--format', '{{provenance .}}']);
    expect(r.code).to.equal(1);   // as buildx: a template that does not parse is an error like any other
    expect(r.stderr).to.contain('1:3: function "provenance" not defined');
  });
});
