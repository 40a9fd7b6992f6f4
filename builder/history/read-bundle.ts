import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { UserError } from '../../common/index.js';
import { readTar } from '../../worker/index.js';
import { REPORT_MEDIA_TYPE } from './export-bundle.js';

// The tsbuild reports inside a build bundle (`history export`, a Docker Desktop .dockerbuild file): a CI job keeps
// the bundle as an artifact (docker/build-push-action uploads it), and `tsbuild explain --against FILE` or `tsbuild
// report FILE` reads the report of the build that ran there. The bundle is someone else's file: every size is bounded
// and each blob read is checked against its name before it is believed.

/**
 * How much of a bundle is read: what it may unpack to (a build's records and logs, far above any real one, far below a
 * disk), and the blobs held to follow its index (documents and reports; a bigger one, a long build's logs, is not needed
 * and is skipped).
 */
export interface BundleBounds { unpacked: number; heldBlob: number; heldTotal: number }
const BOUNDS: BundleBounds = { unpacked: 1024 ** 3, heldBlob: 64 * 1024 ** 2, heldTotal: 256 * 1024 ** 2 };

/** One build's report found in a bundle, with the ref buildx names it by there. */
export interface BundledReport { ref: string; report: unknown }

/** True when `file` starts as a gzip stream does (a bundle; a report file is JSON text). */
export async function isGzipFile(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await fh.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** The reports of the builds in bundle `file`, in the bundle's order (a build exported without one is left out). */
export async function reportsOfBundle(file: string, bounds: BundleBounds = BOUNDS): Promise<BundledReport[]> {
  const bad = (why: string, cause?: unknown): UserError => new UserError('INVALID_ARGUMENT', `${file} is not a readable build bundle: ${why}`,
    'pass a .dockerbuild file written by `tsbuild history export` (or `docker buildx history export` with tsbuild as buildx)', cause === undefined ? undefined : { cause });
  const blobs = new Map<string, Buffer>();
  let index: Buffer | undefined;
  let held = 0;
  const gunzip = createGunzip();
  const raw = createReadStream(file);
  raw.on('error', (err) => gunzip.destroy(err));
  // A small file can unpack to a disk's worth of zeros: counted as it comes, and stopped at the bound.
  async function* bounded(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    let unpacked = 0;
    for await (const chunk of src) {
      unpacked += chunk.length;
      if (unpacked > bounds.unpacked) throw bad(`it unpacks to more than ${bounds.unpacked} bytes`);
      yield chunk;
    }
  }
  try {
    for await (const { header, body } of readTar(bounded(raw.pipe(gunzip)))) {
      // A name that is not UTF-8 is no name of a bundle's (blobs are hex, index.json plain).
      const name = typeof header.name === 'string' ? header.name.replace(/^\.\//, '') : '';
      const blob = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(name)?.[1];
      const wanted = header.type === 'file' && (name === 'index.json' || (blob !== undefined && header.size <= bounds.heldBlob && held + header.size <= bounds.heldTotal));
      if (!wanted) continue;   // the reader skips the body
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c);
      const bytes = Buffer.concat(chunks);
      if (name === 'index.json') { index = bytes; continue; }
      if (createHash('sha256').update(bytes).digest('hex') !== blob) throw bad(`blob sha256:${blob} does not hold the bytes its name says`);
      held += bytes.length;
      blobs.set(`sha256:${blob}`, bytes);
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw bad(err instanceof Error ? err.message : String(err), err);
  } finally {
    raw.destroy();
    gunzip.destroy();
  }
  if (index === undefined) throw bad('it has no index.json');
  const json = (bytes: Buffer | undefined, what: string): Record<string, unknown> => {
    if (bytes === undefined) throw bad(`${what} is not in it`);
    try {
      const v: unknown = JSON.parse(bytes.toString('utf8'));
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // named below
    }
    throw bad(`${what} is not a JSON object`);
  };
  const descriptors = (doc: Record<string, unknown>, key: string): { digest: string; mediaType?: string; annotations?: Record<string, string> }[] =>
    (Array.isArray(doc[key]) ? doc[key] : []).filter((d): d is { digest: string } => typeof d === 'object' && d !== null && typeof (d as { digest?: unknown }).digest === 'string');
  // index.json names one manifest (one build) or an index of them, each with its ref (export-bundle.ts).
  const top = descriptors(json(index, 'index.json'), 'manifests')[0];
  if (top === undefined) throw bad('index.json names no manifest');
  const topDoc = json(blobs.get(top.digest), `manifest ${top.digest}`);
  const manifests = Array.isArray(topDoc['manifests']) ? descriptors(topDoc, 'manifests') : [top];
  const out: BundledReport[] = [];
  for (const m of manifests) {
    const doc = m === top ? topDoc : json(blobs.get(m.digest), `manifest ${m.digest}`);
    const layer = descriptors(doc, 'layers').find((l) => l.mediaType === REPORT_MEDIA_TYPE);
    if (layer === undefined) continue;
    const config = doc['config'] as { digest?: unknown } | null | undefined;
    const ref = m.annotations?.['vnd.buildkit.history.reference'] ?? refOf(typeof config?.digest === 'string' ? blobs.get(config.digest) : undefined);
    out.push({ ref, report: json(blobs.get(layer.digest), `report ${layer.digest}`) });
  }
  return out;
}

/** The `Ref` of a history record (a bundle's config), '' when it has none. */
function refOf(config: Buffer | undefined): string {
  try {
    const v = JSON.parse(config?.toString('utf8') ?? 'null') as { Ref?: unknown } | null;
    return typeof v?.Ref === 'string' ? v.Ref : '';
  } catch {
    return '';
  }
}
