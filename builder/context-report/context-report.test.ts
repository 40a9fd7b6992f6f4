import { expect } from 'chai';
import { contextReport } from './context-report.js';
import type { ContextFile } from './scan-context.js';

describe('contextReport readers', () => {
  const files: ContextFile[] = ['src/a.ts', 'src/lib/b.ts', 'srcx/c.ts', 'static/p.html', 'README.md'].map((path) => ({ path, bytes: 10, isExcluded: false }));
  const readBy = (dockerfile: string): Record<string, string[]> =>
    Object.fromEntries(contextReport(files, dockerfile, '/ctx/Dockerfile', []).parts.map((p) => [p.path, p.readBy]));

  it('a plain source reads itself and what is below it, not a sibling that shares its prefix', () => {
    expect(readBy('FROM scratch\nCOPY ./src/ /app/src/\n')).to.deep.equal({ 'src/': ['Dockerfile:2'], 'srcx/': [], 'static/': [], 'README.md': [] });
  });

  it('a glob source matches a path or any of its parent directories', () => {
    expect(readBy('FROM scratch\nCOPY sr* /app/\nCOPY *.md /\n')).to.deep.equal({ 'src/': ['Dockerfile:2'], 'srcx/': ['Dockerfile:2'], 'static/': [], 'README.md': ['Dockerfile:3'] });
  });

  it('counts each file\'s changes across recorded builds: edited, added, removed, whatever its name', () => {
    const snap = (files: Record<string, string>): { files: ReadonlyMap<string, string>; durations: Record<number, number> } => ({ files: new Map(Object.entries(files)), durations: {} });
    const history = [snap({ 'src/a.ts': 'd1', 'src/gone.ts': 'g' }), snap({ 'src/a.ts': 'd2' }), snap({ 'src/a.ts': 'd3', constructor: 'c' })];
    const copy = contextReport(files, 'FROM scratch\nCOPY . /app/\n', '/ctx/Dockerfile', history).copies[0];
    expect(copy?.churn).to.deep.equal([{ path: 'src/a.ts', changes: 2 }]);   // only files the COPY reads now
    const all = contextReport([...files, { path: 'constructor', bytes: 1, isExcluded: false }, { path: 'src/gone.ts', bytes: 1, isExcluded: false }], 'FROM scratch\nCOPY . /app/\n', '/ctx/Dockerfile', history).copies[0];
    expect(all?.churn).to.deep.equal([{ path: 'src/a.ts', changes: 2 }, { path: 'constructor', changes: 1 }, { path: 'src/gone.ts', changes: 1 }]);
  });

  it('COPY . reads everything', () => {
    const parts = contextReport(files, 'FROM scratch\nCOPY . /app/\n', '/ctx/Dockerfile', []).parts;
    expect(parts.every((p) => p.readBy.includes('Dockerfile:2'))).to.equal(true);
  });
});
