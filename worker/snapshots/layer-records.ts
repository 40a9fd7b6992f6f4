import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SnapshotMetadata } from './metadata.js';
import type { LayerRecord } from './metadata.js';

/** A lazy layer's record with the dirs its bytes are read from. */
export interface LayerSnapshot extends LayerRecord {
  /** The committed snapshot's name. */
  snapshot: string;
  /** Its `fs` dir (the overlay upper dir the layer tar is written from). */
  upperDir: string;
  /** Its parents' `fs` dirs, top first. */
  lowerDirs: string[];
}

/**
 * The layer records of the snapshots under `dir` (`<root>/snapshots`, OverlaySnapshotter's layout: a committed
 * snapshot's upper dir is `<dir>/<id>/fs`), read without opening the snapshotter: a content store opened on its own
 * (`tsbuild push`) finds a lazy layer's snapshot through this. The database is opened on first use, and never created:
 * a root without snapshots has no lazy layers.
 */
export class SnapshotLayerRecords {
  readonly #dir: string;
  #meta: SnapshotMetadata | undefined;

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** The committed snapshot that holds layer `diffId`, or undefined when none does (never made lazily, or removed). */
  find(diffId: string): LayerSnapshot | undefined {
    const meta = this.#open();
    const row = meta?.findLayer(diffId);
    if (meta === undefined || row === undefined || row.layer === null) return undefined;
    const dirs: string[] = [];
    for (let r = meta.get(row.name); r !== undefined; r = r.parent === null ? undefined : meta.get(r.parent)) {
      // A committed snapshot's parents are committed and cannot be removed before it (metadata.ts delete).
      if (r.kind !== 'committed') throw new Error(`snapshot ${r.name} in the chain of ${row.name} is not committed`);
      dirs.push(join(this.#dir, String(r.id), 'fs'));
    }
    const [upperDir, ...lowerDirs] = dirs;
    if (upperDir === undefined) return undefined;   // removed between the two reads
    return { ...row.layer, snapshot: row.name, upperDir, lowerDirs };
  }

  /** Releases the database. */
  close(): void {
    this.#meta?.close();
    this.#meta = undefined;
  }

  #open(): SnapshotMetadata | undefined {
    if (this.#meta === undefined) {
      const path = join(this.#dir, 'metadata.db');
      if (existsSync(path)) this.#meta = new SnapshotMetadata(path);
    }
    return this.#meta;
  }
}
