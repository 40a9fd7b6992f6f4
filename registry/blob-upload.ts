import type { FileHandle } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import type { Descriptor } from './oci/descriptor.js';
import { fileChunks } from '../common/index.js';
import { RegistryError } from './registry-error.js';
import { header, type Session } from './session.js';

/** When an upload is split into PATCH requests and how big each is. */
export interface UploadOptions {
  /** Blobs larger than this go up in chunks (PATCH per chunk); smaller ones in a single PUT. Default: never chunked. */
  chunkThreshold: number;
  chunkSize: number;
}

/**
 * A blob's bytes for an upload: a stream, or an open file holding exactly the blob (a content store's), which is
 * read into a few reused buffers instead of a fresh Buffer per chunk. The caller closes the file.
 */
export type UploadSource = Readable | { file: FileHandle };

/** Where an upload session is, as the registry told us. */
export interface UploadTarget {
  registry: string;
  path: string;
  location: string;
  scopes: string[];
  ref: string;
}

// The statuses containerd's pusher accepts besides the spec's (202 to start, 201 when done): "some registries return
// 200, 202 or 204".
const UPLOAD_STARTED = [200, 202, 204];
const UPLOAD_DONE = [200, 201, 204];

/** Starts an upload session: POST /v2/<name>/blobs/uploads/ and the Location to send the bytes to. */
export async function startUpload(session: Session, registry: string, path: string, scopes: string[], ref: string, signal?: AbortSignal): Promise<UploadTarget> {
  // 202 is the spec's; some registries answer 200 or 204 with the Location all the same (containerd's pusher takes them).
  const res = await session.send({ kind: 'blob-upload', method: 'POST', registry, url: `/v2/${path}/blobs/uploads/`, ref, scopes, ok: UPLOAD_STARTED, headers: { 'content-length': '0' }, ...(signal ? { signal } : {}) });
  await res.body.dump();
  return { registry, path, location: requireLocation(res, ref), scopes, ref };
}

/** The Location header of an upload response, which every next request must go to (spec: "upload URL"). */
export function requireLocation(res: Parameters<typeof header>[0], ref: string): string {
  const location = header(res, 'location');
  if (location === undefined || location === '') throw new RegistryError({ code: 'REGISTRY_REQUEST', ref, status: res.statusCode, message: `registry sent no upload Location for ${ref}` });
  return location;
}

/**
 * Sends a blob's bytes into an upload session and completes it with the digest, streaming throughout: one PUT with
 * the body (distribution spec, "Pushing a blob monolithically", POST then PUT), or, above `chunkThreshold`, PATCH
 * chunks of `chunkSize` with Content-Range then an empty PUT ("Pushing a blob in chunks"). `onBytes` sees every byte
 * handed to the socket.
 */
export async function sendBlob(session: Session, target: UploadTarget, desc: Descriptor, source: UploadSource, options: UploadOptions, onBytes: (n: number) => void, signal?: AbortSignal): Promise<void> {
  let location = target.location;
  const base = { registry: target.registry, ref: target.ref, scopes: target.scopes, ...(signal ? { signal } : {}) };
  if (desc.size <= options.chunkThreshold) {
    const body = source instanceof Readable ? counted(source, onBytes) : Readable.from(fileUploadChunks(source.file, desc.size, target.ref, onBytes), { objectMode: false });
    const res = await session.send({
      ...base,
      kind: 'blob-upload',
      method: 'PUT',
      url: withDigest(location, desc),
      body,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(desc.size) },
      ok: UPLOAD_DONE,
    });
    await res.body.dump();
    return;
  }
  // The chunk pipeline holds on to the buffers it cuts chunks from: a file is read into fresh ones here.
  const stream = source instanceof Readable ? source : source.file.createReadStream({ start: 0, end: desc.size - 1, highWaterMark: 256 << 10, autoClose: false });
  const chunks = new Chunker(counted(stream, onBytes));
  for (let offset = 0; offset < desc.size; offset += options.chunkSize) {
    const length = Math.min(options.chunkSize, desc.size - offset);
    const res = await session.send({
      ...base,
      kind: 'blob-upload',
      method: 'PATCH',
      url: location,
      body: Readable.from(chunks.take(length), { objectMode: false }),
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(length), 'content-range': `${offset}-${offset + length - 1}` },
      ok: [202],
    });
    await res.body.dump();
    location = requireLocation(res, target.ref);
  }
  const res = await session.send({ ...base, kind: 'blob-upload', method: 'PUT', url: withDigest(location, desc), headers: { 'content-length': '0' }, ok: UPLOAD_DONE });
  await res.body.dump();
}

// The upload URL may carry its own query (state tokens); the digest is added to it, not replacing it.
function withDigest(location: string, desc: Descriptor): string {
  const url = new URL(location, 'http://placeholder');
  url.searchParams.set('digest', desc.digest);
  return /^https?:\/\//.test(location) ? url.toString() : `${url.pathname}${url.search}`;
}

/** `source` through a Transform that tells `onBytes` about every chunk; an error of `source` ends it too. */
function counted(source: Readable, onBytes: (n: number) => void): Readable {
  const out = source.pipe(new Transform({
    transform(chunk: Buffer, _enc, done) {
      onBytes(chunk.length);
      done(null, chunk);
    },
  }));
  source.on('error', (err: Error) => out.destroy(err));
  return out;
}

/** Cuts one stream into consecutive pieces of given lengths without copying more than a chunk's remainder. */
class Chunker {
  readonly #it: AsyncIterator<Buffer>;
  #pending: Buffer | undefined;

  constructor(source: Readable) {
    this.#it = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  async *take(length: number): AsyncGenerator<Buffer> {
    let left = length;
    while (left > 0) {
      let buf = this.#pending;
      this.#pending = undefined;
      if (buf === undefined) {
        const next = await this.#it.next();
        if (next.done === true) return;
        buf = next.value;
      }
      if (buf.length > left) {
        this.#pending = buf.subarray(left);
        buf = buf.subarray(0, left);
      }
      left -= buf.length;
      yield buf;
    }
  }
}

/** A content store's file of the blob as upload chunks (fileChunks: a few reused buffers), each counted. */
async function* fileUploadChunks(file: FileHandle, size: number, ref: string, onBytes: (n: number) => void): AsyncGenerator<Buffer> {
  const short = (at: number) => new RegistryError({ code: 'DIGEST_MISMATCH', ref, message: `upload of ${ref}: the local blob file ends at byte ${at} of ${size}`, hint: 'the local copy of the blob is damaged: build the image again (or prune, then build)' });
  for await (const chunk of fileChunks(file, size, short)) {
    onBytes(chunk.length);
    yield chunk;
  }
}
