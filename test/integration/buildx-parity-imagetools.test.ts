import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { run, tsbuild, type CliResult } from '../fixtures/tsbuild-cli.js';

// docker/buildx's own CLI tests of `imagetools` (tests/imagetools.go), compose (tests/compose.go, through bake),
// `history` (tests/history.go) and `version` (tests/version.go) reproduced with the tsbuild CLI against the real
// registry; each `it` is named after buildx's test function, and the ledger is test/compat/buildx-parity/imagetools.md. Kept fast: three builds, then every image the cases need is made from them
// with `imagetools create` (by digest, --platform, --prefer-index=false); buildx's several registries are repositories
// of one registry here.

interface Desc { mediaType: string; digest: string; size: number; platform?: { os: string; architecture: string; variant?: string }; annotations?: Record<string, string>; artifactType?: string }
interface Doc { mediaType: string; manifests: Desc[]; config: Desc; layers: Desc[]; annotations?: Record<string, string>; subject?: Desc; artifactType?: string }

const ARCHES = ['amd64', 'arm64', 'riscv64', 'ppc64le', 'arm'];
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const REF_TYPE = 'vnd.docker.reference.type';
const REF_DIGEST = 'vnd.docker.reference.digest';
const SIGSTORE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const sha = (bytes: Buffer | string): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const plat = (d: Desc): string => [d.platform?.os, d.platform?.architecture, d.platform?.variant].filter(Boolean).join('/');
const isAttestation = (d: Desc): boolean => d.annotations?.[REF_TYPE] === 'attestation-manifest';

