import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, type FileHandle, readFile, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { digestHex, isDigest } from '../../registry/oci/index.js';
import type { Descriptor, Digest } from '../../registry/oci/index.js';
import type { ContentStore, Ingest, LazyBlob, LazyBlobs } from './content-store.js';
import { fsyncDir } from './fsync-dir.js';
import { FileIngest } from './ingest.js';
import { MissingBlobError } from '../errors.js';
import { drainBlocks, type BlockSource } from '../layers/parallel-gzip.js';
import { changedLayer, isChangedLayer, snapshotLayers } from '../layers/lazy-layers.js';
import { isProcessAlive } from '../../common/index.js';
import type { TestHooks } from '../../common/index.js';

const OCTET_STREAM = 'application/octet-stream';
/** The one buffer a lazy blob is made through (the size of the gzip's blocks: see parallel-gzip.ts). */
const MATERIALIZE_BLOCK = 1 << 20;

/**
 * A content store on the local filesystem: `<root>/content/blobs/sha256/<hex>` for blobs and
 * `<root>/content/ingest/<ref-hash>-<pid>-<random>/data` for writes in flight. Ingests are named after the process
 * that owns them so that `open` can remove those left by a dead process without touching a live one's.
 *
 * Lazy blobs: a layer a build step made is not written here (worker/layers/diff.ts); its record lives with its
 * committed snapshot (worker/snapshots/metadata.ts), and the store answers for it as for any blob: `info`/`has` from
 * the record, `read`/`openBlob`/`readAll` by writing it into the blob dir first (verified against the recorded digest
 * and size like any ingest), `blockSource` (the gzip of an outgoing layer) straight from the snapshot. Every reader
 * goes through these, so no reader needs to know a blob is lazy.
 */
export class FileContentStore implements ContentStore {
  readonly #blobDir: string;
  readonly #ingestDir: string;
  readonly #variantDir: string;
  readonly #hooks: TestHooks;
  readonly #lazy: LazyBlobs & { close(): void };
  /** Lazy blobs being written into the blob dir by this process: a second reader waits for the first. */
  readonly #materializing = new Map<Digest, Promise<void>>();

  private constructor(root: string, hooks: TestHooks) {
    this.#hooks = hooks;
    this.#lazy = snapshotLayers(root);
    this.#blobDir = join(root, 'content', 'blobs', 'sha256');
    this.#ingestDir = join(root, 'content', 'ingest');
    this.#variantDir = join(root, 'content', 'variants');
  }

