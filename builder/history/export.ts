import { formatPlatformAll, hostPlatform, normalizePlatform } from '../../registry/oci/index.js';
import type { BuildHistory, BuildRecord } from '../../solver/index.js';
import { readLocalState } from '../local-state.js';
import { buildReport, readDockerfileText, redactRecord, renderJson } from '../report/index.js';
import { buildBundle, type BundleRecord } from './export-bundle.js';
import { findBuildRecord } from './ref.js';
import { statusStreamOf } from './status-stream.js';
import { readStoredLogs } from './stored-logs.js';

// `tsbuild history export`: which records go into the bundle, as buildx's runExport (commands/history/export.go)
// picks them, and what each brings (its progress, its local state). The bundle itself: export-bundle.ts.

/**
 * The bundle of the builds `refs` name (ids, unique prefixes, ^N, or buildx's BUILDER/NODE/ID refs; none: the latest
 * build) or of every build ('all'). `refPrefix` is `BUILDER/NODE` of this root's builder: buildx's local state of a
 * build is saved under it.
 */
export async function exportHistory(store: BuildHistory, refs: string[] | 'all', refPrefix: string): Promise<Buffer> {
  const records: BuildRecord[] = [];
  if (refs === 'all') {
    for (const { id } of store.listBuilds(Number.MAX_SAFE_INTEGER)) {
      const record = store.getBuild(id);
      if (record !== undefined) records.push(record);
    }
    // buildx reads the latest record's "no records found" when there is none, as without refs.
    if (records.length === 0) records.push(findBuildRecord(store, undefined));
  } else {
    const seen = new Set<string>();
    for (const ref of refs.length > 0 ? refs : ['']) {
      const record = findBuildRecord(store, ref);
      if (!seen.has(record.id)) records.push(record);
      seen.add(record.id);
    }
  }
  // The builder node's first platform, as buildx names it: this machine's.
  const defaultPlatform = formatPlatformAll(normalizePlatform(hostPlatform()));
  const bundled: BundleRecord[] = [];
  for (const stored of records) {
    const record = redactRecord(stored);   // the bundle leaves the machine: no secret-named arg values
    const logs = store.logsOf(record.id);
    const status = await statusStreamOf(record, logs === undefined ? [] : readStoredLogs(logs, record.id));
    const localState = await readLocalState(`${refPrefix}/${record.id}`);
    // The report a CI job's bundle carries to the machine that asks why its own build missed (read-bundle.ts).
    const dockerfileText = await readDockerfileText(record);
    const report = Buffer.from(renderJson(buildReport({ record, ...(dockerfileText !== undefined ? { dockerfileText } : {}) })));
    bundled.push({ record, status, defaultPlatform, ...(localState !== undefined ? { localState } : {}), report });
  }
  return buildBundle(bundled);
}
