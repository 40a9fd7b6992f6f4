import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Descriptor, Digest } from '../../registry/oci/index.js';
import { crashPoint } from '../../common/index.js';
import type { TestHooks } from '../../common/index.js';
import { ContentDigestError } from '../errors.js';
import type { Ingest } from './content-store.js';
import { fsyncDir } from './fsync-dir.js';

/** Where a verified ingest is published: the blob path for a digest and the directory to fsync after the rename. */
export interface BlobTarget { blobPath(digest: Digest): string; blobDir: string }

/**
 * One blob being written into `<dir>/data`: hashed as it is written, fsynced when the stream ends, and renamed into
 * the blob directory only by `commit` after size and digest are checked. The ingest directory is always removed.
 */
export class FileIngest extends Writable implements Ingest {
  readonly #dir: string;
  readonly #expected: { digest: Digest; size: number } | undefined;
  readonly #target: BlobTarget;
  readonly #mediaType: string;
  readonly #hooks: TestHooks;
  readonly #hash: Hash = createHash('sha256');
  #fh: FileHandle | undefined;
  #size = 0;
  #settled = false;

  constructor(dir: string, target: BlobTarget, expected: { digest: Digest; size: number } | undefined, mediaType: string, hooks: TestHooks = {}) {
    super();
    this.#hooks = hooks;
    this.#dir = dir;
    this.#target = target;
    this.#expected = expected;
    this.#mediaType = mediaType;
    // A failure reaches the writer through its write callbacks or pipeline, and always through commit (finished) or
    // abort, which every ingest ends with; unheard, the 'error' event would throw out of the event loop instead.
    this.on('error', () => undefined);
  }

  override _construct(callback: (error?: Error | null) => void): void {
    mkdir(this.#dir, { recursive: true })
      .then(() => open(join(this.#dir, 'data'), 'w', 0o644))
      .then((fh) => { this.#fh = fh; callback(); }, (err: Error) => callback(err));
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    const fh = this.#fh;
    if (!fh) { callback(new Error('ingest file is not open')); return; }
    this.#hash.update(chunk);
    this.#size += chunk.length;
    if (this.#expected && this.#size > this.#expected.size) {
      callback(new ContentDigestError(this.#expected, { digest: 'sha256:unknown', size: this.#size }));
      return;
    }
    fh.write(chunk).then(() => callback(), (err: Error) => callback(err));
  }

  override _final(callback: (error?: Error | null) => void): void {
    const fh = this.#fh;
    if (!fh) { callback(); return; }
    fh.sync().then(() => callback(), (err: Error) => callback(err));
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const fh = this.#fh;
    this.#fh = undefined;
    if (!fh) { callback(error); return; }
    fh.close().then(() => callback(error), () => callback(error));
  }

  writeChunk(chunk: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.write(chunk, (err) => (err ? reject(err) : resolve())));
  }

  /** Ends the stream if needed, verifies, and publishes the blob (a no-op rename when it already exists). */
  async commit(): Promise<Descriptor> {
    if (this.#settled) throw new Error('ingest already committed or aborted');
    this.#settled = true;
    try {
      if (!this.writableEnded) this.end();
      await finished(this);
      const fh = this.#fh;
      this.#fh = undefined;
      await fh?.close();
      const digest: Digest = `sha256:${this.#hash.digest('hex')}`;
      const actual = { digest, size: this.#size };
      if (this.#expected && (this.#expected.digest !== digest || this.#expected.size !== this.#size)) {
        throw new ContentDigestError(this.#expected, actual);
      }
      crashPoint(this.#hooks, 'ingest-commit');
      // rename(2) is atomic: a reader sees no blob or the whole blob. Two ingests of the same content both rename
      // a complete, identical file over the same name, so both succeed and one blob remains.
      await rename(join(this.#dir, 'data'), this.#target.blobPath(digest));
      await fsyncDir(this.#target.blobDir);
      return { mediaType: this.#mediaType, digest, size: this.#size };
    } finally {
      await rm(this.#dir, { recursive: true, force: true });
    }
  }

  /** Discards everything written so far. */
  async abort(): Promise<void> {
    if (this.#settled) return;
    this.#settled = true;
    this.destroy();
    await new Promise<void>((resolve) => { if (this.closed) resolve(); else this.once('close', () => resolve()); });
    await rm(this.#dir, { recursive: true, force: true });
  }
}
