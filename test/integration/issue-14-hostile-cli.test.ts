import { expect } from 'chai';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip, gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import type { Header } from 'tar-stream';
import {
  anonymous, canonicalJson, MediaType, parseReference, RegistryClient, sha256, withDigest,
  type Descriptor, type Digest, type ImageManifest,
} from '../../registry/index.js';
import { busyboxConfig, busyboxLayer } from '../fixtures/busybox-image.js';
import { makeHostMarker, snapshotTree } from '../fixtures/host-marker.js';
import { startRegistry, type RunningRegistry } from '../fixtures/registry-server.js';
import { run, tsbuild } from '../fixtures/tsbuild-cli.js';
import { packTar as packEntries } from '../fixtures/pack-tar.js';

/** Layer entries default to mode 0644 and mtime 0 here. */
const packTar = (entries: Entry[]): Promise<Buffer> => packEntries(entries, { mode: 0o644, mtime: new Date(0) });

// Issue 14, the whole thing through the real CLI: a hostile base image (links out of the root, entries written
// through them in a later layer, a device node), a Dockerfile whose COPY destination is such a link, racing COPY
// sources, a RUN that swaps /run (holding a secret target) for a link to the host, a RUN that leaves links to host
// files for the export, all built with `bin/tsbuild build --push` against the real registry. The host marker tree
// must be byte for byte what it was, and the pushed image (read back with skopeo) holds the contained result.

type Entry = Partial<Header> & { name: string; content?: string };

/** Pushes `<host>/hostile:latest`: the busybox layer and two hand-made hostile layers. */
async function publishHostileBase(registry: RunningRegistry, layers: Entry[][]): Promise<void> {
  const client = new RegistryClient({ credentials: anonymous });
  try {
    const target = parseReference(`${registry.host}/hostile:latest`);
    const busybox = await busyboxLayer();
    await client.pushBlob(target, busybox.descriptor, async () => busybox.open());
    const descriptors: Descriptor[] = [busybox.descriptor];
    const diffIds: Digest[] = [busybox.diffId];
    for (const entries of layers) {
      const plain = await packTar(entries);
      const blob = gzipSync(plain);
      const desc: Descriptor = { mediaType: MediaType.ociLayerGzip, digest: sha256(blob), size: blob.length };
      await client.pushBlob(target, desc, async () => Readable.from([blob]));
      descriptors.push(desc);
      diffIds.push(sha256(plain));
    }
    const platform = { os: 'linux', architecture: process.arch === 'arm64' ? 'arm64' : 'amd64' };
    const config = busyboxConfig(busybox.diffId, platform);
    config.rootfs.diff_ids = diffIds;
    config.history = [];
    const configBytes = new TextEncoder().encode(canonicalJson(config));
    const configDesc: Descriptor = { mediaType: MediaType.ociConfig, digest: sha256(configBytes), size: configBytes.length };
    await client.pushBlob(target, configDesc, async () => Readable.from([Buffer.from(configBytes)]));
    const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers: descriptors };
    const bytes = new TextEncoder().encode(canonicalJson(manifest));
    await client.putManifest(withDigest(target, sha256(bytes)), MediaType.ociManifest, bytes);
    await client.putManifest(target, MediaType.ociManifest, bytes);
  } finally {
    await client.close();
  }
}

/** Every entry of every layer of `<host>/<ref>`, read back with skopeo into an OCI layout: name → header + body. */
async function pushedLayers(registry: RunningRegistry, ref: string, dir: string): Promise<Array<Map<string, Header & { body: string }>>> {
  const r = await run('skopeo', ['copy', '--src-tls-verify=false', `docker://${registry.host}/${ref}`, `oci:${dir}:x`]);
  if (r.code !== 0) throw new Error(`skopeo copy failed: ${r.stderr}`);
  const blob = (d: string): string => join(dir, 'blobs', 'sha256', d.slice('sha256:'.length));
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const manifest = JSON.parse(await readFile(blob(index.manifests[0]?.digest ?? ''), 'utf8')) as ImageManifest;
  const out: Array<Map<string, Header & { body: string }>> = [];
  for (const layer of manifest.layers) {
    const entries = new Map<string, Header & { body: string }>();
    const extract = tar.extract();
    createReadStream(blob(layer.digest)).pipe(createGunzip()).pipe(extract);
    for await (const e of extract) {
      const chunks: Buffer[] = [];
      for await (const c of e) chunks.push(Buffer.from(c as Uint8Array));
      entries.set(e.header.name.replace(/\/$/, ''), { ...e.header, body: Buffer.concat(chunks).toString() });
    }
    out.push(entries);
  }
  return out;
}

