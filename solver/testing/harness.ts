// Runs solve() on a fake worker and a real sqlite index in a temp dir: the setup every solver test shares.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BuildGraph } from '../../frontend/index.js';
import type { Digest } from '../../registry/oci/index.js';
import { SqliteCacheIndex } from '../cache-index.js';
import type { ProgressEvent } from '../progress-event.js';
import { solve } from '../solve.js';
import type { SolveOptions, SolveResult } from '../solve.js';
import { FakeImages, FakeWorker } from './fake-worker.js';

/** A fake worker, fake images and a real cache index under a fresh temp root. */
export class Harness {
  readonly root = mkdtempSync(join(tmpdir(), 'tsbuild-solver-'));
  readonly worker: FakeWorker;
  readonly images = new FakeImages();
  cache = SqliteCacheIndex.open(this.root);
  events: ProgressEvent[] = [];

  /** `blobs`: share one with another harness and the two act as two runners whose layers can move between them. */
  constructor(blobs?: Map<Digest, Record<string, string>>) {
    this.worker = new FakeWorker(blobs);
  }

  /** Solves `graph`, collecting its events into `events` (reset per call). */
  async solve(graph: BuildGraph, opts: Partial<SolveOptions> = {}): Promise<SolveResult> {
    this.events = [];
    return solve(graph, {
      worker: this.worker,
      images: this.images,
      cache: this.cache,
      context: { kind: 'context', dir: '/nonexistent', excludes: [] },
      onEvent: (e) => this.events.push(e),
      ...opts,
    });
  }

  /** Closes and reopens the index, as the next tsbuild process would. */
  reopen(): void {
    this.cache.close();
    this.cache = SqliteCacheIndex.open(this.root);
  }

  dispose(): void {
    this.cache.close();
    rmSync(this.root, { recursive: true, force: true });
  }
}