  /**
   * Opens (creating if needed) the store under `root` and removes ingests left behind by dead processes. `hooks`:
   * test hooks (the `ingest-commit` crash point).
   */
  static async open(root: string, hooks: TestHooks = {}): Promise<FileContentStore> {
    const store = new FileContentStore(root, hooks);
    await mkdir(store.#blobDir, { recursive: true });
    await mkdir(store.#ingestDir, { recursive: true });
    await store.#cleanIngests();
    return store;
  }

  async info(digest: Digest): Promise<Descriptor | undefined> {
    try {
      const st = await stat(this.#blobPath(digest));
      return { mediaType: OCTET_STREAM, digest, size: st.size };
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const lazy = this.#lazy.find(digest);
      return lazy === undefined ? undefined : { mediaType: OCTET_STREAM, digest, size: lazy.size };
    }
  }

  /** True when the blob is in the store. */
  async has(digest: Digest): Promise<boolean> {
    return (await this.info(digest)) !== undefined;
  }

  async read(digest: Digest): Promise<Readable> {
    // 256 KiB chunks: at the default 64 KiB, a 200 MB push spent ~0.36 s of main-thread CPU in per-chunk reads and
    // socket writes (profile of `tsbuild push`); 1 MiB saved little more and held ~25 MiB more in flight.
    return createReadStream('', { fd: await this.openBlob(digest), highWaterMark: 256 << 10 });
  }

  /** Opens a blob for positioned reads (the caller closes it); a lazy blob is written into the store first. */
  async openBlob(digest: Digest): Promise<FileHandle> {
    const path = this.#blobPath(digest);
    try {
      return await open(path, 'r');
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    await this.materialize(digest);
    return open(path, 'r');
  }

  /**
   * The blob's bytes as a BlockSource (the caller closes it): read from the blob dir, or for a lazy blob made from its
   * snapshot without writing it here (`lazy` then says which). The caller checks the digest of what it read against
   * the blob's (the gzip of a layer does: gzip-layer.ts).
   */
  async blockSource(digest: Digest): Promise<{ source: BlockSource; lazy?: LazyBlob }> {
    try {
      return { source: fileSource(await open(this.#blobPath(digest), 'r')) };
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const lazy = this.#lazy.find(digest);
    if (lazy === undefined) throw new MissingBlobError(digest);
    return { source: lazy.open(), lazy };
  }

  /**
   * Writes lazy blob `digest` into the blob dir (a no-op when it is there already), through one buffer, verified
   * against its record's digest and size: bytes that do not match (the snapshot changed after it was committed) are
   * refused with a LayerError naming the layer and the snapshot, and nothing is stored.
   */
  async materialize(digest: Digest): Promise<void> {
    if (await stat(this.#blobPath(digest)).then(() => true, (err: unknown) => { if (isNotFound(err)) return false; throw err; })) return;
    let running = this.#materializing.get(digest);
    if (running === undefined) {
      const lazy = this.#lazy.find(digest);
      if (lazy === undefined) throw new MissingBlobError(digest);
      running = this.#materialize(lazy).finally(() => this.#materializing.delete(digest));
      this.#materializing.set(digest, running);
    }
    await running;
  }

  /** Reads a small document (manifest, config) whole; refuses blobs over `limit` bytes before reading them. */
  async readAll(digest: Digest, limit: number): Promise<Buffer> {
    const fh = await this.openBlob(digest);
    try {
      const { size } = await fh.stat();
      if (size > limit) throw new Error(`blob ${digest} is ${size} bytes, over the ${limit} byte limit for documents`);
      return await fh.readFile();
    } finally {
      await fh.close();
    }
  }

  async ingest(ref: string, expected?: { digest: Digest; size: number }): Promise<Ingest> {
    return this.#ingest(ref, expected, OCTET_STREAM);
  }

  /** Stores a small document and returns its descriptor with `mediaType`. */
  async put(bytes: Uint8Array, mediaType: string): Promise<Descriptor> {
    const ingest = this.#ingest(`put-${mediaType}`, undefined, mediaType);
    try {
      ingest.end(bytes);
      return await ingest.commit();
    } catch (err) {
      await ingest.abort();
      throw err;
    }
  }

  /** Releases the snapshot database lazy blobs are looked up in (opened on the first lookup; reopened if used again). */
  close(): void {
    this.#lazy.close();
  }

  /** Removes a blob; missing blobs are ignored. */
  async delete(digest: Digest): Promise<void> {
    await unlink(this.#blobPath(digest)).catch((err: unknown) => { if (!isNotFound(err)) throw err; });
    await fsyncDir(this.#blobDir);
  }

  /** Every blob in the store with its size. */
  async list(): Promise<Descriptor[]> {
    const out: Descriptor[] = [];
    for (const hex of (await readdir(this.#blobDir)).sort()) {
      const digest = `sha256:${hex}`;
      if (!isDigest(digest)) continue;
      const desc = await this.info(digest);
      if (desc) out.push(desc);
    }
    return out;
  }

  /**
   * A blob made from `source` by a named, deterministic re-encoding (`how`, e.g. `zstd:level=3`), remembered by
   * `putVariant`; undefined when never made or when the blob it named is gone. An export that asks for the same
   * re-encoding again reads it instead of recompressing the layer.
   */
  async variant(source: Digest, how: string): Promise<StoredVariant | undefined> {
    const text = await readFile(this.#variantPath(source, how), 'utf8').catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    if (text === undefined) return undefined;
    const variant = parseVariant(text);
    // A torn or foreign record, or a blob removed since: make it again.
    if (variant === undefined || (await this.info(variant.digest))?.size !== variant.size) return undefined;
    return variant;
  }

  /**
   * Forgets every re-encoding remembered for `source` and returns the blobs they named (still in the store: the
   * caller, prune, removes those nothing else uses). A layer's gzip for an image or a cache export is such a variant;
   * without this, pruning the layer would leave its gzip behind for good.
   */
  async dropVariants(source: Digest): Promise<StoredVariant[]> {
    if (!isDigest(source)) throw new Error(`not a sha256 digest: ${String(source)}`);
    const dir = join(this.#variantDir, digestHex(source));
    const names = await readdir(dir).catch((err: unknown) => {
      if (isNotFound(err)) return [];
      throw err;
    });
    const out: StoredVariant[] = [];
    for (const name of names) {
      const variant = parseVariant(await readFile(join(dir, name), 'utf8').catch(() => ''));
      if (variant !== undefined) out.push(variant);
    }
    await rm(dir, { recursive: true, force: true });
    return out;
  }

  /** Remembers that `variant` is `source` re-encoded by `how` (see `variant`); the blob must be in the store. */
  async putVariant(source: Digest, how: string, variant: StoredVariant): Promise<void> {
    const path = this.#variantPath(source, how);
    await mkdir(join(path, '..'), { recursive: true });
    // A cache record: written whole and renamed into place; losing it in a crash only costs a recompression.
    const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}`;
    await writeFile(tmp, JSON.stringify(variant));
    await rename(tmp, path);
  }

  async #materialize(lazy: LazyBlob): Promise<void> {
    const ingest = this.#ingest(`lazy-${lazy.digest}`, { digest: lazy.digest, size: lazy.size }, OCTET_STREAM);
    try {
      // One buffer for the whole blob: the ingest has written (and hashed) a chunk when writeChunk resolves.
      await drainBlocks(lazy.open(), Buffer.allocUnsafe(MATERIALIZE_BLOCK), (chunk) => ingest.writeChunk(chunk));
      await ingest.commit();
    } catch (err) {
      await ingest.abort();
      throw isChangedLayer(err) ? changedLayer(lazy, err) : err;
    }
  }

  #variantPath(source: Digest, how: string): string {
    return join(this.#variantDir, digestHex(source), createHash('sha256').update(how).digest('hex').slice(0, 32));
  }

  #ingest(ref: string, expected: { digest: Digest; size: number } | undefined, mediaType: string): FileIngest {
    if (expected && !isDigest(expected.digest)) throw new Error(`not a sha256 digest: ${expected.digest}`);
    const refHash = createHash('sha256').update(ref).digest('hex').slice(0, 32);
    const dir = join(this.#ingestDir, `${refHash}-${process.pid}-${randomBytes(6).toString('hex')}`);
    return new FileIngest(dir, { blobDir: this.#blobDir, blobPath: (d) => this.#blobPath(d) }, expected, mediaType, this.#hooks);
  }

  #blobPath(digest: Digest): string {
    if (!isDigest(digest)) throw new Error(`not a sha256 digest: ${String(digest)}`);
    return join(this.#blobDir, digestHex(digest));
  }

  async #cleanIngests(): Promise<void> {
    for (const name of await readdir(this.#ingestDir)) {
      const pid = Number(name.split('-')[1]);
      if (Number.isInteger(pid) && pid > 0 && isProcessAlive(pid)) continue;
      await rm(join(this.#ingestDir, name), { recursive: true, force: true });
    }
  }
}


/** A re-encoded blob, and for re-encodings that change the tar (rewrite-timestamp) its new diffId. */
export interface StoredVariant { digest: Digest; size: number; diffId?: Digest | undefined }

function parseVariant(text: string): StoredVariant | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.digest !== 'string' || !isDigest(v.digest) || typeof v.size !== 'number' || !Number.isSafeInteger(v.size)) return undefined;
  if (v.diffId !== undefined && (typeof v.diffId !== 'string' || !isDigest(v.diffId))) return undefined;
  return { digest: v.digest, size: v.size, ...(typeof v.diffId === 'string' && isDigest(v.diffId) ? { diffId: v.diffId } : {}) };
}

/** Reads a blob file into the caller's buffers (whole blocks, as gzipInto cuts them: see parallel-gzip.ts). */
function fileSource(fh: FileHandle): BlockSource {
  let position = 0;
  let isClosed = false;
  return {
    async fill(buf: Buffer): Promise<number> {
      let at = 0;
      while (at < buf.length) {
        const { bytesRead } = await fh.read(buf, at, buf.length - at, position);
        if (bytesRead === 0) break;
        at += bytesRead;
        position += bytesRead;
      }
      return at;
    },
    close(): void {
      if (isClosed) return;
      isClosed = true;
      fh.close().catch(() => undefined);
    },
  };
}

function isNotFound(err: unknown): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === 'ENOENT';
}
