import { goHumanDuration, goHumanSize } from '../common/index.js';
import type { DiskUsageEntry } from '../solver/index.js';
import type { CacheMountUsage } from '../worker/index.js';
import type { UsageType } from './options/cache-filter.js';
import { tabWrite } from './tab-writer.js';

// The build cache's records as `docker buildx du` and `docker buildx prune` print BuildKit's (buildx
// commands/diskusage.go: printTableRow, printVerbose, printSummary), so what reads buildx's output reads tsbuild's.
// A tsbuild record is a layer result, never mutable and never shared with an image store: no asterisks. BuildKit's
// "Usage count" is not kept by tsbuild and is left out rather than made up.

/** A row of du's and prune's tables: a cache record (`regular`), or a RUN cache mount (`exec.cachemount`, mutable). */
export interface UsageRow extends DiskUsageEntry { type?: UsageType }

/** A cache mount as a row: its ID is its directory's name (the sha256 of its id), as a record's is its key. */
export function cacheMountRow(m: CacheMountUsage): UsageRow {
  return { key: `sha256:${m.name}`, opText: m.description, size: m.size, created: m.created, lastUsed: m.lastUsed, leased: false, type: 'exec.cachemount' };
}

/** buildx's tabwriter.NewWriter(os.Stdout, 1, 8, 1, '\t', 0). */
const TABLE = { minwidth: 1, tabwidth: 8, padding: 1, padchar: '\t' } as const;

/** A record's ID as wide as BuildKit's (25 characters): the start of its cache key, which `du --verbose` shows whole. */
function recordId(e: UsageRow): string {
  return e.key.slice(e.key.indexOf(':') + 1).slice(0, 25);
}

/** The table: ID, RECLAIMABLE (not held by a running build), SIZE, LAST ACCESSED. Empty for no records. */
export function usageTable(entries: readonly UsageRow[], now = Date.now()): string {
  if (entries.length === 0) return '';
  const rows = entries.map((e) => `${recordId(e).padEnd(40)}\t${String(!e.leased).padEnd(5)}\t${goHumanSize(e.size).padEnd(10)}\t${goHumanDuration(now - e.lastUsed)} ago`);
  return tabWrite(`ID\tRECLAIMABLE\tSIZE\tLAST ACCESSED\n${rows.join('\n')}\n`, TABLE);
}

/** `--verbose`: each record as KEY: value lines, a blank line after each. */
export function usageVerbose(entries: readonly UsageRow[], now = Date.now()): string {
  const kv = (k: string, v: string | boolean): string => `${k}:\t${String(v)}\n`;
  return tabWrite(entries.map((e) => kv('ID', e.key) + kv('Created at', goTime(e.created)) + kv('Mutable', e.type === 'exec.cachemount') + kv('Reclaimable', !e.leased)
    + kv('Shared', false) + kv('Size', goHumanSize(e.size)) + kv('Description', e.opText) + kv('Last used', `${goHumanDuration(now - e.lastUsed)} ago`)
    + kv('Type', e.type ?? 'regular') + '\n').join(''), TABLE);
}

/** What `du` ends with when no filter is given: the reclaimable and total sizes. */
export function usageSummary(entries: readonly UsageRow[]): string {
  const total = entries.reduce((n, e) => n + e.size, 0);
  const reclaimable = entries.reduce((n, e) => n + (e.leased ? 0 : e.size), 0);
  return tabWrite(`Reclaimable:\t${goHumanSize(reclaimable)}\nTotal:\t${goHumanSize(total)}\n`, TABLE);
}

/** What `prune` ends with: the total size of the records it removed. */
export function prunedTotal(bytes: number): string {
  return tabWrite(`Total:\t${goHumanSize(bytes)}\n`, TABLE);
}

/** A time as Go's time.Time prints with %v, in UTC: 2023-11-20 09:53:30.881 +0000 UTC (fraction without trailing zeros). */
function goTime(ms: number): string {
  const iso = new Date(ms).toISOString();   // 2023-11-20T09:53:30.881Z
  const fraction = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ? `.${fraction}` : ''} +0000 UTC`;
}
