import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { publishBusybox, type PublishedBusybox } from '../fixtures/busybox-image.js';
import { startFaultProxy, type FaultProxy } from '../fixtures/fault-proxy.js';
import { startRegistry, type RunningRegistry } from '../fixtures/registry-server.js';
import { run, tsbuild } from '../fixtures/tsbuild-cli.js';

// `imagetools inspect --format` runs Go templates over buildx's inputs (util/imagetools/printers.go): `.Manifest` is
// the root descriptor of an image or a struct over an index, `.Image` the config (a map by platform for several),
// `.Provenance`/`.SBOM` read attestation manifests. Checked against skopeo's view of the real registry, and, through
// a logging proxy, that a template fetches only what it names.

interface Desc { mediaType: string; digest: string; size: number; platform?: { os: string; architecture: string }; annotations?: Record<string, string> }

// encoding/json writes a time.Time as RFC3339Nano: trailing zeros of the fraction dropped ("…00.000Z" → "…00Z").
const goTimes = (configText: string): unknown => JSON.parse(configText.replace(/"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d*?)0*(Z|[+-]\d\d:\d\d)"/g,
  (_all, base: string, frac: string, zone: string) => `"${base}${frac === '.' ? '' : frac}${zone === '+00:00' ? 'Z' : zone}"`)) as unknown;
const sha = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const PREDICATE = { buildType: 'https://example.com/build@v1', builder: { id: 'https://example.com/builder' }, metadata: { reproducible: false, note: '<&>' } };