describe('issue 14: a hostile build through the real CLI leaves the host untouched', function () {
  this.timeout(300_000);
  let registry: RunningRegistry | undefined;
  let dir: string;

  before(async () => {
    registry = await startRegistry();
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-issue14-hostile-'));
  });
  after(async () => {
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('builds and pushes the contained result and changes nothing in the host marker tree', async () => {
    if (registry === undefined) throw new Error('registry did not start');
    const host = join(dir, 'host-marker');
    const marked = await makeHostMarker(host);
    const rel = host.slice(1);
    await publishHostileBase(registry, [
      [
        { name: 'usr/', type: 'directory', mode: 0o755 },
        { name: 'usr/lib64/', type: 'directory', mode: 0o755 },
        { name: 'lib64', type: 'symlink', linkname: '/usr/lib64' },
        { name: 'esc', type: 'symlink', linkname: host },
        { name: 'up', type: 'symlink', linkname: '../../../../../../../../..' },
        { name: 'dev/', type: 'directory', mode: 0o755 },
        { name: 'dev/evil', type: 'character-device', devmajor: 1, devminor: 1, mode: 0o666 },
      ],
      [
        // Written through the lower layer's links: they must land inside the root.
        { name: 'lib64/x.so', content: 'lib\n' },
        { name: 'esc/passwd', content: 'evil through esc\n', mode: 0o4755 },
        { name: `up${host}/dir/inner`, content: 'evil through up\n' },
        // Parent swap inside one layer: a directory, then a link in its place, then an entry under it.
        { name: 'swap/', type: 'directory', mode: 0o755 },
        { name: 'swap', type: 'symlink', linkname: host },
        { name: 'swap/true', content: 'evil through swap\n' },
      ],
    ]);

    const ctx = join(dir, 'ctx');
    await mkdir(join(ctx, 'a'), { recursive: true });
    await mkdir(join(ctx, 'b'), { recursive: true });
    await writeFile(join(ctx, 'a', 'passwd'), Buffer.alloc(4 << 20, 0x41));
    await symlink(join(host, 'passwd'), join(ctx, 'b', 'passwd'));
    await writeFile(join(ctx, 'copied'), 'copied through esc\n');
    await writeFile(join(dir, 'token.txt'), 'secret\n');
    await writeFile(join(ctx, 'Dockerfile'), [
      `FROM ${registry.host}/hostile:latest`,
      'COPY copied /esc/',
      'COPY --chmod=4755 a/ b/ /esc/racy/',
      `RUN --mount=type=secret,id=token,target=/run/secrets/token mv /run /run.old && ln -s ${host} /run`,
      `RUN ln -s /etc/shadow /leak && ln -s /root /r && ln -s /etc /etc-link && cat /usr/lib64/x.so > /seen && cat ${host}/passwd ${host}/dir/inner ${host}/true > /seen-host`,
      '',
    ].join('\n'));
    const ref = `${registry.host}/result:latest`;
    const r = await tsbuild(['build', '--root', join(dir, 'root'), '--progress', 'plain', '--provenance=false', '--sbom=false',
      '--secret', `id=token,src=${join(dir, 'token.txt')}`, '-t', ref, '--push', ctx]);
    expect(await snapshotTree(host), r.stderr).to.deep.equal(marked);
    expect(r.code, r.stderr).to.equal(0);

    const layers = await pushedLayers(registry, 'result:latest', join(dir, 'oci'));
    const all = new Map<string, Header & { body: string }>();
    for (const l of layers) for (const [k, v] of l) all.set(k, v);
    // COPY through the image's `esc -> <host>` link landed in <root><host>, as a chroot would put it.
    expect(all.get(`${rel}/copied`)?.body).to.equal('copied through esc\n');
    expect(all.get(`${rel}/racy/passwd`)).to.include({ type: 'symlink', linkname: join(host, 'passwd') });
    // The RUN's links to host files were exported as links, never as the files' contents.
    const last = layers[layers.length - 1] ?? new Map();
    expect(last.get('leak')).to.include({ type: 'symlink', linkname: '/etc/shadow' });
    expect(last.get('r')).to.include({ type: 'symlink', linkname: '/root' });
    expect(last.get('etc-link')).to.include({ type: 'symlink', linkname: '/etc' });
    // The base's entries written through its own links (lib64, esc, up, the swapped dir) are where a chroot puts them.
    expect(last.get('seen')?.body).to.equal('lib\n');
    expect(last.get('seen-host')?.body).to.equal('evil through esc\nevil through up\nevil through swap\n');
    expect([...last.keys()].filter((k) => k.startsWith('leak/') || k.startsWith('r/') || k.startsWith('etc-link/'))).to.deep.equal([]);
    expect(await snapshotTree(host)).to.deep.equal(marked);
  });
});
