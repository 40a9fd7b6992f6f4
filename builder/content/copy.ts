import type { Readable } from 'node:stream';
import PQueue from 'p-queue';
import type { Descriptor, Digest, Repository } from '../../registry/index.js';
import type { BlobProvider, BlobTarget, CopyOutcome } from './target.js';

/** How many blobs one copy moves at once. */
export const COPY_CONCURRENCY = 4;

/** What a copy did, blob by blob. */
export interface CopyOutcomes { exists: number; mounted: number; uploaded: number }

/** Called after each blob: what happened to it and how far the copy got (bytes of the blobs done so far). */
export type CopyProgress = (desc: Descriptor, outcome: CopyOutcome, done: number, total: number) => void;

export interface CopyOptions {
  signal?: AbortSignal | undefined;
  progress?: CopyProgress | undefined;
  /** Repositories known to hold a blob; the first on the target's registry (not the target) is mounted from. */
  mountFrom?: ((digest: Digest) => readonly Repository[]) | undefined;
  concurrency?: number | undefined;
}

/**
 * The one way a blob moves between two places: for each descriptor (once per digest), bounded, the target is asked
 * first (HEAD for a registry, a stat for a directory or the store), then a registry target mounts it from another
 * repository of its registry when one is known to hold it, and only then are the bytes streamed from `src`.
 */
export async function copy(src: BlobProvider, dst: BlobTarget, descriptors: readonly Descriptor[], opts: CopyOptions = {}): Promise<CopyOutcomes> {
  const unique = new Map<Digest, Descriptor>();
  for (const d of descriptors) if (!unique.has(d.digest)) unique.set(d.digest, d);
  const blobs = [...unique.values()];
  const total = blobs.reduce((n, d) => n + d.size, 0);
  const outcomes: CopyOutcomes = { exists: 0, mounted: 0, uploaded: 0 };
  let done = 0;
  const queue = new PQueue({ concurrency: opts.concurrency ?? COPY_CONCURRENCY });
  await queue.addAll(blobs.map((desc) => async () => {
    const open = () => src.fetch(desc, opts.signal);
    const from = dst.repository && opts.mountFrom ? mountSource(opts.mountFrom(desc.digest), dst.repository) : undefined;
    const outcome = from && dst.mount ? await dst.mount(desc, from, open, opts.signal) : await put(src, dst, desc, open, opts.signal);
    outcomes[outcome]++;
    done += desc.size;
    opts.progress?.(desc, outcome, done, total);
  }));
  return outcomes;
}

/** `dst.push`, or `dst.pushFile` when the target takes a file and `src` has the blob as one (the kernel copies it). */
async function put(src: BlobProvider, dst: BlobTarget, desc: Descriptor, open: () => Promise<Readable>, signal?: AbortSignal): Promise<CopyOutcome> {
  const file = dst.pushFile && src.openFile ? await src.openFile(desc) : undefined;
  if (file === undefined || !dst.pushFile) return dst.push(desc, open, signal);
  try {
    return await dst.pushFile(desc, file, signal);
  } finally {
    await file.close();
  }
}

/** The same-registry guard: a repository a blob can be mounted into `target` from (same registry, not itself). */
export function mountSource(candidates: readonly Repository[], target: Repository): Repository | undefined {
  return candidates.find((r) => r.registry === target.registry && r.path !== target.path);
}
