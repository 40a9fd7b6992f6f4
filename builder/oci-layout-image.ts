import {
  parseImageConfig, parseManifestDocument, selectPlatform, type Descriptor, type Digest, type Platform, type ResolvedImage,
} from '../registry/index.js';
import { UserError } from '../common/index.js';
import { BytesProvider, copy, OciLayoutDir, type BlobTarget } from './content/index.js';
import { parseOciLayoutRef } from './options/oci-layout-ref.js';

// `--build-context NAME=oci-layout://DIR[:TAG][@sha256:…]`: an image read from a local OCI image layout, as BuildKit
// reads one. index.json (or the digest asked for) → the platform's manifest → config; the manifest, config and every
// layer blob are copied from the layout (an OciLayoutDir, through the one `copy`) into the content store, each verified
// against its digest.

/** True for a reference naming an image in a local OCI layout. */
export function isOciLayoutRef(ref: string): boolean {
  return ref.startsWith('oci-layout://');
}

const REF_NAME = 'org.opencontainers.image.ref.name';
const DOC_LIMIT = 4 * 1024 * 1024;

/** Resolves `oci-layout://DIR[:TAG][@sha256:…]` on `platform` and copies its blobs into `store` (the content store). */
export async function resolveOciLayout(text: string, platform: Platform | undefined, store: BlobTarget, signal?: AbortSignal): Promise<ResolvedImage> {
  const ref = parseOciLayoutRef(text);
  if (ref === undefined) throw new UserError('INVALID_ARGUMENT', `invalid OCI layout reference ${JSON.stringify(text)}`, 'write oci-layout://DIR[:TAG][@sha256:…]');
  const { dir, tag, digest } = ref;
  const fail = (what: string, hint = 'write it with -o type=oci,tar=false,dest=DIR (or skopeo copy … oci:DIR)'): never => {
    throw new UserError('INVALID_ARGUMENT', `OCI layout ${dir}: ${what}`, hint);
  };
  const layout = new OciLayoutDir(dir);
  const indexBytes = await layout.indexBytes().catch((err: unknown) => {
    if (err instanceof UserError) throw err;
    return undefined;
  }) ?? fail('has no readable index.json');
  const top = parseManifestDocument(indexBytes, undefined, `${dir}/index.json`);
  if (top.kind !== 'index') fail('index.json is not an image index');
  const entries = top.kind === 'index' ? top.index.manifests : [];
  let desc: Descriptor | undefined;
  if (digest !== undefined) {
    desc = entries.find((e) => e.digest === digest) ?? { mediaType: '', digest, size: -1 };
  } else {
    const tagged = entries.filter((e) => e.annotations?.[REF_NAME] === (tag ?? 'latest'));
    desc = tagged[0] ?? (tag === undefined && entries.length === 1 ? entries[0] : undefined);
    if (desc === undefined) fail(tag === undefined ? `index.json lists ${entries.length} images and none is tagged "latest"` : `no image tagged "${tag}" in index.json`, 'name one with oci-layout://DIR:TAG or oci-layout://DIR@sha256:…');
  }
  if (desc === undefined) throw new Error('unreachable: no descriptor');
  const documents: { descriptor: Descriptor; bytes: Uint8Array }[] = [];
  const readDoc = async (d: Descriptor): Promise<Buffer> => {
    const bytes = await layout.readAll(d, DOC_LIMIT, `OCI layout ${dir}`).catch((err: unknown) => {
      if (err instanceof UserError) throw err;
      return fail(`blob ${d.digest} is missing`);
    });
    documents.push({ descriptor: { mediaType: 'application/octet-stream', digest: d.digest, size: bytes.length }, bytes });
    return bytes;
  };
  let manifestBytes = await readDoc(desc);
  let doc = parseManifestDocument(manifestBytes, desc.mediaType || undefined, `${text}`);
  let manifestDigest = desc.digest;
  if (doc.kind === 'index') {
    const wanted = platform ?? { os: 'linux', architecture: 'amd64' };
    const chosen = selectPlatform(doc.index, wanted, text);
    manifestDigest = chosen.digest;
    manifestBytes = await readDoc(chosen);
    doc = parseManifestDocument(manifestBytes, chosen.mediaType, text);
    if (doc.kind !== 'manifest') fail(`${chosen.digest} is an index inside an index`);
  }
  if (doc.kind !== 'manifest') throw new Error('unreachable: not a manifest');
  const manifest = doc.manifest;
  const config = parseImageConfig(await readDoc(manifest.config), text);
  await copy(new BytesProvider(documents), store, documents.map((d) => d.descriptor), signal ? { signal } : {});
  try {
    await copy(layout, store, manifest.layers, signal ? { signal } : {});
  } catch (err) {
    // What went wrong with which file is the cause's to say (a FIFO, a link to a device, a digest): said here too.
    const why = err instanceof Error ? `: ${err.message}` : '';
    throw new UserError('INVALID_ARGUMENT', `OCI layout ${dir}: a layer could not be read or does not match its digest${why}`, 'rewrite the layout', { cause: err });
  }
  const resolvedPlatform: Platform = { os: config.os, architecture: config.architecture, ...(config.variant !== undefined ? { variant: config.variant } : {}) };
  const base = `oci-layout://${dir}${tag !== undefined ? `:${tag}` : ''}`;
  return {
    ref: `${base}@${manifestDigest}`,
    descriptor: { mediaType: doc.mediaType, digest: manifestDigest, size: manifestBytes.length },
    manifest, config, platform: resolvedPlatform,
  };
}

/** The text resolveOciLayout reads for an image already resolved by digest (a cached FROM in a later build). */
export function ociLayoutByDigest(ref: string, digest: Digest): string {
  return `${ref.replace(/@sha256:[a-f0-9]{64}$/, '')}@${digest}`;
}
