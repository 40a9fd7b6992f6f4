import { statfsSync } from 'node:fs';
import { pruneTarget } from '../solver/index.js';
import type { PruneOptions, PrunePlan } from '../solver/index.js';
import type { Digest } from '../registry/oci/index.js';
import { UserError } from '../common/index.js';
import { formatSize, parseSize } from './options/units.js';
import type { Root } from './commands/root.js';
import type { ProgressWriter } from './progress/index.js';
import { SnapshotHasChildrenError, type LinuxWorker } from '../worker/index.js';

/** An amount of disk space as BuildKit writes it: bytes, or a percentage of the root's filesystem. */
export type DiskSpace = { bytes: number } | { percent: number };

/** BuildKit's gc space settings (buildkitd.toml `reservedSpace`, `maxUsedSpace`, `minFreeSpace`); unset ones do not apply. */
export interface GcPolicy { reservedSpace?: DiskSpace; maxUsedSpace?: DiskSpace; minFreeSpace?: DiskSpace }

/**
 * The policy when none is configured, BuildKit's default cap (DefaultGCPolicy, also in moby's builder-next): keep
 * at least 10% of the filesystem's size, use at most 80% of it, and collect while less than 20% of it is free, but
 * never below the 10%. On a 250 GB disk that is: a cache under 25 GB is never touched; above that it is collected when it passes
 * 200 GB or the disk has less than 50 GB free. BuildKit's 60-day rule applies only over budget too, where least
 * recently used first takes the oldest anyway; its 48-hour rule for local sources and cache mounts has no counterpart
 * (tsbuild's records carry no type).
 */
export const DEFAULT_GC_POLICY: GcPolicy = { reservedSpace: { percent: 10 }, maxUsedSpace: { percent: 80 }, minFreeSpace: { percent: 20 } };

const ENV = { reservedSpace: 'TSBUILD_GC_RESERVED_SPACE', maxUsedSpace: 'TSBUILD_GC_MAX_USED_SPACE', minFreeSpace: 'TSBUILD_GC_MIN_FREE_SPACE' } as const;

/**
 * The automatic gc's policy from the environment: `TSBUILD_GC=off` (or 0/false) turns it off (undefined); the three
 * `TSBUILD_GC_*_SPACE` variables set BuildKit's three limits (`10GB`, `512MB`, `15%`). Setting any of them replaces
 * the whole default, as a gcpolicy in buildkitd.toml does.
 */
export function gcPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): GcPolicy | undefined {
  const onOff = env['TSBUILD_GC']?.trim().toLowerCase();
  if (onOff === 'off' || onOff === '0' || onOff === 'false') return undefined;
  if (onOff !== undefined && onOff !== '' && onOff !== 'on' && onOff !== '1' && onOff !== 'true') {
    throw new UserError('INVALID_ARGUMENT', `TSBUILD_GC=${JSON.stringify(env['TSBUILD_GC'])} is neither on nor off`, 'use TSBUILD_GC=off to turn automatic gc off, or unset it');
  }
  const policy: GcPolicy = {};
  for (const [field, name] of Object.entries(ENV) as [keyof GcPolicy, string][]) {
    const text = env[name];
    if (text !== undefined && text.trim() !== '') policy[field] = parseDiskSpace(text, name);
  }
  return Object.keys(policy).length > 0 ? policy : DEFAULT_GC_POLICY;
}

/** Parses `10GB`, `512MB`, a byte count or `15%` (of the root's filesystem). `what` names the setting in errors. */
export function parseDiskSpace(text: string, what: string): DiskSpace {
  const pct = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(text);
  if (pct?.[1] !== undefined) {
    const percent = Number(pct[1]);
    if (percent > 100) throw new UserError('INVALID_ARGUMENT', `${what}: ${text} is more than the whole filesystem`, 'give a percentage up to 100%');
    return { percent };
  }
  try {
    return { bytes: parseSize(text) };
  } catch (err) {
    throw new UserError('INVALID_ARGUMENT', `${what}: invalid size ${JSON.stringify(text)}`, 'e.g. 10GB, 512MB or 15% (of the filesystem the root is on)', { cause: err });
  }
}

/**
 * The planner's options for `policy` on the filesystem holding `dir`: percentages become bytes and, for
 * `minFreeSpace`, the free bytes now. statfs(2) is asked only when the policy needs it.
 */
export function pruneSpaceOptions(policy: GcPolicy, dir: string): PruneOptions {
  const needsFs = Object.values(policy).some((s: DiskSpace | undefined) => s !== undefined && 'percent' in s) || policy.minFreeSpace !== undefined;
  const fs = needsFs ? statfsSync(dir) : undefined;
  const size = fs ? fs.blocks * fs.bsize : 0;
  const bytes = (s: DiskSpace): number => ('bytes' in s ? s.bytes : Math.floor((size * s.percent) / 100));
  return {
    ...(policy.reservedSpace ? { reservedSpace: bytes(policy.reservedSpace) } : {}),
    ...(policy.maxUsedSpace ? { maxUsedSpace: bytes(policy.maxUsedSpace) } : {}),
    ...(policy.minFreeSpace ? { minFreeSpace: bytes(policy.minFreeSpace) } : {}),
    ...(fs ? { freeSpace: fs.bavail * fs.bsize } : {}),
  };
}

