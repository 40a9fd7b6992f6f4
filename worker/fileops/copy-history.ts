import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CopyOp } from '../../frontend/index.js';
import { canonicalJson, sha256 } from '../../registry/oci/index.js';
import { statKeyText, type StatKeySource } from './dir-listing.js';

/**
 * What the last result of one COPY wrote: its committed snapshot, and for every regular file it wrote (by path in the
 * root) the fingerprint of that write (see fileFingerprint). Kept only for a copy whose every entry landed at its own
 * path: none written through a symlink, none written twice.
 */
export interface CopyRecord { snapshot: string; files: ReadonlyMap<string, string> }

/**
 * The last result of each COPY from a context directory, by (op, context dir): a COPY that misses the cache starts
 * from it and links the files whose fingerprint is unchanged instead of copying them (BuildKit's diff-copy does the
 * same from the previous result). One small JSON file a COPY, replaced atomically by the next result of that COPY;
 * a record whose snapshot was pruned since is simply not used (the caller checks).
 */
export class CopyHistory {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** The last recorded result of `op` on the context `contextDir`, if any. */
  async load(op: CopyOp, contextDir: string): Promise<CopyRecord | undefined> {
    let text: string;
    try {
      text = await readFile(this.#file(op, contextDir), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    return parseRecord(text);
  }

  /** Records `snapshot` (committed) as the last result of `op` on `contextDir`, with what it wrote. */
  async save(op: CopyOp, contextDir: string, record: CopyRecord): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    const file = this.#file(op, contextDir);
    const tmp = `${file}.${process.pid}-${randomUUID()}.tmp`;
    try {
      await writeFile(tmp, JSON.stringify({ v: 1, snapshot: record.snapshot, files: [...record.files] }));
      // rename(2) is atomic: a concurrent build reads the old record or the new one. No fsync: a record lost to a
      // crash only makes the next COPY a full copy.
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  #file(op: CopyOp, contextDir: string): string {
    return join(this.#dir, `${sha256(canonicalJson({ v: 1, op, contextDir })).slice('sha256:'.length)}.json`);
  }
}

/**
 * What a regular file written by a COPY is, as far as linking it into the next result goes: the source file's
 * identity (statKeyText: device, inode, size, mtime, ctime, the same test the content hash cache trusts) and the
 * owner and mode it was written with. Equal fingerprints at one path mean the previous result holds exactly the file a
 * copy would write now, mtime included.
 */
export function fileFingerprint(source: StatKeySource, written: { uid: number; gid: number; mode?: number | undefined }): string {
  return `${statKeyText(source)}:${written.uid}:${written.gid}:${written.mode ?? '-'}`;
}

/** Our own file, checked: an old format or a torn file reads as no record. */
function parseRecord(text: string): CopyRecord | undefined {
  let value: unknown;
  try { value = JSON.parse(text); } catch { return undefined; }
  if (typeof value !== 'object' || value === null) return undefined;
  const { v, snapshot, files } = value as Record<string, unknown>;
  if (v !== 1 || typeof snapshot !== 'string' || !Array.isArray(files)) return undefined;
  const map = new Map<string, string>();
  for (const entry of files) {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string' || typeof entry[1] !== 'string') return undefined;
    map.set(entry[0], entry[1]);
  }
  return { snapshot, files: map };
}
