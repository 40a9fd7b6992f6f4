import { mkdtempSync, rmSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { BuildRecord } from './build-record.js';
import { BuildHistory } from './build-history.js';

describe('BuildHistory', () => {
  let root: string;
  let index: BuildHistory;
  const open = (): BuildHistory => BuildHistory.open(root);
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'tsbuild-history-'));
    index = open();
  });
  afterEach(() => {
    index.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('keeps builds across a reopen', () => {
    const build: BuildRecord = { id: 'build-1', started: 1, finished: 2, status: 'succeeded', args: { A: '1' }, tags: ['r/a:1'], vertices: [] };
    index.recordBuild(build);
    index.close();
    index = open();
    expect(index.getBuild('build-1')).to.deep.equal(build);
    expect(index.getBuild('build')).to.deep.equal(build); // a unique prefix is enough
    expect(index.listBuilds()).to.deep.equal([{ id: 'build-1', started: 1, finished: 2, status: 'succeeded', args: { A: '1' }, tags: ['r/a:1'], steps: 0, cached: 0 }]);
  });

  it('lists builds from their summaries, without the key manifest and context the builder attaches, old rows too', () => {
    const vertex = { cached: true } as unknown as BuildRecord['vertices'][number];
    const big = { id: 'b-new', started: 5, finished: 6, status: 'succeeded', args: {}, tags: [], vertices: [vertex, vertex],
      keyManifest: [{ step: 'x' }], context: { files: 3 } } as BuildRecord;
    index.recordBuild(big);
    // A row written before the summary column existed: listed from its whole record.
    const old: BuildRecord = { id: 'b-old', started: 1, finished: 2, status: 'failed', args: {}, tags: [], vertices: [vertex] };
    index.recordBuild(old);
    index.close();
    const db = new DatabaseSync(join(root, 'cache.db'));
    db.prepare('UPDATE builds SET summary = NULL WHERE id = ?').run('b-old');
    db.close();
    index = open();
    expect(index.listBuilds()).to.deep.equal([
      { id: 'b-new', started: 5, finished: 6, status: 'succeeded', args: {}, tags: [], steps: 2, cached: 2 },
      { id: 'b-old', started: 1, finished: 2, status: 'failed', args: {}, tags: [], steps: 1, cached: 1 },
    ]);
    expect(index.getBuild('b-new')).to.deep.equal(big);
  });

  it('finds the newest builds of one Dockerfile, old rows without a summary too', () => {
    const of = (id: string, started: number, dockerfile: string): BuildRecord => ({ id, started, finished: started, status: 'succeeded', dockerfile, args: {}, tags: [], vertices: [] });
    for (const [i, file] of ['/a/Dockerfile', '/b/Dockerfile', '/a/Dockerfile', '/a/Dockerfile'].entries()) index.recordBuild(of(`b${i}`, i, file));
    index.close();
    const db = new DatabaseSync(join(root, 'cache.db'));
    db.prepare('UPDATE builds SET summary = NULL WHERE id = ?').run('b0');
    db.close();
    index = open();
    expect(index.buildIdsOf('/a/Dockerfile', 10)).to.deep.equal(['b3', 'b2', 'b0']);
    expect(index.buildIdsOf('/a/Dockerfile', 2)).to.deep.equal(['b3', 'b2']);
    expect(index.buildIdsOf('/b/Dockerfile', 10)).to.deep.equal(['b1']);
    expect(index.buildIdsOf('/c/Dockerfile', 10)).to.deep.equal([]);
    expect(index.buildsOf('/a/Dockerfile', 2).map((r) => r.id)).to.deep.equal(['b3', 'b2']);
    expect(index.buildsOf('/a/Dockerfile', 10)[2]).to.deep.equal(of('b0', 0, '/a/Dockerfile'));
    // Answered from the index, not by reading every build's summary.
    const db2 = new DatabaseSync(join(root, 'cache.db'));
    const planOf = (columns: string): string => db2.prepare(`EXPLAIN QUERY PLAN SELECT ${columns} FROM builds WHERE COALESCE(json_extract(summary, '$.dockerfile'), json_extract(record, '$.dockerfile')) = ? ORDER BY started DESC LIMIT ?`)
      .all('/a/Dockerfile', 2).map((row) => String(row['detail'])).join('\n');
    expect(planOf('record')).to.match(/USING INDEX builds_by_dockerfile/);
    // briefsOf's and buildIdsOf's columns are in the index: no row (with its ~40 KB record before the brief) is read.
    expect(planOf('id, brief')).to.match(/USING COVERING INDEX builds_by_dockerfile/);
    expect(planOf('id')).to.match(/USING COVERING INDEX builds_by_dockerfile/);
    // A history made with the older index has only the new one after an open.
    db2.exec(`CREATE INDEX builds_dockerfile ON builds (COALESCE(json_extract(summary, '$.dockerfile'), json_extract(record, '$.dockerfile')), started)`);
    index.close();
    index = open();
    expect(db2.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'builds_%' ORDER BY name").all().map((r) => r['name'])).to.deep.equal(['builds_by_dockerfile']);
    db2.close();
  });

  it('keeps the newest maxEntries records and none older than maxAgeMs, never the one it is recording', () => {
    const of = (id: string, started: number): BuildRecord => ({ id, started, finished: started, status: 'succeeded', args: {}, tags: [], vertices: [] });
    const now = Date.now();
    for (let i = 0; i < 6; i++) index.recordBuild(of(`b${i}`, now - 6000 + i * 1000));
    index.recordBuild(of('b6', now), undefined, { maxEntries: 4 });
    expect(index.listBuilds().map((b) => b.id)).to.deep.equal(['b6', 'b5', 'b4', 'b3']);
    index.recordBuild(of('b7', now + 1), undefined, { maxAgeMs: 2500 });   // b3 started 3 s ago, b4 2 s ago
    expect(index.listBuilds().map((b) => b.id)).to.deep.equal(['b7', 'b6', 'b5', 'b4']);
    // A build that started before the others (it ran beside them) is still kept when it is recorded.
    index.recordBuild(of('early', now - 60_000), undefined, { maxEntries: 2, maxAgeMs: 10_000 });
    expect(index.listBuilds().map((b) => b.id)).to.deep.equal(['b7', 'early']);
    // Both limits lifted: nothing goes.
    index.recordBuild(of('b8', now + 2), undefined, {});
    expect(index.listBuilds().map((b) => b.id)).to.deep.equal(['b8', 'b7', 'early']);
    expect(new DatabaseSync(join(root, 'cache.db'), { readOnly: true }).prepare('SELECT count(*) AS n FROM builds').get()?.['n']).to.equal(3);
  });

  it('refuses a cache.db of another schema version, naming both, and leaves it alone', () => {
    index.close();
    const db = new DatabaseSync(join(root, 'cache.db'));
    db.prepare("UPDATE meta SET value = '99' WHERE name = 'schema'").run();
    db.close();
    expect(() => open()).to.throw().with.property('code', 'INVALID_ARGUMENT');
    const check = new DatabaseSync(join(root, 'cache.db'));
    expect(check.prepare("SELECT value FROM meta WHERE name = 'schema'").get()?.['value']).to.equal('99');
    check.prepare("UPDATE meta SET value = '1' WHERE name = 'schema'").run();
    check.close();
    index = open();
  });
});
