import { FileContentStore } from '../worker/index.js';
import {
  hostPlatform, parseImageConfig, parseManifestDocument, parseReference,
  type ImageConfig, type ImageManifest, type Platform,
} from '../registry/index.js';
import { formatSize } from './options/units.js';
import type { Root } from './commands/root.js';

/** One row of `tsbuild history IMAGE`, newest first as docker prints them. */
export interface HistoryRow { createdBy: string; created?: string; size: number; emptyLayer: boolean; comment?: string }

/** Pairs config history entries with the manifest's layers (empty_layer entries have none), newest first. */
export function historyRows(config: ImageConfig, manifest: ImageManifest): HistoryRow[] {
  const rows: HistoryRow[] = [];
  let layer = 0;
  for (const h of config.history ?? []) {
    const empty = h.empty_layer === true;
    const size = empty ? 0 : (manifest.layers[layer++]?.size ?? 0);
    rows.push({ createdBy: h.created_by ?? '', size, emptyLayer: empty, ...(h.created ? { created: h.created } : {}), ...(h.comment ? { comment: h.comment } : {}) });
  }
  return rows.reverse();
}

function ago(iso: string | undefined, now = Date.now()): string {
  if (!iso) return 'N/A';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  const units: [number, string][] = [[86400 * 365, 'year'], [86400 * 30, 'month'], [86400 * 7, 'week'], [86400, 'day'], [3600, 'hour'], [60, 'minute']];
  for (const [n, name] of units) if (s >= n) { const v = Math.floor(s / n); return `${v} ${name}${v > 1 ? 's' : ''} ago`; }
  return `${s} seconds ago`;
}

/** Finds the image locally first (the newest build that tagged it, its documents in the content store), else in its registry. */
async function loadImage(name: string, root: Root, platform: Platform): Promise<{ config: ImageConfig; manifest: ImageManifest; source: string }> {
  const local = (await root.history()).listBuilds().find((b) => b.status === 'succeeded' && b.resultDigest && b.tags.includes(name));
  if (local?.resultDigest) {
    const store = await FileContentStore.open(root.dir);
    if (await store.has(local.resultDigest)) {
      const doc = parseManifestDocument(await store.readAll(local.resultDigest, 4 << 20), undefined, name);
      if (doc.kind === 'manifest') {
        const config = parseImageConfig(await store.readAll(doc.manifest.config.digest, 4 << 20), name);
        return { config, manifest: doc.manifest, source: `build ${local.id}` };
      }
    }
  }
  const image = await (await root.registry()).resolveImage(parseReference(name), platform);
  return { config: image.config, manifest: image.manifest, source: image.ref };
}

/** `tsbuild history IMAGE`: the image's history as `docker history` shows it (sizes are compressed layer sizes). */
export async function printImageHistory(name: string, root: Root, flags: { json?: boolean; noTrunc?: boolean }): Promise<void> {
  const { config, manifest } = await loadImage(name, root, hostPlatform());
  const rows = historyRows(config, manifest);
  if (flags.json) { process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`); return; }
  const width = flags.noTrunc ? Infinity : 60;
  const cut = (s: string) => (s.length > width ? `${s.slice(0, width - 1)}…` : s);
  const lines = [['CREATED', 'CREATED BY', 'SIZE', 'COMMENT']];
  for (const r of rows) lines.push([ago(r.created), cut(r.createdBy), formatSize(r.size), r.comment ?? '']);
  const widths = lines[0]?.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length))) ?? [];
  process.stdout.write(`${lines.map((l) => l.map((c, i) => c.padEnd(widths[i] ?? 0)).join('   ').trimEnd()).join('\n')}\n`);
}
