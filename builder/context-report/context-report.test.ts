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

  it('COPY . reads everything', () => {
    const parts = contextReport(files, 'FROM scratch\nCOPY . /app/\n', '/ctx/Dockerfile', []).parts;
    expect(parts.every((p) => p.readBy.includes('Dockerfile:2'))).to.equal(true);
  });
});