/**
 * Prunes the root with `opts`, the one implementation behind `tsbuild prune` and the automatic gc: the cache index
 * plans and drops the records (solver/prune-plan.ts), then their snapshots (children first) and blobs go through the
 * worker, which only ever removes by name inside the root. A removed layer's variants (its gzip for an image, a
 * cache export's re-encoding) go too unless a kept record uses them; their bytes are added to `reclaimed`, which
 * otherwise counts what the records accounted for. The caller holds the root lock exclusive.
 */
export async function pruneRoot(root: Root, opts: PruneOptions): Promise<PrunePlan> {
  const cache = await root.cache();
  const worker = await root.worker();
  const plan = cache.prune(opts);
  await removeSnapshots(worker, plan.snapshots);
  const kept = new Set(plan.keptBlobs);
  const variants = new Map<Digest, number>();
  for (const digest of plan.blobs) {
    for (const v of await worker.store.dropVariants(digest)) if (!kept.has(v.digest)) variants.set(v.digest, v.size);
    await worker.store.delete(digest);
  }
  let variantBytes = 0;
  for (const [digest, size] of variants) {
    if (!(await worker.store.has(digest))) continue;
    await worker.store.delete(digest);
    variantBytes += size;
  }
  return { ...plan, blobs: [...plan.blobs, ...variants.keys()], reclaimed: plan.reclaimed + variantBytes };
}

/**
 * Removes snapshots no record needs any more. The plan lists children before parents, yet a result a rebuild replaced
 * (two builds of one step at once: the loser's snapshot) can stand on a parent listed before it, and a snapshot is
 * never removed under one built on it: so whatever has a child left is tried again after the others, until a round
 * removes nothing. The records are gone already, so a snapshot left here would be on disk with nothing to find it:
 * the ones still standing under a kept snapshot are named in the error.
 */
async function removeSnapshots(worker: LinuxWorker, names: readonly string[]): Promise<void> {
  let pending = [...names];
  while (pending.length > 0) {
    const blocked: string[] = [];
    for (const name of pending) {
      try {
        await worker.removeSnapshot(name);
      } catch (err) {
        if (!(err instanceof SnapshotHasChildrenError)) throw err;
        blocked.push(name);
      }
    }
    if (blocked.length === pending.length) throw new Error(`prune: snapshots ${blocked.join(', ')} still have children that no record lists`);
    pending = blocked;
  }
}

/**
 * The automatic gc at the end of a build (BuildKit's daemon runs its gc after builds too). Under budget it costs one
 * aggregate query (and a statfs when the policy has percentages). Over budget it trades the build's shared root lock
 * for the exclusive one that prune takes, without waiting: when other builds hold the root it leaves the work to the
 * next build that finishes alone. The build's own records stay: its lease is still held (the caller releases it
 * after this), and leases are what the planner keeps. Never throws: a gc problem is a note, not a failed build.
 */
export async function gcAfterBuild(root: Root, progress: ProgressWriter, signal: AbortSignal, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (signal.aborted) return;
  try {
    const policy = gcPolicyFromEnv(env);
    if (!policy) return;
    const cache = await root.cache();
    const total = cache.totalSize();
    if (total === 0) return;
    const opts = pruneSpaceOptions(policy, root.dir);
    const target = pruneTarget(total, opts);
    if (target === undefined || total <= target) return;
    await collect(root, progress, opts, total, target);
  } catch (err) {
    progress.note(`gc failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function collect(root: Root, progress: ProgressWriter, opts: PruneOptions, total: number, target: number): Promise<void> {
  const started = Date.now();
  await root.unlock();
  let plan: PrunePlan | undefined;
  try {
    if (await root.tryLock('exclusive')) {
      // Planned again under the lock: another build may have added or collected since the check.
      plan = await pruneRoot(root, opts);
    }
  } finally {
    // Back to shared for what the build still does (reports, outputs read): as it was before, whatever happened.
    await root.unlock();
    await root.lock('shared', () => progress.note(`waiting for a prune of ${root.dir} to finish`));
  }
  const budget = `cache ${formatSize(total)}, target ${formatSize(target)}`;
  if (!plan) {
    progress.note(`gc: ${budget}; other builds are using ${root.dir}, the next build to finish alone collects`);
    return;
  }
  progress.note(`gc: freed ${formatSize(plan.reclaimed)} (${plan.keys.length} records, ${plan.snapshots.length} snapshots, ${plan.blobs.length} blobs) in ${Date.now() - started}ms; ${budget}`);
}