describe('buildx parity: imagetools (docker/buildx tests/imagetools.go)', function () {
  this.timeout(120_000);
  let env: BuildEnv;
  let R = '';
  let ctx = '';
  let root = '';
  const ok = (r: CliResult): CliResult => { expect(r.code, r.stderr).to.equal(0); return r; };
  const it_ = (args: string[]): Promise<CliResult> => tsbuild(['imagetools', ...args]);
  const create = async (...args: string[]): Promise<CliResult> => ok(await it_(['create', ...args]));
  /** `imagetools inspect REF --raw`: the bytes and the document. */
  const inspectRaw = async (ref: string): Promise<{ bytes: Buffer; doc: Doc; digest: string }> => {
    const r = ok(await it_(['inspect', ref, '--raw']));
    return { bytes: Buffer.from(r.stdout), doc: JSON.parse(r.stdout) as Doc, digest: sha(r.stdout) };
  };
  /**
   * What `inspect --raw` prints, read from the registry's API for a registry reference (a command less per read: the
   * file must stay fast); testImagetoolsCopyManifest checks once that both agree. A layout goes through the CLI.
   */
  const raw = async (ref: string): Promise<{ bytes: Buffer; doc: Doc; digest: string }> => {
    if (ref.startsWith('oci-layout://')) return await inspectRaw(ref);
    const m = /^([^/]+)\/(.+?)(?::([\w][\w.-]*))?(?:@(sha256:[a-f0-9]{64}))?$/.exec(ref);
    expect(m, ref).to.not.equal(null);
    const res = await fetch(`http://${m?.[1]}/v2/${m?.[2]}/manifests/${m?.[4] ?? m?.[3] ?? 'latest'}`, { headers: { accept: [OCI_MANIFEST, OCI_INDEX, 'application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.docker.distribution.manifest.list.v2+json'].join(', ') } });
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(res.status, `${ref}: ${bytes.toString()}`).to.equal(200);
    return { bytes, doc: JSON.parse(bytes.toString()) as Doc, digest: sha(bytes) };
  };
  const dryRun = async (...args: string[]): Promise<Doc> => JSON.parse((await create('--dry-run', ...args)).stdout) as Doc;
  const byPlatform = (doc: Doc, p: string): Desc => {
    const d = doc.manifests.find((m) => plat(m) === p);
    expect(d, `${p} in ${JSON.stringify(doc)}`).to.not.equal(undefined);
    return d as Desc;
  };

  // The registry's own API, for what buildx's test pushes by hand (pushRegistryObject): blobs and manifests.
  const putBlob = async (repo: string, bytes: Buffer): Promise<void> => {
    const start = await fetch(`http://${R}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    expect(start.status, await start.text()).to.equal(202);
    const location = new URL(start.headers.get('location') ?? '', `http://${R}`);
    location.searchParams.set('digest', sha(bytes));
    const res = await fetch(location, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
    expect(res.status, await res.text()).to.equal(201);
  };
  const putManifest = async (repo: string, tagOrDigest: string, mediaType: string, bytes: Buffer): Promise<void> => {
    const res = await fetch(`http://${R}/v2/${repo}/manifests/${tagOrDigest}`, { method: 'PUT', body: bytes, headers: { 'content-type': mediaType } });
    expect(res.status, await res.text()).to.equal(201);
  };
  /**
   * buildx's pushFakeReferrer: an artifact manifest about `subject`, and the referrers tag `sha256-<hex>` set to an
   * index naming only it (each call replaces the tag, as buildx's helper does on a registry without a referrers API).
   */
  const pushFakeReferrer = async (repo: string, subject: Desc, artifactType: string, annotations: Record<string, string>): Promise<Desc> => {
    const config = Buffer.from('{}');
    const layer = Buffer.from('{"kind":"fake-referrer"}');
    await putBlob(repo, config);
    await putBlob(repo, layer);
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', artifactType, digest: sha(config), size: config.length },
      layers: [{ mediaType: artifactType, digest: sha(layer), size: layer.length }],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size }, annotations,
    }));
    const desc: Desc = { mediaType: OCI_MANIFEST, artifactType, digest: sha(manifest), size: manifest.length, annotations };
    await putManifest(repo, desc.digest, OCI_MANIFEST, manifest);
    await putManifest(repo, `sha256-${subject.digest.slice(7)}`, OCI_INDEX, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [desc] })));
    return desc;
  };
  const pushFakeSignature = (repo: string, subject: Desc): Promise<Desc> => pushFakeReferrer(repo, subject, SIGSTORE, {
    'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1', 'org.opencontainers.image.created': '2025-12-05T10:16:57Z',
  });

  // What every case starts from: the buildx tests' createDockerfileWithArches context, built three ways.
  let plain = '';      // five platforms, --provenance=false
  let attested = '';   // five platforms, oci-mediatypes=true,oci-artifact=true --provenance=mode=min
  let single = '';     // linux/amd64 alone: a lone image manifest
  let srcIdx = '';     // plain's linux/amd64 + linux/arm64: buildx's createDockerfile build

  before(async () => {
    env = await startBuildEnv('tsbuild-parity-imagetools-');
    R = env.registry.host;
    ctx = join(env.dir, 'ctx');
    root = join(env.dir, 'root');
    await mkdir(ctx);
    await writeFile(join(ctx, 'Dockerfile'), 'FROM scratch\nARG TARGETARCH\nCOPY foo-${TARGETARCH} /foo\n');
    for (const a of ARCHES) await writeFile(join(ctx, `foo-${a}`), `foo-${a}`);
    const build = async (...args: string[]): Promise<void> => { ok(await tsbuild(['build', '--root', root, '--progress', 'quiet', ...args, ctx])); };
    const all = `--platform=${ARCHES.map((a) => `linux/${a}`).join(',')}`;
    plain = `${R}/buildx/plain:latest`;
    attested = `${R}/buildx/attested:latest`;
    single = `${R}/buildx/imtools-manifest:latest`;
    await build('-t', plain, '--push', all, '--provenance=false');
    await build('--metadata-file', join(env.dir, 'md-attested.json'), '--output', `type=image,name=${attested},push=true,oci-mediatypes=true,oci-artifact=true`, all, '--provenance=mode=min');
    await build('-t', single, '--push', '--platform=linux/amd64', '--provenance=false');
    srcIdx = `${R}/buildx/imtools:latest`;
    await create('--platform=linux/amd64,linux/arm64', '-t', srcIdx, plain);
  });
  after(async () => { await env?.stop(); });

  it('(the oci-artifact build) pushes each blob once: five attestation artifacts share one empty config', async () => {
    // Five platforms: 5 layers, 5 configs, 5 provenance statements and the one `{}` config of the five attestation
    // manifests. Uploading that one five times at once made distribution 2.8 refuse one (DIGEST_INVALID).
    const md = JSON.parse(await readFile(join(env.dir, 'md-attested.json'), 'utf8')) as { 'tsbuild.transfer': { blobsUploaded: number; requests: Record<string, number> } };
    expect(md['tsbuild.transfer'].blobsUploaded).to.equal(16);
    expect(md['tsbuild.transfer'].requests['blob-head']).to.equal(16);
  });

  it('testImagetoolsCopyManifest: a lone manifest becomes a one-entry index (--metadata-file), or stays itself with --prefer-index=false', async () => {
    const src = await inspectRaw(single);
    expect(src.bytes).to.deep.equal((await raw(single)).bytes);
    expect(src.doc.mediaType).to.equal(OCI_MANIFEST);
    const target2 = `${R}/buildx/imtools2-manifest:latest`;
    const md = join(env.dir, 'md-manifest.json');
    await create('--metadata-file', md, '-t', target2, single);
    const meta = JSON.parse(await readFile(md, 'utf8')) as { 'containerimage.descriptor': Desc; 'image.name': string };
    expect(meta['image.name']).to.equal(`${R}/buildx/imtools2-manifest`);
    const idx2 = await raw(target2);
    expect(meta['containerimage.descriptor']).to.deep.equal({ mediaType: OCI_INDEX, digest: idx2.digest, size: idx2.bytes.length });
    expect(idx2.doc.mediaType).to.equal(OCI_INDEX);
    expect(idx2.doc.manifests).to.have.length(1);
    const m2 = await raw(`${target2}@${idx2.doc.manifests[0]?.digest}`);
    expect(m2.doc.mediaType).to.equal(OCI_MANIFEST);
    expect(m2.doc.config.digest).to.equal(src.doc.config.digest);
    expect(m2.doc.layers.map((l) => l.digest)).to.deep.equal(src.doc.layers.map((l) => l.digest));
    await create('--prefer-index=false', '-t', `${target2}-not-index`, single);
    expect((await raw(`${target2}-not-index`)).doc.mediaType).to.equal(OCI_MANIFEST);
  });

  it('testImagetoolsCopyIndex: an index is copied byte for byte (the metadata file names it), --prefer-index=false too', async () => {
    const src = await raw(srcIdx);
    expect(src.doc.mediaType).to.equal(OCI_INDEX);
    expect(src.doc.manifests).to.have.length(2);
    const target2 = `${R}/buildx/imtools2:latest`;
    const md = join(env.dir, 'md-index.json');
    await create('--metadata-file', md, '-t', target2, srcIdx);
    const meta = JSON.parse(await readFile(md, 'utf8')) as { 'containerimage.descriptor': Desc; 'image.name': string };
    expect(meta['image.name']).to.equal(`${R}/buildx/imtools2`);
    expect(meta['containerimage.descriptor'].digest).to.equal(src.digest);
    expect((await raw(target2)).digest).to.equal(src.digest);
    await create('--prefer-index=false', '-t', `${target2}-still-index`, srcIdx);
    const idx3 = await raw(`${target2}-still-index`);
    expect(idx3.doc.mediaType).to.equal(OCI_INDEX);
    expect(idx3.doc.manifests.map((m) => m.digest)).to.deep.equal(src.doc.manifests.map((m) => m.digest));
  });

  it('testImagetoolsInspectAndFilter: platforms in build order; one platform chosen by digest', async () => {
    const idx = (await raw(srcIdx)).doc;
    expect(idx.manifests.map(plat)).to.deep.equal(['linux/amd64', 'linux/arm64']);
    const arm = idx.manifests[1] as Desc;
    await create('-t', `${srcIdx}-arm64`, `${srcIdx}@${arm.digest}`);
    const idx2 = (await raw(`${srcIdx}-arm64`)).doc;
    expect(idx2.manifests).to.have.length(1);
    expect(idx2.manifests[0]?.digest).to.equal(arm.digest);
    expect(plat(idx2.manifests[0] as Desc)).to.equal('linux/arm64');
  });

  let attested2 = '';   // attested's linux/amd64 + linux/arm64 and their two attestation manifests
  it('testImagetoolsCreatePlatformFilter: --platform keeps one platform and the attestation about it', async () => {
    attested2 = `${R}/buildx/imtools-platform-filter-src:latest`;
    await create('--platform=linux/amd64,linux/arm64', '-t', attested2, attested);
    const src = (await raw(attested2)).doc;
    expect(src.manifests).to.have.length(4);
    const arm = byPlatform(src, 'linux/arm64');
    const check = (doc: Doc): void => {
      expect(doc.manifests).to.have.length(2);
      const [atts, images] = [doc.manifests.filter(isAttestation), doc.manifests.filter((m) => !isAttestation(m))];
      expect(atts.map((a) => a.annotations?.[REF_DIGEST])).to.deep.equal([arm.digest]);
      expect(images.map((m) => [plat(m), m.digest])).to.deep.equal([['linux/arm64', arm.digest]]);
    };
    check(await dryRun('--platform=linux/arm64', attested2));
    const target = `${R}/buildx/imtools-platform-filter-dst:latest`;
    await create('--platform=linux/arm64', '-t', target, attested2);
    check((await raw(target)).doc);
  });

  // OCI layouts: buildx's Location (util/imagetools/location.go), read and written as util/imagetools and BuildKit's
  // client/ociindex do; a copied referrer no root reaches gets an index.json entry with io.containerd.manifest.subject.
  const layoutIndex = async (dir: string): Promise<Doc> => JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as Doc;
  const SUBJECT = 'io.containerd.manifest.subject';
  /** attested's linux/amd64 + linux/arm64 in its own repository, with a fake signature on each attestation manifest. */
  const signedSource = async (repo: string): Promise<{ source: string; atts: Desc[]; sigs: Desc[] }> => {
    const source = `${R}/${repo}:latest`;
    await create('--platform=linux/amd64,linux/arm64', '-t', source, attested);
    const atts = (await raw(source)).doc.manifests.filter(isAttestation);
    expect(atts).to.have.length(2);
    const sigs = [];
    for (const a of atts) sigs.push(await pushFakeSignature(repo, a));
    return { source, atts, sigs };
  };
  const directReferrers = (doc: Doc): Desc[] => doc.manifests.filter((m) => m.annotations?.[SUBJECT] !== undefined);

  it('testImagetoolsOCILayoutInspect: an index copied into a layout reads back the same, by tag, by digest, through --format', async () => {
    const src = await raw(srcIdx);
    const layout = join(env.dir, 'layout-inspect');
    await create('-t', `oci-layout://${layout}:latest`, srcIdx);
    expect((await raw(`oci-layout://${layout}:latest`)).digest).to.equal(src.digest);
    expect((await raw(`oci-layout://${layout}@${src.digest}`)).digest).to.equal(src.digest);
    const r = ok(await it_(['inspect', `oci-layout://${layout}:latest`, '--format', '{{.Manifest.Digest}}']));
    expect(r.stdout.trim()).to.equal(src.digest);
  });

  it('testImagetoolsOCILayoutCreateSourceAndTarget: registry → layout → registry keeps the index byte for byte', async () => {
    const src = await raw(srcIdx);
    const layoutRef = `oci-layout://${join(env.dir, 'layout-roundtrip')}:v1`;
    await create('-t', layoutRef, srcIdx);
    const target = `${R}/buildx/imtools-oci-layout-roundtrip-dst:latest`;
    await create('-t', target, layoutRef);
    expect((await raw(target)).digest).to.equal(src.digest);
  });

  it('testImagetoolsOCILayoutReferrers: signatures of attestations get their own index.json entries, and go on to a registry', async () => {
    const { source, atts, sigs } = await signedSource('buildx/imtools-oci-layout-referrers-src');
    const layout = join(env.dir, 'layout-referrers');
    await create('-t', `oci-layout://${layout}:latest`, source);
    const direct = directReferrers(await layoutIndex(layout));
    expect(direct.map((d) => [d.digest, d.annotations?.[SUBJECT]]).sort()).to.deep.equal(sigs.map((g, i) => [g.digest, atts[i]?.digest]).sort());
    const target = `${R}/buildx/imtools-oci-layout-referrers-dst:latest`;
    await create('-t', target, `oci-layout://${layout}:latest`);
    const copied = (await raw(target)).doc.manifests.filter(isAttestation).map((m) => m.digest);
    expect(copied).to.have.members(atts.map((a) => a.digest));
    for (const g of sigs) expect(copied).to.include((await raw(`${target}@${g.digest}`)).doc.subject?.digest);
  });

  it('testImagetoolsOCILayoutExistingContent: a second tag into a layout that has the blobs still records the new referrers', async () => {
    const repo = 'buildx/imtools-oci-layout-existing-content-src';
    const source = `${R}/${repo}:latest`;
    const layout = join(env.dir, 'layout-existing-content');
    await create('--platform=linux/amd64,linux/arm64', '-t', source, attested);
    await create('-t', `oci-layout://${layout}:latest`, source);
    const atts = (await raw(source)).doc.manifests.filter(isAttestation);
    const sigs = [];
    for (const a of atts) sigs.push(await pushFakeSignature(repo, a));
    await create('-t', `oci-layout://${layout}:second`, source);
    await raw(`oci-layout://${layout}:second`);
    const direct = directReferrers(await layoutIndex(layout));
    expect(direct.map((d) => [d.digest, d.annotations?.[SUBJECT]]).sort()).to.deep.equal(sigs.map((g, i) => [g.digest, atts[i]?.digest]).sort());
  });

  it('testImagetoolsOCILayoutMergeSources: a layout and a registry image merge into one index', async () => {
    const layoutRef = `oci-layout://${join(env.dir, 'layout-merge')}:latest`;
    await create('-t', layoutRef, single);
    const arm = byPlatform((await raw(srcIdx)).doc, 'linux/arm64');
    const srcRegistry = `${R}/buildx/imtools-oci-layout-merge-registry:latest`;
    await create('--prefer-index=false', '-t', srcRegistry, `${srcIdx}@${arm.digest}`);
    const target = `${R}/buildx/imtools-oci-layout-merge-target:latest`;
    await create('-t', target, layoutRef, srcRegistry);
    expect((await raw(target)).doc.manifests.map(plat)).to.deep.equal(['linux/amd64', 'linux/arm64']);
  });

  it('testImagetoolsOCILayoutTargetDigest: a layout target named by digest takes that digest, and refuses another', async () => {
    const src = await raw(single);
    const exactRef = `oci-layout://${join(env.dir, 'layout-digest')}@${src.digest}`;
    await create('-t', exactRef, '--prefer-index=false', single);
    expect((await raw(exactRef)).digest).to.equal(src.digest);
    const wrong = await it_(['create', '-t', `oci-layout://${join(env.dir, 'layout-digest-wrong')}@sha256:${'1'.repeat(64)}`, '--prefer-index=false', single]);
    expect(wrong.code).to.not.equal(0);
    expect(wrong.stderr).to.contain('requested digest');
  });

  it('testImagetoolsAppend: --append adds a platform to what the tag names, as an index', async () => {
    const idx = (await raw(srcIdx)).doc;
    const [amd, arm] = [byPlatform(idx, 'linux/amd64'), byPlatform(idx, 'linux/arm64')];
    const target = `${R}/buildx/imtools-append-target:latest`;
    const source = `${R}/buildx/imtools-append-source:latest`;
    await Promise.all([
      create('--prefer-index=false', '-t', target, `${srcIdx}@${amd.digest}`),
      create('--prefer-index=false', '-t', source, `${srcIdx}@${arm.digest}`),
    ]);
    expect((await raw(target)).doc.mediaType).to.equal(OCI_MANIFEST);
    await create('--append', '-t', target, source);
    const out = (await raw(target)).doc;
    expect(out.mediaType).to.equal(OCI_INDEX);
    expect(Object.fromEntries(out.manifests.map((m) => [m.digest, plat(m)]))).to.deep.equal({ [amd.digest]: 'linux/amd64', [arm.digest]: 'linux/arm64' });
  });

  it('testImagetoolsFile: --file reads a source descriptor, resolved in the target repository', async () => {
    const src = await raw(single);
    const desc = { mediaType: src.doc.mediaType, digest: src.digest, size: src.bytes.length };
    const file = join(env.dir, 'source-descriptor.json');
    await writeFile(file, JSON.stringify(desc));
    const target = `${R}/buildx/imtools-manifest:from-file`;
    await create('--file', file, '-t', target);
    const idx = (await raw(target)).doc;
    expect(idx.mediaType).to.equal(OCI_INDEX);
    expect(idx.manifests.map((m) => m.digest)).to.deep.equal([src.digest]);
    const copied = (await raw(`${target}@${src.digest}`)).doc;
    expect(copied.config.digest).to.equal(src.doc.config.digest);
    expect(copied.layers).to.have.length(src.doc.layers.length);
  });

  it('testImagetoolsAnnotation: index: and manifest-descriptor[PLATFORM]: annotations, from an index or from its manifests', async () => {
    const target = `${R}/buildx/imtools-ann:latest`;
    await create('-t', target, srcIdx);
    const idx = (await raw(target)).doc;
    expect(idx.annotations).to.equal(undefined);
    const annotations = ['--annotation', 'index:foo=bar', '--annotation', 'index:bar=baz', '--annotation', 'manifest-descriptor:foo=bar', '--annotation', 'manifest-descriptor[linux/amd64]:bar=baz'];
    for (const sources of [[target], idx.manifests.map((m) => `${target}@${m.digest}`)]) {
      await create('-t', target, ...annotations, ...sources);
      const newTarget = `${R}/buildx/imtools-ann:annotations`;
      await create('-t', newTarget, target);
      const out = (await raw(newTarget)).doc;
      expect(out.annotations).to.deep.equal({ foo: 'bar', bar: 'baz' });
      expect(out.manifests).to.have.length(2);
      for (const m of out.manifests) {
        expect(m.annotations?.['foo']).to.equal('bar');
        expect(m.annotations?.['bar']).to.equal(plat(m) === 'linux/amd64' ? 'baz' : undefined);
      }
    }
  });

  /** buildx's assertMergedIndex: five platforms, each attestation about one of them. */
  const assertMerged = (doc: Doc, manifests: number, attestations: number): void => {
    expect(doc.manifests).to.have.length(manifests);
    const images = doc.manifests.filter((m) => !isAttestation(m));
    const atts = doc.manifests.filter(isAttestation);
    expect(atts).to.have.length(attestations);
    const platformOf = new Map(images.map((m) => [m.digest, plat(m)]));
    for (const a of atts) expect(platformOf.has(a.annotations?.[REF_DIGEST] ?? ''), `attestation ${a.digest} about an unknown manifest`).to.equal(true);
    expect([...new Set(images.map((m) => plat(m).split('/').slice(0, 2).join('/')))].sort()).to.deep.equal(ARCHES.map((a) => `linux/${a}`).sort());
  };
  /** Merge sources as buildx's testImagetoolsMergeSourcesWithMode makes them: two indexes of two platforms and linux/arm. */
  const mergeSources = async (from: string, name: string): Promise<[string, string]> => {
    const src1 = `${R}/buildx/imtools-merge-1-${name}:latest`;
    const src2 = `${R}/buildx/imtools-merge-2-${name}:latest`;
    await Promise.all([create('--platform=linux/amd64,linux/arm64', '-t', src1, from), create('--platform=linux/riscv64,linux/ppc64le', '-t', src2, from)]);
    return [src1, src2];
  };
  let armAlone = '';
  const mergeAndCheck = async (sources: string[], name: string, manifests: number, attestations: number): Promise<void> => {
    assertMerged(await dryRun(...sources), manifests, attestations);
    const merged = `${R}/buildx/imtools-merge-${name}:latest`;
    await create('-t', merged, ...sources);
    assertMerged((await raw(merged)).doc, manifests, attestations);
  };

  it('testImagetoolsMergeSources: two indexes and a lone manifest merge into one index of five platforms', async () => {
    armAlone = `${R}/buildx/imtools-merge-3:latest`;
    const arm = byPlatform((await raw(plain)).doc, 'linux/arm/v7');
    await create('--prefer-index=false', '-t', armAlone, `${plain}@${arm.digest}`);
    await mergeAndCheck([...await mergeSources(plain, 'plain'), armAlone], 'plain', 5, 0);
  });

  it('testImagetoolsMergeSourcesWithAttestations: the attestation manifests of the sources are kept', async () => {
    await mergeAndCheck([...await mergeSources(attested, 'att'), armAlone], 'att', 9, 4);
  });

  it('testImagetoolsMergeSourcesWithFallbackAttestations: a lone manifest brings the attestation its referrers tag lists', async () => {
    // buildx's prepareSinglePlatformFallbackAsset: linux/arm with its attestation, copied apart, then tied together
    // by a referrers tag written with `create -t REPO:sha256-<hex> '<descriptor JSON>'`.
    const singleSource = `${R}/buildx/imtools-merge-single-src:latest`;
    await create('--platform=linux/arm', '-t', singleSource, attested);
    const s = await raw(singleSource);
    expect(s.doc.manifests).to.have.length(2);
    const att = s.doc.manifests.find(isAttestation) as Desc;
    const man = byPlatform(s.doc, 'linux/arm/v7');
    const copied = `${R}/buildx/imtools-merge-single:latest`;
    await create('--prefer-index=false', '-t', copied, `${singleSource}@${man.digest}`);
    expect([OCI_MANIFEST, 'application/vnd.docker.distribution.manifest.v2+json']).to.include((await raw(copied)).doc.mediaType);
    expect((await it_(['inspect', `${copied}@${s.digest}`, '--raw'])).code, 'no index was copied').to.not.equal(0);
    expect((await raw(`${singleSource}@${att.digest}`)).doc.subject?.digest).to.equal(man.digest);
    await create('--prefer-index=false', '-t', `${R}/buildx/imtools-merge-single:attestation-copy`, `${singleSource}@${att.digest}`);
    const fallbackRef = `${R}/buildx/imtools-merge-single:sha256-${man.digest.slice(7)}`;
    const artifactType = 'application/vnd.docker.attestation.manifest.v1+json';
    await create('-t', fallbackRef, JSON.stringify({ ...att, artifactType }));
    const fallback = (await raw(fallbackRef)).doc;
    expect(fallback.manifests.map((m) => [m.digest, m.artifactType])).to.deep.equal([[att.digest, artifactType]]);
    const [src1, src2] = await mergeSources(attested, 'att');
    await mergeAndCheck([src1, src2, copied], 'fallback', 10, 5);
  });

  it('testImagetoolsCopyAttestationWithSignature: a signature on an attestation is copied; referrers of images are not', async () => {
    const repo = 'buildx/imtools-signature-src';
    const source = `${R}/${repo}:latest`;
    await create('--platform=linux/amd64,linux/arm64', '-t', source, attested);
    const idx = (await raw(source)).doc;
    expect(idx.manifests).to.have.length(4);
    const images = idx.manifests.filter((m) => !isAttestation(m));
    const atts = idx.manifests.filter(isAttestation);
    // Negative controls, as buildx's test: a signature and an unsupported artifact on each image manifest (the second
    // replaces the first in the referrers tag, so only the unsupported one is listed).
    const imageReferrers: Desc[] = [];
    for (const m of images) {
      imageReferrers.push(await pushFakeSignature(repo, m));
      imageReferrers.push(await pushFakeReferrer(repo, m, 'application/vnd.example.attachment.v1+json', { 'example.type': 'unsupported' }));
    }
    const signatures = new Map<string, Desc>();
    for (const a of atts) {
      expect(images.map((m) => m.digest)).to.include((await raw(`${source}@${a.digest}`)).doc.subject?.digest);
      signatures.set(a.digest, await pushFakeSignature(repo, a));
    }
    const target = `${R}/buildx/imtools-signature-target:latest`;
    await create('-t', target, source);
    const copied = (await raw(target)).doc;
    expect(copied.manifests).to.deep.equal(idx.manifests);
    for (const a of atts) {
      const sig = (await raw(`${target}@${signatures.get(a.digest)?.digest}`)).doc;
      expect(sig.artifactType).to.equal(SIGSTORE);
      expect(sig.subject?.digest).to.equal(a.digest);
      expect(sig.annotations?.['dev.sigstore.bundle.content']).to.equal('dsse-envelope');
    }
    for (const r of imageReferrers) expect((await it_(['inspect', `${target}@${r.digest}`, '--raw'])).code, `${r.artifactType} referrer of an image copied`).to.not.equal(0);
  });

  // tests/compose.go runs `docker compose build` with COMPOSE_BAKE=true, which hands the compose file to buildx bake;
  // tsbuild's bake reads compose files itself, so the same project goes through `tsbuild bake`.
  describe('compose (docker/buildx tests/compose.go, through bake)', () => {
    const project = async (name: string, dockerfile: string, compose: string): Promise<string> => {
      const dir = join(env.dir, name);
      await mkdir(dir);
      await writeFile(join(dir, 'Dockerfile'), dockerfile);
      await writeFile(join(dir, 'compose.yml'), compose);
      await writeFile(join(dir, 'foo'), 'foo');
      return dir;
    };
    const bake = (dir: string, ...args: string[]): Promise<CliResult> => tsbuild(['bake', '--root', root, '--progress', 'quiet', ...args], { cwd: dir });

    it('testComposeBuildRegistry: `build --push` of a compose service puts its image in the registry', async () => {
      const target = `${R}/buildx/registry:latest`;
      const dir = await project('compose-registry', `FROM ${env.base} AS base\nCOPY foo /etc/foo\nRUN cp /etc/foo /etc/bar\n\nFROM scratch\nCOPY --from=base /etc/bar /bar\n`,
        `services:\n  bar:\n    build:\n      context: .\n    image: ${target}\n`);
      ok(await bake(dir, '--push'));
      const idx = (await raw(target)).doc;
      const image = idx.manifests.find((m) => !isAttestation(m)) as Desc;
      const layers = (await raw(`${target}@${image.digest}`)).doc.layers;
      expect(layers).to.have.length(1);
    });

    it('testComposeBuildMultiPlatform: build.platforms in the compose file give an index of both', async () => {
      const target = `${R}/buildx/registry-multi:latest`;
      const dir = await project('compose-multi', `FROM ${R}/busybox:multi\nCOPY foo /etc/foo\n`,
        `services:\n  bar:\n    build:\n      context: .\n      platforms:\n        - linux/amd64\n        - linux/arm64\n    image: ${target}\n`);
      ok(await bake(dir, '--push'));
      const images = (await raw(target)).doc.manifests.filter((m) => !isAttestation(m));
      expect(images.map(plat)).to.have.members(['linux/amd64', 'linux/arm64']);
    });

    it('testComposeBuildCheck: `build --check` fails with the three casing warnings', async () => {
      const dir = await project('compose-check', `\nfrOM ${env.base} as base\ncOpy Dockerfile .\nfrom scratch\nCOPy --from=base \\\n  /Dockerfile \\\n  /\n\t`,
        'services:\n  bar:\n    build:\n      context: .\n');
      const r = await bake(dir, '--check');
      expect(r.code).to.not.equal(0);
      expect(r.stdout + r.stderr).to.contain('Check complete, 3 warnings have been found!');
    });
  });

  // tests/history.go: the record of a build, found by the ref its metadata file names (BUILDER/NODE/REF).
  describe('history (docker/buildx tests/history.go)', () => {
    interface LsRecord { ref: string; name: string; status: string; total_steps: number; completed_steps: number }
    const history = (...args: string[]): Promise<CliResult> => tsbuild(['history', '--root', root, ...args]);
    const buildRef = async (...args: string[]): Promise<string> => {
      const md = join(env.dir, `md-history-${Math.random().toString(16).slice(2)}.json`);
      ok(await tsbuild(['build', '--root', root, '--progress', 'quiet', '--metadata-file', md, ...args, ctx]));
      const ref = (JSON.parse(await readFile(md, 'utf8')) as { 'buildx.build.ref': string })['buildx.build.ref'];
      expect(ref.split('/')).to.have.length(3);
      return ref;
    };
    const lsRecord = async (ref: string): Promise<LsRecord> => {
      const lines = ok(await history('ls', '--format=json')).stdout.trim().split('\n').filter((l) => l.startsWith('{'));
      const rec = lines.map((l) => JSON.parse(l) as LsRecord).find((r) => r.ref === ref);
      expect(rec, `${ref} in history ls`).to.not.equal(undefined);
      return rec as LsRecord;
    };
    let ref = '';
    before(async () => { ref = await buildRef('--build-arg=TARGETARCH=amd64'); });

    it('testHistoryLs: `ls --format=json` lists the build under its full ref, with a name; `--format={{.Ref}}` its id', async () => {
      const rec = await lsRecord(ref);
      expect(rec.name).to.not.equal('');
      expect(rec.status).to.equal('Completed');
      expect(ok(await history('ls', '--format={{.Ref}}')).stdout.split('\n')).to.include(ref.split('/')[2]);
    });

    it('testHistoryInspect: `inspect REF --format=json` names the record and its ref', async () => {
      const id = ref.split('/')[2] ?? '';
      const rec = JSON.parse(ok(await history('inspect', id, '--format=json')).stdout) as { Name: string; Ref: string; Status: string };
      expect(rec.Ref).to.equal(id);
      expect(rec.Name).to.not.equal('');
    });

    it('testHistoryBuildName (override): BUILDKIT_BUILD_NAME is the name history shows', async () => {
      const named = await buildRef('--build-arg=BUILDKIT_BUILD_NAME=foobar');
      expect((await lsRecord(named)).name).to.equal('foobar');
    });

    // buildx's tests only ask for the file; the bundle is also read back as Docker Desktop reads it: skopeo opens it as
    // the gzipped OCI archive it is, its manifest's config is the history record, its layers the status stream and
    // tsbuild's report (which `explain --against FILE` reads; Docker Desktop follows the descriptors the record names).
    const exported = async (...args: string[]): Promise<void> => {
      const out = join(env.dir, `export-${Math.random().toString(16).slice(2)}.dockerbuild`);
      ok(await history('export', ...args, '--output', out));
      const manifest = JSON.parse(ok(await run('skopeo', ['inspect', '--raw', `oci-archive:${out}`])).stdout) as { config: { mediaType: string }; layers: { mediaType: string; size: number }[] };
      expect(manifest.config.mediaType).to.equal('application/vnd.buildkit.historyrecord.v0');
      expect(manifest.layers.map((l) => l.mediaType)).to.deep.equal(['application/vnd.buildkit.status.v0', 'application/vnd.tsbuild.report.v1+json']);
      expect(manifest.layers[0]?.size).to.be.greaterThan(0);
      const record = JSON.parse(ok(await run('skopeo', ['inspect', '--config', '--raw', `oci-archive:${out}`])).stdout) as Record<string, unknown>;
      expect(record['Ref']).to.equal(ref.split('/')[2]);
      expect(record['Frontend']).to.equal('dockerfile.v0');
      expect(record['FrontendAttrs']).to.deep.include({ 'build-arg:TARGETARCH': 'amd64' });
      expect(record['localState']).to.deep.include({ Target: 'default', LocalPath: ctx });
    };

    it('testHistoryExport: `export REF --output FILE` writes the build\'s bundle', async () => { await exported(ref); });

    it('testHistoryExportFinalize: `export REF --finalize --output FILE` too', async () => { await exported(ref, '--finalize'); });

    it('testHistoryRm: `rm REF` removes the record', async () => {
      const id = ref.split('/')[2] ?? '';
      ok(await history('rm', id));
      expect(ok(await history('ls', '--format={{.Ref}}')).stdout.split('\n')).to.not.include(id);
    });
  });
});

describe('buildx parity: version (docker/buildx tests/version.go)', () => {
  it('testVersion: NAME VERSION [REVISION] on the first line, a Go import path, semver and a 40-hex revision', async () => {
    const r = await tsbuild(['version']);
    expect(r.code, r.stderr).to.equal(0);
    const [first = '', ...rest] = r.stdout.split('\n');
    expect(rest.length, 'at least one newline').to.be.greaterThan(0);
    const fields = first.trim().split(/\s+/);
    expect(fields.length).to.be.greaterThanOrEqual(2);
    // golang.org/x/mod module.CheckImportPath and semver.IsValid, for the words tsbuild prints.
    expect(fields[0]).to.match(/^[A-Za-z0-9][A-Za-z0-9._~-]*(\/[A-Za-z0-9._~-]+)*$/);
    expect(fields[1]).to.match(/^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/);
    // buildx matches the revision unanchored: a build from a modified tree prints it with ".m" after, as buildx does.
    if (fields[2] !== undefined) expect(fields[2]).to.match(/[0-9a-f]{40}/);
  });
});
