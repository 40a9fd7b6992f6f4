import { formatRepository, parseReference, type Descriptor, type Digest, type RegistryClient, type Repository } from '../registry/index.js';
import { mountSource, RepositoryTarget } from './content/index.js';

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

/** `build --push --dry-run`: per target, per blob, what a push would send. */
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
  client: RegistryClient, target: string, blobs: { config: Descriptor; layers: Descriptor[] }, candidates: string[], signal?: AbortSignal,
): Promise<PushPlan> {
  const repo = new RepositoryTarget(client, parseReference(target));
  // Every repository of the target's registry but the target (the one same-registry guard), each asked once.
  const others: Repository[] = [];
  for (const c of candidates) {
    const r = mountSource([parseReference(c)], repo.repository);
    if (r && !others.some((o) => o.path === r.path)) others.push(r);
  }
  const planned: PlannedBlob[] = [];
  const all: [Descriptor, PlannedBlob['what']][] = [[blobs.config, 'config'], ...blobs.layers.map((l): [Descriptor, PlannedBlob['what']] => [l, 'layer'])];
  for (const [desc, what] of all) {
    if (planned.some((p) => p.digest === desc.digest)) continue;
    const base = { digest: desc.digest, size: desc.size, what };
    if (await repo.has(desc, signal)) { planned.push({ ...base, action: 'exists' }); continue; }
    let from: Repository | undefined;
    for (const o of others) if (from === undefined && (await new RepositoryTarget(client, o).has(desc, signal))) from = o;
    planned.push(from ? { ...base, action: 'mount', from: formatRepository(from) } : { ...base, action: 'upload' });
  }
  const count = (a: BlobAction) => planned.filter((p) => p.action === a).length;
  return {
    target, blobs: planned,
    totals: { exists: count('exists'), mount: count('mount'), upload: count('upload'), uploadBytes: planned.filter((p) => p.action === 'upload').reduce((n, p) => n + p.size, 0) },
  };
}

/** The plan as text: one line per blob, then the totals. */
export function renderPushPlan(plan: PushPlan): string {
  const lines = [`push plan for ${plan.target} (dry run: nothing sent):`];
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
