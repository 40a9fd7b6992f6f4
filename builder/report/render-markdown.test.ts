import { expect } from 'chai';
import { buildReport } from './model.js';
import { renderMarkdown, renderTrendsMarkdown } from './render-markdown.js';
import { buildTrends } from './trends.js';
import type { ContextReport } from '../context-report/context-report.js';
import { changed, parent, recordOf } from './testing/record-of.js';

describe('renderMarkdown', () => {
  const report = buildReport(recordOf([
    { line: 'FROM node:22' },
    { line: 'WORKDIR /app' },
    { line: 'COPY . .', reasons: [changed('src/index.js')], ms: 30, size: 2048 },
    { line: 'RUN npm ci', reasons: [parent('s0.2')], ms: 3000, size: 10_000_000 },
    { line: 'LABEL note="a|b <script>alert(1)</script>"', reasons: [parent('s0.3')], ms: 1 },
  ]));
  const md = renderMarkdown(report);

  it('opens with a summary line and table', () => {
    expect(md.split('\n')[0]).to.equal('## ✅ tsbuild: succeeded in 3.0 s, 2/5 steps cached');
    expect(md).to.contain('| Cache | 2 cached, 3 missed (3.0 s in missed steps) |');
    expect(md).to.contain('| Image | `localhost:5000/app:1` |');
  });

  it('lists every step with ✅ or ❌ and why it ran', () => {
    const rows = md.split('\n').filter((l) => /^\| (✅|❌) \|/.test(l));
    expect(rows).to.have.length(5);
    expect(rows[0]).to.equal('| ✅ | #1 `Dockerfile:1` | `FROM node:22` | 0 ms |  | cached |');
    expect(rows[2]).to.equal('| ❌ | #3 `Dockerfile:3` | `COPY . .` | 30 ms | 2.0 kB | files changed in context: src/index.js (changed) |');
    expect(rows[3]).to.contain('| ❌ | #4 `Dockerfile:4` | `RUN npm ci` | 3.0 s | 9.5 MB | parent step #3 missed |');
  });

  it('keeps user text from breaking the table or injecting HTML', () => {
    const row = md.split('\n').find((l) => l.includes('LABEL')) ?? '';
    expect(row).to.contain('`LABEL note="a\\|b <script>alert(1)</script>"`');   // inside a code span: shown literally
    expect(row.split(/(?<!\\)\|/)).to.have.length(8);
  });

  it('ends with the advice and its before/after snippets in dockerfile blocks', () => {
    const advice = md.slice(md.indexOf('### Advice'));
    expect(advice).to.contain('#### ⚠️ Copy dependency manifests before installing (saves ~3.0 s)');
    expect(advice).to.contain('```dockerfile\nCOPY . .\nRUN npm ci\n```');
    expect(advice).to.contain('```dockerfile\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\n```');
  });

  it('has no advice section for a fully cached build', () => {
    expect(renderMarkdown(buildReport(recordOf([{ line: 'FROM node:22' }])))).not.to.contain('Advice');
  });

  it('says which hits came from a remote cache, and from which one', () => {
    const { record } = recordOf([{ line: 'FROM node:22' }, { line: 'RUN npm ci' }]);
    const second = record.vertices[1];
    if (!second) throw new Error('recordOf made no second step');
    record.vertices[1] = { ...second, cacheSource: 'remote', cacheRef: 'registry.example/app:cache' };
    const remote = buildReport({ record });
    expect(remote.steps[1]?.cacheRef).to.equal('registry.example/app:cache');
    expect(remote.steps[0]?.cacheRef).to.equal(undefined);
    expect(renderMarkdown(remote)).to.contain('cached (remote cache registry.example/app:cache)');
  });

  it('marks the step that failed the build with its error', () => {
    const { record } = recordOf([{ line: 'FROM node:22' }, { line: 'RUN make', reasons: [parent('s0.0')] }]);
    const last = record.vertices[1];
    if (!last) throw new Error('recordOf made no second step');
    record.vertices[1] = { ...last, error: 'Dockerfile:2: process "/bin/sh -c make" did not complete successfully: exit code: 2' };
    const md = renderMarkdown(buildReport({ record: { ...record, status: 'failed' } }));
    const row = md.split('\n').find((l) => l.includes('RUN make')) ?? '';
    expect(row).to.match(/^\| 💥 \| #2 /);
    expect(row).to.contain('**failed:** Dockerfile:2: process "/bin/sh -c make" did not complete successfully: exit code: 2<br>');
  });

  it('has a Build context section: bytes and files per top-level entry, and the .dockerignore suggestions', () => {
    const context: ContextReport = {
      sent: { files: 12, bytes: 5_000_000 }, excluded: { files: 3, bytes: 300, parts: [] },
      parts: [
        { path: 'node_modules/', files: 9, bytes: 4_900_000, readBy: ['Dockerfile:3'] },
        { path: 'src/', files: 2, bytes: 99_000, readBy: ['Dockerfile:3'] },
        { path: 'a|b.txt', files: 1, bytes: 1000, readBy: [] },
      ],
      largest: [], copies: [], builds: 1,
      suggestions: [{ pattern: 'node_modules', files: 9, bytes: 4_900_000, sweptBy: ['Dockerfile:3'] }],
    };
    const md = renderMarkdown({ ...report, context });
    const section = md.slice(md.indexOf('### Build context'));
    expect(section).to.contain('Sent 12 files, 4.8 MB; .dockerignore kept out 3 files, 300 B.');
    expect(section).to.contain('| `node_modules/` | 9 | 4.7 MB | `Dockerfile:3` |');
    expect(section).to.contain('| `a\\|b.txt` | 1 | 1.0 kB | no COPY |');
    expect(section).to.contain('- 💡 add `node_modules` to `.dockerignore`: 9 files, 4.7 MB that no COPY names; only `Dockerfile:3` sweeps it in');
    expect(renderMarkdown(report)).not.to.contain('### Build context');
  });
});

describe('renderTrendsMarkdown', () => {
  const a = recordOf([{ line: 'FROM node:22' }, { line: 'COPY . .', reasons: [changed('src/a.ts')], ms: 40 }, { line: 'RUN npm ci', reasons: [parent('s0.1')], ms: 3000 }]).record;
  const b = recordOf([{ line: 'FROM node:22' }, { line: 'COPY . .' }, { line: 'RUN npm ci' }]).record;
  const md = renderTrendsMarkdown(buildTrends([{ ...a, id: 'first-build-id' }, { ...b, id: 'second-build-id' }]));

  it('has one row per build and one per step that missed, with its history and usual reasons', () => {
    expect(md.split('\n')[0]).to.equal('## tsbuild: cache trends over 2 builds of `/src/app/Dockerfile`');
    expect(md).to.contain('| `first-build-` | 2023-11-14T22:13:20.000Z | succeeded | 1/3 | 33% | 3.0 s |');
    expect(md).to.contain('| `second-build` | 2023-11-14T22:13:20.000Z | succeeded | 3/3 | 100% | 0 ms |');
    const run = md.split('\n').find((l) => l.startsWith('| `Dockerfile:3`')) ?? '';
    expect(run).to.match(/^\| `Dockerfile:3` \| `RUN npm ci` \| ❌✅ \| 50% \| 1 \| 3\.0 s \| 1× parent step missed/);
    expect(md).not.to.contain('`Dockerfile:1`');   // FROM always hit
  });
});
