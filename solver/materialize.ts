import type { CopyOp } from '../frontend/index.js';
import { canonicalJson, sha256 } from '../registry/oci/index.js';
import type { Digest } from '../registry/oci/index.js';
import type { FsState, LayerRef, ProgressSink, RemoteCache, Worker } from './ports.js';

/** What opening a lazy filesystem needs. */
export interface MaterializeContext {
  worker: Worker;
  /** Where the lazy state's layers come from; required when `fs` is lazy. */
  remote?: RemoteCache | undefined;
  signal: AbortSignal;
  progress: ProgressSink;
}

/**
 * A filesystem the worker can use: `fs` itself unless it is lazy (a remote cache hit), else its layers fetched into
 * the content store and unpacked into a snapshot chain. Unpacking by chainId reuses every layer already unpacked.
 */
export async function materialize(fs: FsState, ctx: MaterializeContext): Promise<FsState> {
  if (fs.lazy === undefined) return fs;
  if (fs.layers.length === 0) return { snapshot: null, layers: [] };
  if (ctx.remote === undefined) throw new Error(`a lazy result from ${fs.lazy.ref} cannot be opened without its remote cache`);
  await ctx.remote.fetchLayers(fs.layers, ctx.signal, ctx.progress);
  const opened = await ctx.worker.unpack(fs.layers, ctx.signal, ctx.progress);
  return { snapshot: opened.snapshot, layers: fs.layers };
}

/** The identity of a filesystem by content: sha256 over its layers' diffIds, bottom first. */
export function chainOf(layers: LayerRef[]): Digest {
  return sha256(canonicalJson(layers.map((l) => l.diffId)));
}

/** The identity of what a COPY selects from its source (the whole op, minus where it reads from). */
export function selectorOf(op: CopyOp): Digest {
  return sha256(canonicalJson({ ...op, from: { kind: op.from.kind } }));
}
