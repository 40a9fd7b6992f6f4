import { formatRepository, parseReference, type Descriptor, type Digest, type RegistryClient, type Repository } from '../registry/index.js';
import { mountSource, RepositoryTarget, type CopyOutcome } from './content/index.js';

/** What a push would do with one blob. */
export type BlobAction = 'exists' | 'mount' | 'upload';

/** One blob of the image and what pushing it would take. */
export interface PlannedBlob {
  digest: Digest;
  size: number;
  what: 'config' | 'layer';
  action: BlobAction;
  /** For `mount`: the repository on the same registry that holds it. */
  from?: string;
}

/** The blobs of one image manifest: its config and its layers. */
export interface ImageBlobs { config: Descriptor; layers: Descriptor[] }

/** `build --push --dry-run` and `push --plan`: per target, per blob, what a push would send. */
export interface PushPlan {
  target: string;
  blobs: PlannedBlob[];
  totals: { exists: number; mount: number; upload: number; uploadBytes: number };
}

/**
 * What pushing an image (its config and layers) to `target` would do, found with HEAD requests only: a blob the
 * target repository has is skipped, one that another repository of the same registry holds (a base image, a cache,
 * an earlier push: `candidates`) would be mounted, the rest uploaded. Nothing is written. The manifest itself is
 * always PUT and is not listed.
 */
export async function planPush(
  client: RegistryClient, target: string, blobs: ImageBlobs | ImageBlobs[], candidates: string[], signal?: AbortSignal,
): Promise<PushPlan> {
  const images = Array.isArray(blobs) ? blobs : [blobs];
  const repo = new RepositoryTarget(client, parseReference(target));
  // Every repository of the target's registry but the target (the one same-registry guard), each asked once.
  const others: Repository[] = [];
  for (const c of candidates) {
    const r = mountSource([parseReference(c)], repo.repository);
    if (r && !others.some((o) => o.path === r.path)) others.push(r);
  }
  const all = images.flatMap((i): [Descriptor, PlannedBlob['what']][] => [[i.config, 'config'], ...i.layers.map((l): [Descriptor, PlannedBlob['what']] => [l, 'layer'])]);
  const unique = all.filter(([desc], i) => all.findIndex(([d]) => d.digest === desc.digest) === i);
  // The blobs are asked about side by side (one round trip for the plan, not one per blob), in plan order.
  const planned = await Promise.all(unique.map(async ([desc, what]): Promise<PlannedBlob> => {
    const base = { digest: desc.digest, size: desc.size, what };
    if (await repo.has(desc, signal)) return { ...base, action: 'exists' };
    let from: Repository | undefined;
    for (const o of others) if (from === undefined && (await new RepositoryTarget(client, o).has(desc, signal))) from = o;
    return from ? { ...base, action: 'mount', from: formatRepository(from) } : { ...base, action: 'upload' };
  }));
  const count = (a: BlobAction) => planned.filter((p) => p.action === a).length;
  return {
    target, blobs: planned,
    totals: { exists: count('exists'), mount: count('mount'), upload: count('upload'), uploadBytes: planned.filter((p) => p.action === 'upload').reduce((n, p) => n + p.size, 0) },
  };
}

/** The plan as text: one line per blob, then the totals. `heading` replaces the dry run's first line. */
export function renderPushPlan(plan: PushPlan, heading = `push plan for ${plan.target} (dry run: nothing sent):`): string {
  const lines = [heading];
  for (const b of plan.blobs) {
    const what = `${b.what.padEnd(6)} ${b.digest.slice(0, 19)}`;
    lines.push(`  ${what}  ${b.action === 'exists' ? 'already in the repository' : b.action === 'mount' ? `mountable from ${b.from ?? ''}` : `${b.size} bytes to upload`}`);
  }
  const t = plan.totals;
  lines.push(`  total: ${t.exists} already there, ${t.mount} mountable, ${t.upload} to upload (${t.uploadBytes} bytes), then the manifest`);
  return `${lines.join('\n')}\n`;
}

