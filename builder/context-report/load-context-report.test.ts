import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { expect } from 'chai';
import { BuildHistory, type BuildRecord } from '../../solver/index.js';
import { contextBriefOf, contextHistory, currentSnapshot } from './load-context-report.js';
import type { KeyedBuildRecord } from '../explain/key-manifest.js';

describe('contextHistory', () => {
  let root: string;
  let history: BuildHistory;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'tsbuild-ctx-history-'));
    history = BuildHistory.open(root);
  });
  afterEach(() => {
    history.close();
    rmSync(root, { recursive: true, force: true });
  });

  const key = `sha256:${'a'.repeat(64)}` as const;
  const build = (id: string, started: number, files: Record<string, string>, ms?: number): BuildRecord => {
    const record: KeyedBuildRecord = {
      id, started, finished: started, status: 'succeeded', dockerfile: '/ctx/Dockerfile', args: {}, tags: [],
      vertices: ms === undefined ? [] : [{ id: 'v', text: 'RUN x', key, cached: false, reasons: [], started, finished: started + ms, durationMs: ms, size: 0, location: { line: 3, column: 1 } } as unknown as BuildRecord['vertices'][number]],
      keyManifest: [{ vertex: 'v', locator: 'Dockerfile/0/1', key, parts: { v: 1, op: 'copy', opText: 'COPY . .', inputs: [], content: {}, args: {}, platform: 'linux/amd64' } as never, files: { context: files as never } }],
    };
    return record;
  };
  const record = (b: BuildRecord, brief = true): void => history.recordBuild(b, brief ? contextBriefOf(currentSnapshot(b)) : undefined);
  const churnOf = (snaps: ReturnType<typeof contextHistory>): Record<string, number> => {
    const out: Record<string, number> = {};
    for (let i = 1; i < snaps.length; i++) {
      const [a, b] = [snaps[i - 1]?.files ?? new Map(), snaps[i]?.files ?? new Map()];
      for (const p of new Set([...a.keys(), ...b.keys()])) if (a.get(p) !== b.get(p)) out[p] = (out[p] ?? 0) + 1;
    }
    return out;
  };

  it('reads the same files and durations from briefs as from whole records, old records without a brief too', () => {
    record(build('b0', 0, { 'a.txt': 'd1', 'b.txt': 'e1' }, 40), false);   // recorded before briefs existed
    record(build('b1', 1, { 'a.txt': 'd1', 'b.txt': 'e1' }));
    record(build('b2', 2, { 'a.txt': 'd2', 'b.txt': 'e1' }, 25));
    record(build('b3', 3, { 'a.txt': 'd2' }));
    const snaps = contextHistory(history, '/ctx/Dockerfile');
    expect(snaps.map((s) => s.durations[3])).to.deep.equal([40, undefined, 25, undefined]);
    expect(snaps[0]?.filesDigest).to.equal(undefined);
    expect(snaps[1]?.filesDigest).to.be.a('string');
    expect(churnOf(snaps)).to.deep.equal({ 'a.txt': 1, 'b.txt': 1 });
    expect([...(snaps[3]?.files ?? [])]).to.deep.equal([['a.txt', 'd2']]);
  });

  it('reads no whole record for builds whose context files did not change (a run of no-op builds)', () => {
    for (let i = 0; i < 5; i++) record(build(`b${i}`, i, { 'a.txt': 'd1', 'b.txt': 'e1' }));
    const reads: string[] = [];
    const getBuild = history.getBuild.bind(history);
    history.getBuild = (id: string) => { reads.push(id); return getBuild(id); };
    const snaps = contextHistory(history, '/ctx/Dockerfile');
    expect(new Set(snaps.map((s) => s.filesDigest)).size).to.equal(1);
    expect(reads).to.deep.equal([]);
  });

  it('stores the brief beside the record (an additive column: a history made before it gains it on open)', () => {
    record(build('b0', 0, { 'a.txt': 'd1' }));
    history.close();
    const db = new DatabaseSync(join(root, 'cache.db'));
    const row = db.prepare('SELECT brief FROM builds WHERE id = ?').get('b0');
    db.close();
    history = BuildHistory.open(root);
    expect(JSON.parse(String(row?.['brief']))).to.include({ v: 1 });
  });
});
