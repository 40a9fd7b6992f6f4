import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  anonymous, canonicalJson, EMPTY_DESCRIPTOR, MediaType, parseReference, pullArtifact, pushArtifact, RegistryClient, sha256, TITLE_ANNOTATION, type ImageManifest,
} from '../../registry/index.js';
import { startRegistry, type RunningRegistry } from '../fixtures/registry-server.js';
import { tsbuild } from '../fixtures/tsbuild-cli.js';
import { TsbuildError } from '../../common/index.js';

async function fileHash(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Writes `mib` MiB of random bytes a chunk at a time (never the whole file in memory). */
async function writeRandomFile(path: string, mib: number): Promise<void> {
  await pipeline(Readable.from((function* () { for (let i = 0; i < mib; i++) yield randomBytes(1024 * 1024); })()), createWriteStream(path));
}

function rawManifest(registry: RunningRegistry, ref: string): ImageManifest {
  return JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/${ref}`], { encoding: 'utf8' })) as ImageManifest;
}

describe('artifact push and pull against a real registry', function () {
  let registry: RunningRegistry;
  let work = '';
  let files: { name: string; path: string; hash: string }[] = [];

  before(async () => {
    registry = await startRegistry();
    work = await mkdtemp(join(tmpdir(), 'tsbuild-artifact-'));
    await mkdir(join(work, 'in'));
    await writeFile(join(work, 'in', 'notes.txt'), 'hello from an artifact\n');
    await writeFile(join(work, 'in', 'data.json'), '{"answer":42}\n');
    await writeRandomFile(join(work, 'in', 'big.bin'), 50);
    files = await Promise.all(['notes.txt', 'data.json', 'big.bin'].map(async (name) => ({ name, path: join(work, 'in', name), hash: await fileHash(join(work, 'in', name)) })));
  });
  after(async () => {
    await registry?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('round-trips three files, one of 50 MB, through tsbuild artifact push and pull with identical content', async () => {
    const ref = `${registry.host}/files/bundle:v1`;
    const push = await tsbuild(['artifact', 'push', ref, `${files[0]?.path}`, `${files[1]?.path}:application/json`, `${files[2]?.path}:application/octet-stream`, '--artifact-type', 'application/vnd.test.bundle.v1', '--annotation', 'org.example.note=round trip']);
    expect(push.code, push.stderr).to.equal(0);
    const digest = push.stdout.trim();
    expect(digest).to.match(/^sha256:[a-f0-9]{64}$/);

    const manifest = rawManifest(registry, 'files/bundle:v1');
    expect(manifest.artifactType).to.equal('application/vnd.test.bundle.v1');
    expect(manifest.config).to.deep.equal(EMPTY_DESCRIPTOR);
    expect(manifest.annotations?.['org.example.note']).to.equal('round trip');
    expect(manifest.layers.map((l) => [l.annotations?.[TITLE_ANNOTATION], l.mediaType])).to.deep.equal([
      ['notes.txt', 'application/vnd.oci.image.layer.v1.tar'],
      ['data.json', 'application/json'],
      ['big.bin', 'application/octet-stream'],
    ]);
    expect(manifest.layers[2]?.size).to.equal(50 * 1024 * 1024);

    const out = join(work, 'out');
    const pull = await tsbuild(['artifact', 'pull', `${registry.host}/files/bundle@${digest}`, '-o', out]);
    expect(pull.code, pull.stderr).to.equal(0);
    expect((await readdir(out)).sort()).to.deep.equal(['big.bin', 'data.json', 'notes.txt']);
    for (const f of files) expect(await fileHash(join(out, f.name)), f.name).to.equal(f.hash);
  });

  it('uploads zero blob bytes when the same files are pushed again', async () => {
    const client = new RegistryClient({ credentials: anonymous });
    try {
      const pushed = await pushArtifact(client, parseReference(`${registry.host}/files/bundle:v2`), files.map((f) => ({ path: f.path })), { artifactType: 'application/vnd.test.bundle.v1' });
      expect(pushed.artifactType).to.equal('application/vnd.test.bundle.v1');
      const m = client.metrics;
      expect(m.blobBytesUp).to.equal(0);
      expect(m.blobsUploaded).to.equal(0);
      // Three files and the empty config, each found by a HEAD.
      expect(m.blobsSkipped).to.equal(4);
      expect(m.requests['manifest-put']).to.equal(1);
    } finally {
      await client.close();
    }
    const again = await tsbuild(['artifact', 'push', `${registry.host}/files/bundle:v3`, ...files.map((f) => f.path)]);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stderr).to.contain('0 blob(s) uploaded (0 bytes), 4 already present');
  });

  it('refuses to pull a layer titled ../evil and writes nothing outside the output directory', async () => {
    const client = new RegistryClient({ credentials: anonymous });
    const ref = parseReference(`${registry.host}/files/evil:1`);
    const payload = Buffer.from('owned\n');
    const layer = { mediaType: 'text/plain', digest: sha256(payload), size: payload.length, annotations: { [TITLE_ANNOTATION]: '../evil' } };
    const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, artifactType: 'application/vnd.test.evil', config: EMPTY_DESCRIPTOR, layers: [layer] };
    const out = join(work, 'evil-out', 'inner');
    try {
      await client.pushBlob(ref, EMPTY_DESCRIPTOR, async () => Readable.from([Buffer.from('{}')]));
      await client.pushBlob(ref, layer, async () => Readable.from([payload]));
      await client.putManifest(ref, MediaType.ociManifest, new TextEncoder().encode(canonicalJson(manifest)));
      let code = 'accepted';
      try {
        await pullArtifact(client, ref, out);
      } catch (err) {
        if (!(err instanceof TsbuildError)) throw err;
        code = err.code;
      }
      expect(code).to.equal('INVALID_LAYER');
    } finally {
      await client.close();
    }
    const cli = await tsbuild(['artifact', 'pull', `${registry.host}/files/evil:1`, '-o', out]);
    expect(cli.code).to.equal(1);
    expect(cli.stderr).to.contain('"../evil"').and.contain('hint:');
    expect(existsSync(join(work, 'evil-out', 'evil'))).to.equal(false);
  });

  it('fails a push of a missing file with a usage error before anything is uploaded', async () => {
    const res = await tsbuild(['artifact', 'push', `${registry.host}/files/missing:1`, join(work, 'in', 'nope.txt')]);
    expect(res.code).to.equal(2);
    expect(res.stderr).to.contain('nope.txt').and.contain('hint:');
    const tags = await tsbuild(['artifact', 'pull', `${registry.host}/files/missing:1`, '-o', join(work, 'missing-out')]);
    expect(tags.code).to.equal(1);
  });
});
