import type { Digest } from '../registry/oci/index.js';
import type { FsState } from './ports.js';

/** What prune needs to know about one cache record. */
export interface PruneCandidate {
  key: Digest;
  result: FsState;
  inputs: Digest[];
  size: number;
  created: number;
  lastUsed: number;
}

/**
 * Which records to remove: `all`, those last used before `until` (epoch ms), then least recently used ones until the
 * cache is down to its size target (pruneTarget). The space options are BuildKit's (buildkitd.toml gcpolicy, buildx
 * prune flags), in bytes (`--keep-storage` is the CLI's older name of `reservedSpace`, as buildx keeps it).
 */
export interface PruneOptions {
  until?: number;
  all?: boolean;
  /** Usage at or below this is never collected. */
  reservedSpace?: number;
  /** Usage above this is collected. */
  maxUsedSpace?: number;
  /** Collect until the filesystem has this much free (needs `freeSpace`), but never below `reservedSpace`. */
  minFreeSpace?: number;
  /** Bytes free on the root's filesystem now, for `minFreeSpace`. */
  freeSpace?: number;
}

/**
 * The records to delete and the snapshots and blobs that nothing kept refers to any more. `keptBlobs`: the layers the
 * kept records still use, so that what was made from a removed layer (its gzip for an image) is removed only when
 * it is not one of them.
 */
export interface PrunePlan { keys: Digest[]; snapshots: string[]; blobs: Digest[]; keptBlobs: Digest[]; reclaimed: number }

/**
 * Plans a prune, least recently used first. Records held by a lease are kept, and so is everything a kept record was
 * built on (its inputs, transitively): a snapshot is the upper layer over its parent's, so the parent must stay.
 * With no option at all every unprotected record goes. Snapshots are listed newest first (children before parents).
 * `orphans` are results that a rebuild replaced: whatever of them no kept record uses is returned too.
 */
export function planPrune(records: PruneCandidate[], leased: Set<Digest>, opts: PruneOptions, orphans: FsState[] = []): PrunePlan {
  const byKey = new Map(records.map((r) => [r.key, r]));
  const protectedKeys = closure([...leased], byKey);
  const order = lruOrder(records, byKey);
  let total = records.reduce((sum, r) => sum + r.size, 0);
  const target = pruneTarget(total, opts);
  const selectsAll = opts.all === true || (opts.until === undefined && target === undefined);
  const remove = new Set<Digest>();
  for (const { record, lastUsed } of order) {
    if (protectedKeys.has(record.key)) continue;
    const old = opts.until !== undefined && lastUsed < opts.until;
    const overBudget = target !== undefined && total > target;
    if (selectsAll || old || overBudget) {
      remove.add(record.key);
      total -= record.size;
    }
  }
  // A guard as much as a rule: whatever a kept record stands on stays.
  const keep = closure(records.filter((r) => !remove.has(r.key)).map((r) => r.key), byKey);
  const removed = order.map((o) => o.record).filter((r) => remove.has(r.key) && !keep.has(r.key));
  const keptSnapshots = new Set<string>();
  const keptBlobs = new Set<Digest>();
  for (const key of keep) {
    const r = byKey.get(key);
    if (r === undefined) continue;
    if (r.result.snapshot !== null) keptSnapshots.add(r.result.snapshot);
    for (const layer of r.result.layers) keptBlobs.add(layer.descriptor.digest);
  }
  const snapshots = new Set<string>();
  const blobs = new Set<Digest>();
  for (const result of [...removed.map((r) => r.result), ...orphans]) {
    if (result.snapshot !== null && !keptSnapshots.has(result.snapshot)) snapshots.add(result.snapshot);
    for (const layer of result.layers) if (!keptBlobs.has(layer.descriptor.digest)) blobs.add(layer.descriptor.digest);
  }
  return {
    keys: removed.map((r) => r.key),
    snapshots: [...snapshots],
    blobs: [...blobs],
    keptBlobs: [...keptBlobs],
    reclaimed: removed.reduce((sum, r) => sum + r.size, 0),
  };
}

/**
 * The size the cache must shrink to, or undefined when no space option is set. With only `reservedSpace` that is
 * the reserve itself (prune keeps at most that much, as `--keep-storage` always did); with
 * `maxUsedSpace` and/or `minFreeSpace` it is the lower of the two limits, never below the reserve, and a cache within
 * its limits gets the target `total` (nothing to do). BuildKit's cache manager computes it the same way.
 */
export function pruneTarget(total: number, opts: PruneOptions): number | undefined {
  if (opts.maxUsedSpace === undefined && opts.minFreeSpace === undefined) return opts.reservedSpace;
  let limit = total;
  if (opts.maxUsedSpace !== undefined) limit = Math.min(limit, opts.maxUsedSpace);
  if (opts.minFreeSpace !== undefined && opts.freeSpace !== undefined) limit = Math.min(limit, total - Math.max(0, opts.minFreeSpace - opts.freeSpace));
  return Math.min(total, Math.max(opts.reservedSpace ?? 0, limit));
}

/** `keys` and every record they were built on, transitively. */
function closure(keys: Digest[], byKey: Map<Digest, PruneCandidate>): Set<Digest> {
  const out = new Set<Digest>();
  const stack = [...keys];
  for (let key = stack.pop(); key !== undefined; key = stack.pop()) {
    if (out.has(key)) continue;
    out.add(key);
    for (const input of byKey.get(key)?.inputs ?? []) stack.push(input);
  }
  return out;
}

/**
 * Records least recently used first, where a record counts as used whenever anything built on it was: so children
 * always come before their parents and a parent is never chosen while a child stays. Ties: deeper records first.
 */
function lruOrder(records: PruneCandidate[], byKey: Map<Digest, PruneCandidate>): { record: PruneCandidate; lastUsed: number }[] {
  const used = new Map<Digest, number>();
  const depth = new Map<Digest, number>();
  const depthOf = (key: Digest, seen: Set<Digest>): number => {
    const known = depth.get(key);
    if (known !== undefined) return known;
    if (seen.has(key)) return 0; // a cycle cannot happen with content keys; do not loop if the data is corrupt
    seen.add(key);
    const inputs = byKey.get(key)?.inputs.filter((i) => byKey.has(i)) ?? [];
    const d = inputs.length === 0 ? 0 : 1 + Math.max(...inputs.map((i) => depthOf(i, seen)));
    depth.set(key, d);
    return d;
  };
  for (const r of records) depthOf(r.key, new Set());
  // Deepest first, so a record's use reaches its inputs after its own dependents' uses reached it.
  for (const r of [...records].sort((a, b) => (depth.get(b.key) ?? 0) - (depth.get(a.key) ?? 0))) {
    const mine = Math.max(r.lastUsed, used.get(r.key) ?? 0);
    used.set(r.key, mine);
    for (const input of r.inputs) if (byKey.has(input)) used.set(input, Math.max(used.get(input) ?? 0, mine));
  }
  return records
    .map((record) => ({ record, lastUsed: used.get(record.key) ?? record.lastUsed }))
    .sort((a, b) => a.lastUsed - b.lastUsed || (depth.get(b.record.key) ?? 0) - (depth.get(a.record.key) ?? 0));
}