describe('imagetools inspect --format: Go templates over buildx inputs', function () {
  this.timeout(120_000);
  let registry: RunningRegistry;
  let proxy: FaultProxy;
  let bb: PublishedBusybox;
  let host: string;
  let statementDigest: string;

  const skopeo = async (args: string[], ref: string): Promise<{ text: string; json: unknown }> => {
    const r = await run('skopeo', ['inspect', ...args, '--tls-verify=false', `docker://${ref}`]);
    expect(r.code, r.stderr).to.equal(0);
    return { text: r.stdout, json: JSON.parse(r.stdout) as unknown };
  };
  const format = async (ref: string, template: string): Promise<string> => {
    const r = await tsbuild(['imagetools', 'inspect', ref, '--format', template]);
    expect(r.code, r.stderr).to.equal(0);
    return r.stdout;
  };
  const putBlob = async (repo: string, bytes: Buffer): Promise<Desc> => {
    const digest = sha(bytes);
    // distribution 2.8 has no one-request upload: open a session, then PUT the bytes to it (monolithic upload).
    const start = await fetch(`http://${host}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    expect(start.status, await start.text()).to.equal(202);
    const location = new URL(start.headers.get('location') ?? '', `http://${host}`);
    location.searchParams.set('digest', digest);
    const res = await fetch(location, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
    expect(res.status, await res.text()).to.equal(201);
    return { mediaType: 'application/octet-stream', digest, size: bytes.length };
  };
  const putManifest = async (repo: string, tag: string, mediaType: string, doc: unknown): Promise<Desc> => {
    const bytes = Buffer.from(JSON.stringify(doc));
    const res = await fetch(`http://${host}/v2/${repo}/manifests/${tag}`, { method: 'PUT', body: bytes, headers: { 'content-type': mediaType } });
    expect(res.status, await res.text()).to.equal(201);
    return { mediaType, digest: sha(bytes), size: bytes.length };
  };

  before(async () => {
    registry = await startRegistry();
    host = registry.host;
    bb = await publishBusybox(host, 'bb');
    // An index over the amd64 image and a BuildKit-style attestation manifest holding one SLSA statement.
    const amd64 = (await skopeo(['--raw'], `${host}/bb:multi`)).json as { manifests: Desc[] };
    const image = amd64.manifests.find((m) => m.platform?.architecture === 'amd64');
    if (!image) throw new Error('the busybox index has no amd64 image');
    const config = await putBlob('bb', Buffer.from('{}'));
    const statement = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v0.1', predicateType: 'https://slsa.dev/provenance/v0.2', subject: [{ name: 'x', digest: { sha256: image.digest.slice(7) } }], predicate: PREDICATE }));
    const layer = await putBlob('bb', statement);
    statementDigest = layer.digest;
    const att = await putManifest('bb', 'att', 'application/vnd.oci.image.manifest.v1+json', {
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { ...config, mediaType: 'application/vnd.oci.image.config.v1+json' },
      layers: [{ ...layer, mediaType: 'application/vnd.in-toto+json', annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' } }],
    });
    await putManifest('bb', 'attested', 'application/vnd.oci.image.index.v1+json', {
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [image, { ...att, platform: { architecture: 'unknown', os: 'unknown' }, annotations: { 'vnd.docker.reference.digest': image.digest, 'vnd.docker.reference.type': 'attestation-manifest' } }],
    });
    proxy = await startFaultProxy(host);
  });
  after(async () => {
    await proxy?.close();
    await registry?.stop();
  });

  it('prints {{json .Manifest}} of one image as the root descriptor, two-space indented, no newline after', async () => {
    const raw = await skopeo(['--raw'], `${host}/bb:latest`);
    const out = await format(`${host}/bb:latest`, '{{json .Manifest}}');
    const mediaType = (raw.json as { mediaType: string }).mediaType;
    expect(out).to.equal(`{\n  "mediaType": "${mediaType}",\n  "digest": "${sha(Buffer.from(raw.text))}",\n  "size": ${Buffer.byteLength(raw.text)}\n}`);
    expect(sha(Buffer.from(raw.text))).to.equal(bb.manifest);
    expect(await format(`${host}/bb:latest`, '{{.Manifest.Digest}}')).to.equal(bb.manifest);
  });

  it('prints {{json .Manifest}} of an index as buildx\'s struct: schemaVersion, mediaType, digest, size, manifests', async () => {
    const raw = await skopeo(['--raw'], `${host}/bb:multi`);
    const out = await format(`${host}/bb:multi`, '{{json .Manifest}}');
    const parsed = JSON.parse(out) as Record<string, unknown>;
    expect(Object.keys(parsed)).to.deep.equal(['schemaVersion', 'mediaType', 'digest', 'size', 'manifests']);
    expect(parsed.digest).to.equal(bb.index);
    expect(parsed.size).to.equal(Buffer.byteLength(raw.text));
    expect(parsed.manifests).to.deep.equal((raw.json as { manifests: unknown[] }).manifests);
    expect(await format(`${host}/bb:multi`, '{{range .Manifest.Manifests}}{{.Platform.Architecture}} {{end}}')).to.equal('amd64 arm64 ');
    expect(await format(`${host}/bb:multi`, '{{range $p, $i := .Image}}{{$p}}={{$i.Architecture}};{{end}}')).to.equal('linux/amd64=amd64;linux/arm64=arm64;');
  });

  it('prints {{json .Image}} as the config skopeo reads, and a map by platform for an index', async () => {
    const config = await skopeo(['--config', '--raw'], `${host}/bb:latest`);
    const image = JSON.parse(await format(`${host}/bb:latest`, '{{json .Image}}')) as Record<string, unknown>;
    expect(image).to.deep.equal(goTimes(config.text));
    expect(Object.keys(image)).to.deep.equal(['created', 'architecture', 'os', 'config', 'rootfs', 'history']);   // ocispecs.Image order
    const byPlatform = JSON.parse(await format(`${host}/bb:multi`, '{{json .Image}}')) as Record<string, unknown>;
    expect(Object.keys(byPlatform)).to.deep.equal(['linux/amd64', 'linux/arm64']);
    const arm = await run('skopeo', ['inspect', '--override-arch', 'arm64', '--config', '--raw', '--tls-verify=false', `docker://${host}/bb:multi`]);
    expect(arm.code, arm.stderr).to.equal(0);
    expect(byPlatform['linux/arm64']).to.deep.equal(goTimes(arm.stdout));
    expect(await format(`${host}/bb:multi`, '{{(index .Image "linux/arm64").Architecture}}')).to.equal('arm64');
  });

  it('prints {{json .Provenance}} as {SLSA: predicate} with Go\'s sorted keys and HTML escapes, {} without one', async () => {
    const out = await format(`${host}/bb:attested`, '{{json .Provenance}}');
    expect(JSON.parse(out)).to.deep.equal({ SLSA: PREDICATE });
    expect(out).to.contain('"note": "\\u003c\\u0026\\u003e"');
    expect(out.indexOf('"buildType"')).to.be.lessThan(out.indexOf('"builder"'));
    expect(await format(`${host}/bb:attested`, '{{.Provenance.SLSA.buildType}}')).to.equal(PREDICATE.buildType);
    expect(await format(`${host}/bb:attested`, '{{json .SBOM}}')).to.equal('{}');
    expect(await format(`${host}/bb:latest`, '{{json .Provenance}}')).to.equal('{}');
    // {{json .}} is the struct's exported fields: the Provenance and SBOM methods are not marshalled (as in buildx).
    expect(Object.keys(JSON.parse(await format(`${host}/bb:attested`, '{{json .}}')) as object)).to.deep.equal(['name', 'manifest', 'image']);
  });

  it('fetches the configs and attestations only when the template names them', async () => {
    const blobGets = (): string[] => proxy.log.filter((e) => e.method === 'GET' && e.path.includes('/blobs/')).map((e) => e.path);
    proxy.log.length = 0;
    expect(JSON.parse(await format(`${proxy.host}/bb:attested`, '{{json .Manifest}}'))).to.have.property('digest');
    expect(blobGets()).to.deep.equal([]);
    await format(`${proxy.host}/bb:attested`, '{{json .Provenance}}');
    expect(blobGets()).to.deep.equal([`/v2/bb/blobs/${statementDigest}`]);
  });

  it('prints {{.Manifest}} alone in the text form, and takes the name as written', async () => {
    const text = await format(`${host}/bb:multi`, ' {{ .Manifest }} ');
    const plain = await tsbuild(['imagetools', 'inspect', `${host}/bb:multi`]);
    expect(text).to.equal(plain.stdout);
    expect(await format(`${host}/bb:multi`, '{{.Name}}')).to.equal(`${host}/bb:multi`);
  });

  it('refuses an unknown function or a bad template with its position, exit 1 as buildx, before any request', async () => {
    const r = await tsbuild(['imagetools', 'inspect', `${host}/bb:latest`, '--format', '{{.Name}} {{nosuch .}}']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain('1:13: function "nosuch" not defined');
    expect(r.stdout).to.equal('');
    const unclosed = await tsbuild(['imagetools', 'inspect', 'nowhere.invalid/x:1', '--format', '{{range .Manifest.Manifests}}']);
    expect(unclosed.code).to.equal(1);
    expect(unclosed.stderr).to.contain('{{range}} has no {{end}}');
  });

  it('fails a template that fails while it runs with exit 1, after printing what came before, as Go\'s Execute does', async () => {
    const r = await tsbuild(['imagetools', 'inspect', `${host}/bb:multi`, '--format', '{{.Name}} {{index .Manifest.Manifests 99}}']);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stdout).to.equal(`${host}/bb:multi `);
    expect(r.stderr).to.contain('index out of range: 99');
    expect(r.stderr).to.not.match(/\n\s+at /);
  });
});