/** `build --push --dry-run`: the plan for every name the build would have pushed. */
export async function pushPlans(
  names: string[], image: { configDescriptor: Descriptor; manifest: { layers: Descriptor[] } }, candidates: string[], client: RegistryClient, signal?: AbortSignal,
): Promise<PushPlan[]> {
  const plans: PushPlan[] = [];
  for (const name of names) plans.push(await planPush(client, name, { config: image.configDescriptor, layers: image.manifest.layers }, candidates, signal));
  return plans;
}

/** A blob the push handled otherwise than its plan said, and the likely reason. */
export interface PushDifference {
  digest: Digest;
  what: PlannedBlob['what'];
  size: number;
  planned: BlobAction;
  /** For a planned mount: the repository the plan would have mounted from. */
  from?: string;
  /** What the push did; absent when the push never reached the blob. */
  outcome?: CopyOutcome;
  reason: string;
}

/** A push compared with its plan: per blob what happened, and every blob where that differs from the plan. */
export interface PushComparison {
  target: string;
  /** The canonical reference pushed (`repo@digest`). */
  pushed: string;
  plan: PushPlan;
  outcomes: { digest: Digest; outcome: CopyOutcome }[];
  differences: PushDifference[];
}

const EXPECTED: Record<BlobAction, CopyOutcome> = { exists: 'exists', mount: 'mounted', upload: 'uploaded' };

/** Why a blob the plan expected to `planned` was `outcome` instead (a registry's state moved, or it refused). */
function differenceReason(b: PlannedBlob, outcome: CopyOutcome | undefined): string {
  if (outcome === undefined) return 'the push did not reach it';
  if (b.action === 'mount' && outcome === 'uploaded') return `planned mount from ${b.from ?? '?'}, uploaded instead: the registry refused the mount (the blob left ${b.from ?? 'the source'}, or the registry does not mount across repositories)`;
  if (outcome === 'exists') return `planned ${b.action === 'mount' ? `mount from ${b.from ?? '?'}` : `upload of ${b.size} bytes`}, already there instead: another client pushed it between plan and push`;
  if (b.action === 'exists') return `planned as already in the repository, ${outcome} instead: it was deleted between plan and push`;
  return `planned ${b.action}, ${outcome} instead`;
}

/** Compares what a push did (per blob, from copy's outcomes) with the plan made just before it. */
export function comparePush(plan: PushPlan, outcomes: Map<Digest, CopyOutcome>, pushed: string): PushComparison {
  const differences: PushDifference[] = [];
  for (const b of plan.blobs) {
    const outcome = outcomes.get(b.digest);
    if (outcome === EXPECTED[b.action]) continue;
    differences.push({
      digest: b.digest, what: b.what, size: b.size, planned: b.action, ...(b.from !== undefined ? { from: b.from } : {}),
      ...(outcome !== undefined ? { outcome } : {}), reason: differenceReason(b, outcome),
    });
  }
  return { target: plan.target, pushed, plan, outcomes: [...outcomes].map(([digest, outcome]) => ({ digest, outcome })), differences };
}

/** The comparison as text: one line when the push followed the plan, else one line per difference. */
export function renderPushComparison(c: PushComparison): string {
  const count = (o: CopyOutcome) => c.outcomes.filter((x) => x.outcome === o).length;
  const done = `${count('exists')} already there, ${count('mounted')} mounted, ${count('uploaded')} uploaded`;
  if (c.differences.length === 0) return `pushed ${c.pushed}: the push followed the plan (${done})\n`;
  const lines = [`pushed ${c.pushed}: ${c.differences.length} blob${c.differences.length === 1 ? '' : 's'} differed from the plan (${done}):`];
  for (const d of c.differences) lines.push(`  ${d.what.padEnd(6)} ${d.digest.slice(0, 19)}  ${d.reason}`);
  return `${lines.join('\n')}\n`;
}
