import { expect } from 'chai';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { run } from '../fixtures/tsbuild-cli.js';

// Independent checks of what tsbuild produced, for the real-world suites: skopeo copies an image into an OCI
// layout, umoci unpacks it, and the layer blobs are read straight from the layout (never through tsbuild's code).

/** One entry of a layer tar, as a checker needs it. */
export interface LayerEntry { name: string; type: string; mode: number; uid: number; gid: number; linkname?: string }

/** A layer blob in an OCI layout. */
export interface LayoutBlob { digest: string; mediaType: string; path: string }

/** Copies `src` (a skopeo transport, e.g. `docker://host/app:1` or `oci-archive:/x.tar`) into an OCI layout dir. */
export async function copyToLayout(src: string, layout: string): Promise<string> {
  const args = ['copy', '-q', ...(src.startsWith('docker://') ? ['--src-tls-verify=false'] : []), src, `oci:${layout}:x`];
  const r = await run('skopeo', args);
  expect(r.code, r.stderr).to.equal(0);
  return layout;
}

/** Unpacks the layout's image with umoci into `bundle` and returns the rootfs path. */
export async function unpackLayout(layout: string, bundle: string): Promise<string> {
  const r = await run('umoci', ['unpack', '--image', `${layout}:x`, bundle]);
  expect(r.code, r.stderr).to.equal(0);
  return join(bundle, 'rootfs');
}

function blobPath(layout: string, digest: string): string {
  const [alg, hex] = digest.split(':');
  return join(layout, 'blobs', alg ?? 'sha256', hex ?? '');
}

async function readJson(path: string): Promise<unknown> {
  return JSON.parse(await readFile(path, 'utf8')) as unknown;
}

interface Desc { digest: string; mediaType: string }

/** The manifest's config and layers (in order) of the layout's only image. */
export async function layoutBlobs(layout: string): Promise<{ config: LayoutBlob; layers: LayoutBlob[] }> {
  const index = await readJson(join(layout, 'index.json')) as { manifests: Desc[] };
  const top = index.manifests[0];
  if (top === undefined) throw new Error(`${layout}/index.json has no manifest`);
  const manifest = await readJson(blobPath(layout, top.digest)) as { config: Desc; layers: Desc[] };
  const blob = (d: Desc): LayoutBlob => ({ digest: d.digest, mediaType: d.mediaType, path: blobPath(layout, d.digest) });
  return { config: blob(manifest.config), layers: manifest.layers.map(blob) };
}

function isGzip(blob: LayoutBlob): boolean {
  return blob.mediaType.endsWith('gzip');
}

/** The entries of a layer blob (gzip or plain tar), in tar order. */
export async function layerEntries(blob: LayoutBlob): Promise<LayerEntry[]> {
  const entries: LayerEntry[] = [];
  const extract = tar.extract();
  extract.on('entry', (h, stream, next) => {
    entries.push({ name: h.name, type: h.type ?? 'file', mode: h.mode ?? 0, uid: h.uid ?? 0, gid: h.gid ?? 0, ...(h.linkname != null ? { linkname: h.linkname } : {}) });
    stream.on('end', next);
    stream.resume();
  });
  const stages = [createReadStream(blob.path), ...(isGzip(blob) ? [createGunzip()] : []), extract];
  await pipeline(stages);
  return entries;
}

/** True when the blob's bytes (decompressed for gzip layers) contain `needle`, across chunk boundaries too. */
export async function blobContains(blob: LayoutBlob, needle: Buffer): Promise<boolean> {
  let found = false;
  let carry = Buffer.alloc(0);
  const scan = new Writable({
    write(chunk: Buffer, _e, done) {
      const window = Buffer.concat([carry, chunk]);
      if (window.includes(needle)) found = true;
      carry = window.subarray(Math.max(0, window.length - needle.length + 1));
      done();
    },
  });
  await pipeline([createReadStream(blob.path), ...(isGzip(blob) ? [createGunzip()] : []), scan]);
  return found;
}

/**
 * The image config blob of a skopeo source as stored (`skopeo inspect --raw --config`): without --raw skopeo
 * converts it to the OCI struct and drops Docker's Healthcheck, OnBuild and Shell fields.
 */
export async function inspectConfig(src: string): Promise<Record<string, unknown>> {
  const args = ['inspect', '--raw', '--config', ...(src.startsWith('docker://') ? ['--tls-verify=false'] : []), src];
  const r = await run('skopeo', args);
  expect(r.code, r.stderr).to.equal(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}
