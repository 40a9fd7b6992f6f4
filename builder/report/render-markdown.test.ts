import { expect } from 'chai';
import { buildReport } from './model.js';
import { renderMarkdown } from './render-markdown.js';
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
});
