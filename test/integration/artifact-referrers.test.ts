import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import {
  anonymous,
  attachBuildReport,
  BUILD_REPORT_ARTIFACT_TYPE,
  digestHex,
  discoverReferrers,
  fetchBuildReport,
  MediaType,
  parseReference,
  RegistryClient,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
} from '../../registry/index.js';
import { publishBusybox, type PublishedBusybox } from '../fixtures/busybox-image.js';
import { startRegistry, type RunningRegistry } from '../fixtures/registry-server.js';
import { tsbuild } from '../fixtures/tsbuild-cli.js';

const SBOM = 'application/spdx+json';
const SIGNATURE = 'application/vnd.test.signature.v1';

function raw<T>(registry: RunningRegistry, ref: string): T {
  return JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/${ref}`], { encoding: 'utf8' })) as T;
}

interface DiscoverJson { subject: Descriptor; referrers: Descriptor[]; via: string }

describe('artifact attach and discover on a registry without the referrers API (distribution 2.8)', function () {
  let registry: RunningRegistry;
  let work = '';
  let busybox: PublishedBusybox;
  const attached: Record<string, string> = {};

  before(async () => {
    registry = await startRegistry();
    work = await mkdtemp(join(tmpdir(), 'tsbuild-referrers-'));
    busybox = await publishBusybox(registry.host, 'busybox', 'latest');
    await writeFile(join(work, 'sbom.spdx.json'), '{"spdxVersion":"SPDX-2.3","name":"busybox"}\n');
    await writeFile(join(work, 'signature.txt'), 'signed by the test suite\n');
  });
  after(async () => {
    await registry?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('sees that the registry has no referrers API (it answers 404 to /v2/<name>/referrers/<digest>)', async () => {
    const client = new RegistryClient({ credentials: anonymous });
    try {
      const answer = await client.getReferrers(parseReference(`${registry.host}/busybox`), busybox.manifest);
      expect(answer.supported).to.equal(false);
      expect(client.metrics.requests['referrers-get']).to.equal(1);
    } finally {
      await client.close();
    }
  });

  it('attaches an SBOM and a signature to the busybox image and lists both under the sha256-<hex> tag', async () => {
    const subject = `${registry.host}/busybox:latest`;
    const sbom = await tsbuild(['artifact', 'attach', '--subject', subject, '--artifact-type', SBOM, `${join(work, 'sbom.spdx.json')}:application/spdx+json`]);
    expect(sbom.code, sbom.stderr).to.equal(0);
    expect(sbom.stderr).to.contain('tag-schema');
    const sig = await tsbuild(['artifact', 'attach', '--subject', subject, '--artifact-type', SIGNATURE, join(work, 'signature.txt')]);
    expect(sig.code, sig.stderr).to.equal(0);
    attached[SBOM] = sbom.stdout.trim();
    attached[SIGNATURE] = sig.stdout.trim();

    const index = raw<ImageIndex>(registry, `busybox:sha256-${digestHex(busybox.manifest)}`);
    expect(index.mediaType).to.equal(MediaType.ociIndex);
    expect(index.manifests.map((m) => [m.digest, m.artifactType])).to.deep.equal([[attached[SBOM], SBOM], [attached[SIGNATURE], SIGNATURE]]);

    const artifact = raw<ImageManifest>(registry, `busybox@${attached[SBOM]}`);
    expect(artifact.subject?.digest).to.equal(busybox.manifest);
    expect(artifact.subject?.mediaType).to.equal(MediaType.ociManifest);
  });

  it('discovers both referrers through the tag schema, as JSON and as a tree', async () => {
    const json = await tsbuild(['artifact', 'discover', `${registry.host}/busybox:latest`, '--json']);
    expect(json.code, json.stderr).to.equal(0);
    const found = JSON.parse(json.stdout) as DiscoverJson;
    expect(found.via).to.equal('tag-schema');
    expect(found.subject.digest).to.equal(busybox.manifest);
    expect(found.referrers.map((r) => r.digest)).to.deep.equal([attached[SBOM], attached[SIGNATURE]]);

    const tree = await tsbuild(['artifact', 'discover', `${registry.host}/busybox:latest`]);
    expect(tree.code, tree.stderr).to.equal(0);
    expect(tree.stdout.split('\n')).to.deep.equal([
      `${registry.host}/busybox@${busybox.manifest}`,
      `├── ${SBOM}`,
      `│   └── ${attached[SBOM]}`,
      `└── ${SIGNATURE}`,
      `    └── ${attached[SIGNATURE]}`,
      '',
    ]);
  });

  it('filters referrers by artifactType', async () => {
    const res = await tsbuild(['artifact', 'discover', `${registry.host}/busybox:latest`, '--artifact-type', SIGNATURE, '--json']);
    expect(res.code, res.stderr).to.equal(0);
    expect((JSON.parse(res.stdout) as DiscoverJson).referrers.map((r) => r.digest)).to.deep.equal([attached[SIGNATURE]]);
    const none = await tsbuild(['artifact', 'discover', `${registry.host}/busybox:latest`, '--artifact-type', 'application/vnd.none', '--json']);
    expect((JSON.parse(none.stdout) as DiscoverJson).referrers).to.deep.equal([]);
  });

  it('pulls an attached artifact by the digest attach printed', async () => {
    const out = join(work, 'sbom-out');
    const res = await tsbuild(['artifact', 'pull', `${registry.host}/busybox@${attached[SBOM]}`, '-o', out]);
    expect(res.code, res.stderr).to.equal(0);
    expect(await readFile(join(out, 'sbom.spdx.json'), 'utf8')).to.equal(await readFile(join(work, 'sbom.spdx.json'), 'utf8'));
  });

  it('attaches to a multi-platform index as the index itself, not one platform of it', async () => {
    const res = await tsbuild(['artifact', 'attach', '--subject', `${registry.host}/busybox:multi`, '--artifact-type', SBOM, join(work, 'sbom.spdx.json')]);
    expect(res.code, res.stderr).to.equal(0);
    const artifact = raw<ImageManifest>(registry, `busybox@${res.stdout.trim()}`);
    expect(artifact.subject).to.deep.include({ digest: busybox.index, mediaType: MediaType.ociIndex });
    const index = raw<ImageIndex>(registry, `busybox:sha256-${digestHex(busybox.index)}`);
    expect(index.manifests.map((m) => m.digest)).to.deep.equal([res.stdout.trim()]);
  });

  it('attaches build reports and fetches the newest one, ignoring other artifact types', async () => {
    const client = new RegistryClient({ credentials: anonymous });
    const image = parseReference(`${registry.host}/busybox:latest`);
    try {
      const first = join(work, 'first', 'report.json');
      const second = join(work, 'second', 'report.json');
      await mkdir(join(work, 'first'));
      await mkdir(join(work, 'second'));
      await writeFile(first, '{"build":1}\n');
      await writeFile(second, '{"build":2}\n');
      await writeFile(join(work, 'second', 'report.md'), '# build 2\n');
      const a = await attachBuildReport(client, image, [{ path: first, mediaType: 'application/json' }]);
      const b = await attachBuildReport(client, image, [{ path: second, mediaType: 'application/json' }, { path: join(work, 'second', 'report.md'), mediaType: 'text/markdown' }]);
      expect(a.via).to.equal('tag-schema');
      expect(b.artifact.annotations?.['org.opencontainers.image.created']).to.be.a('string');

      const reports = await discoverReferrers(client, image, { artifactType: BUILD_REPORT_ARTIFACT_TYPE });
      expect(reports.referrers.map((r) => r.digest)).to.deep.equal([a.artifact.digest, b.artifact.digest]);

      const paths = await fetchBuildReport(client, image, join(work, 'fetched'));
      expect(paths.map((p) => basename(p))).to.deep.equal(['report.json', 'report.md']);
      expect(await readFile(join(work, 'fetched', 'report.json'), 'utf8')).to.equal('{"build":2}\n');
    } finally {
      await client.close();
    }
  });
});
