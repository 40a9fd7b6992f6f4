import { constants, createWriteStream } from 'node:fs';
import { copyFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { canonicalJson, digestHex, sha256, type Descriptor, type Digest, type ImageIndex } from '../../registry/index.js';
import { makeDirs, openRegularFile, readStreamBounded, tempPathBeside, UserError } from '../../common/index.js';
import { storeBlobDamaged, type BlobTarget, type CopyOutcome } from './target.js';

/** The most index.json is read of (image-spec's documents: a manifest, an index, a config, each at most 4 MiB). */
const INDEX_LIMIT = 4 * 1024 * 1024;

/** The `oci-layout` file of every layout tsbuild writes. */
export const LAYOUT_FILE = JSON.stringify({ imageLayoutVersion: '1.0.0' });

/** Where a blob lives inside a layout (a directory or a tarball of one). */
export function layoutBlobPath(digest: Digest): string {
  return `blobs/sha256/${digestHex(digest)}`;
}

/**
 * An OCI image layout directory (image-spec image-layout.md) as a blob target: `blobs/sha256/<hex>` written through a
 * temporary file and a rename, `index.json` replaced last, through a rename too, so a reader sees the old index or
 * the new one, each with all its blobs. The only code that knows the layout's paths. Whether a directory may be
 * written at all is the caller's check (options/destinations.ts).
 */
export class OciLayoutDir implements BlobTarget {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  #blobPath(desc: Descriptor): string {
    return join(this.dir, layoutBlobPath(desc.digest));
  }

  async has(desc: Descriptor): Promise<boolean> {
    return stat(this.#blobPath(desc)).then((s) => s.size === desc.size, () => false);
  }

  async fetch(desc: Descriptor): Promise<Readable> {
    // At most one byte past the size the descriptor states: enough for the copy to see a file of another size.
    return (await this.#open(this.#blobPath(desc))).createReadStream({ start: 0, end: desc.size });
  }

  /**
   * A small blob (a manifest, a config) read whole and checked against its digest, refused above `limit` bytes. A
   * layout is a directory anyone may have written (a CI cache restored from another run, a layout handed over), so
   * what it holds under a digest's name is not trusted to be that digest until it is hashed, nor to be a file.
   */
  async readAll(desc: Descriptor, limit: number, where: string): Promise<Buffer> {
    const tooLarge = (size: number): UserError => new UserError('INVALID_ARGUMENT', `${where}: ${desc.digest} is too large to be a document (${size} bytes)`);
    if (desc.size > limit) throw tooLarge(desc.size);
    const bytes = await readStreamBounded((await this.#open(this.#blobPath(desc))).createReadStream(), limit);
    if (bytes === undefined) throw tooLarge(limit + 1);
    const actual = sha256(bytes);
    if (actual !== desc.digest) throw new UserError('DIGEST_MISMATCH', `${where}: blob ${desc.digest} does not match its digest (${actual})`, 'the layout is damaged or was altered; write it again');
    return bytes;
  }

  /** index.json as it is, at most 4 MiB, or undefined when there is none. */
  async indexBytes(): Promise<Buffer | undefined> {
    const path = join(this.dir, 'index.json');
    const fh = await this.#open(path).catch((err: unknown) => {
      if (typeof err === 'object' && err !== null && 'code' in err && err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (fh === undefined) return undefined;
    const bytes = await readStreamBounded(fh.createReadStream(), INDEX_LIMIT);
    if (bytes === undefined) throw new UserError('INVALID_ARGUMENT', `${path} is larger than ${INDEX_LIMIT} bytes, too large to be an image index`, 'name an OCI layout directory');
    return bytes;
  }

  /** A file of the layout, opened only when it is a regular one: anything else there is a layout someone damaged. */
  #open(path: string): Promise<FileHandle> {
    return openRegularFile(path, (kind) => new UserError('INVALID_ARGUMENT', `${path} in the OCI layout is ${kind}, not a regular file`, 'an OCI layout holds regular files only: write it again'));
  }

  async push(desc: Descriptor, open: () => Promise<Readable>, signal?: AbortSignal): Promise<CopyOutcome> {
    return this.#put(desc, async (tmp) => { await pipeline(await open(), createWriteStream(tmp, { flags: 'wx' }), ...(signal ? [{ signal }] : [])); });
  }

  /**
   * The blob from a content store's file, copied by the kernel: fs.copyFile (libuv's copy_file_range) of the open
   * file through /proc/self/fd, so that no path is looked up again. A file of another size is a damaged blob.
   */
  async pushFile(desc: Descriptor, file: FileHandle, signal?: AbortSignal): Promise<CopyOutcome> {
    return this.#put(desc, async (tmp) => {
      signal?.throwIfAborted();
      await copyFile(`/proc/self/fd/${file.fd}`, tmp, constants.COPYFILE_EXCL);
      const { size } = await stat(tmp);
      if (size !== desc.size) throw storeBlobDamaged(desc, size);
    });
  }

  /** Writes the blob into a temp file beside its place (`write`), then renames it there; 'exists' when it is there. */
  async #put(desc: Descriptor, write: (tmp: string) => Promise<void>): Promise<CopyOutcome> {
    if (await this.has(desc)) return 'exists';   // content-addressed: already there
    await makeDirs(join(this.dir, 'blobs', 'sha256'));
    const path = this.#blobPath(desc);
    const tmp = tempPathBeside(path);
    try {
      await write(tmp);
      await rename(tmp, path);
    } finally {
      await rm(tmp, { force: true });
    }
    return 'uploaded';
  }

  /** index.json, or undefined when there is none yet. A file that is not an index is refused, never replaced. */
  async readIndex(): Promise<ImageIndex | undefined> {
    const bytes = await this.indexBytes();
    if (bytes === undefined) return undefined;
    try {
      const parsed = JSON.parse(bytes.toString('utf8')) as unknown;
      if (typeof parsed === 'object' && parsed !== null && Array.isArray((parsed as ImageIndex).manifests)) return parsed as ImageIndex;
    } catch { /* reported below */ }
    throw new UserError('INVALID_ARGUMENT', `${join(this.dir, 'index.json')} is not a valid OCI image index; refusing to change the layout`, 'repair or remove index.json, or name another directory');
  }

  /**
   * Rewrites index.json as `update(previous)` says, last: call it after every blob the new index names is pushed.
   * A new layout gets its `oci-layout` file first.
   */
  async updateIndex(update: (previous: ImageIndex | undefined) => ImageIndex): Promise<void> {
    const previous = await this.readIndex();
    await makeDirs(join(this.dir, 'blobs', 'sha256'));
    if (!previous) await writeFile(join(this.dir, 'oci-layout'), LAYOUT_FILE);
    const tmp = tempPathBeside(join(this.dir, 'index.json'));
    try {
      await writeFile(tmp, canonicalJson(update(previous)), { flag: 'wx' });
      await rename(tmp, join(this.dir, 'index.json'));
    } finally {
      await rm(tmp, { force: true });
    }
  }
}
