import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contextReport } from './context-report.js';
import { renderContextText } from './render-context.js';
import { scanContext } from './scan-context.js';
import type { ContextFile } from './scan-context.js';

describe('contextReport readers', () => {
  const files: ContextFile[] = ['src/a.ts', 'src/lib/b.ts', 'srcx/c.ts', 'static/p.html', 'README.md'].map((path) => ({ path, bytes: 10, isExcluded: false }));
  const readBy = (dockerfile: string): Record<string, string[]> =>
    Object.fromEntries(contextReport({ files, unscanned: [] }, dockerfile, '/ctx/Dockerfile', []).parts.map((p) => [p.path, p.readBy]));

  it('a plain source reads itself and what is below it, not a sibling that shares its prefix', () => {
    expect(readBy('FROM scratch\nCOPY ./src/ /app/src/\n')).to.deep.equal({ 'src/': ['Dockerfile:2'], 'srcx/': [], 'static/': [], 'README.md': [] });
  });

  it('a glob source matches a path or any of its parent directories', () => {
    expect(readBy('FROM scratch\nCOPY sr* /app/\nCOPY *.md /\n')).to.deep.equal({ 'src/': ['Dockerfile:2'], 'srcx/': ['Dockerfile:2'], 'static/': [], 'README.md': ['Dockerfile:3'] });
  });

  it('counts each file\'s changes across recorded builds: edited, added, removed, whatever its name', () => {
    const snap = (files: Record<string, string>): { files: ReadonlyMap<string, string>; durations: Record<number, number> } => ({ files: new Map(Object.entries(files)), durations: {} });
    const history = [snap({ 'src/a.ts': 'd1', 'src/gone.ts': 'g' }), snap({ 'src/a.ts': 'd2' }), snap({ 'src/a.ts': 'd3', constructor: 'c' })];
    const copy = contextReport({ files, unscanned: [] }, 'FROM scratch\nCOPY . /app/\n', '/ctx/Dockerfile', history).copies[0];
    expect(copy?.churn).to.deep.equal([{ path: 'src/a.ts', changes: 2 }]);   // only files the COPY reads now
    const all = contextReport({ files: [...files, { path: 'constructor', bytes: 1, isExcluded: false }, { path: 'src/gone.ts', bytes: 1, isExcluded: false }], unscanned: [] }, 'FROM scratch\nCOPY . /app/\n', '/ctx/Dockerfile', history).copies[0];
    expect(all?.churn).to.deep.equal([{ path: 'src/a.ts', changes: 2 }, { path: 'constructor', changes: 1 }, { path: 'src/gone.ts', changes: 1 }]);
  });

  it('COPY . reads everything', () => {
    const parts = contextReport({ files, unscanned: [] }, 'FROM scratch\nCOPY . /app/\n', '/ctx/Dockerfile', []).parts;
    expect(parts.every((p) => p.readBy.includes('Dockerfile:2'))).to.equal(true);
  });

  it('a source that climbs above the context reads the context path it is cleaned to, as the COPY does', () => {
    expect(readBy('FROM scratch\nCOPY ../README.md sub/../../src /app/\n')).to.deep.equal({ 'src/': ['Dockerfile:2'], 'srcx/': [], 'static/': [], 'README.md': ['Dockerfile:2'] });
    const report = contextReport({ files, unscanned: [] }, 'FROM scratch\nCOPY ../ /app/\n', '/ctx/Dockerfile', []);
    expect(report.copies[0]?.isBroad).to.equal(true);
  });
});

describe('scanContext', () => {
  it('does not walk a directory .dockerignore excludes whole (a build\'s report), names it, and walks it for tsbuild context', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsbuild-scan-'));
    try {
      mkdirSync(join(dir, 'node_modules/p'), { recursive: true });
      mkdirSync(join(dir, 'docs'), { recursive: true });
      writeFileSync(join(dir, 'node_modules/p/x.js'), 'xx');
      writeFileSync(join(dir, 'docs/a.md'), 'a');
      writeFileSync(join(dir, 'docs/README.md'), 'r');
      writeFileSync(join(dir, 'main.ts'), 'm');
      const excludes = ['node_modules', '**/*.md', '!docs/README.md'];
      const fast = scanContext(dir, excludes);
      expect(fast.unscanned).to.deep.equal(['node_modules/']);
      expect(fast.files.map((f) => [f.path, f.isExcluded])).to.deep.equal([['docs/README.md', false], ['docs/a.md', true], ['main.ts', false]]);
      const report = contextReport(fast, 'FROM scratch\nCOPY . /app/\n', join(dir, 'Dockerfile'), []);
      expect(renderContextText(report)).to.contain('.dockerignore excluded 1 files, 1 B and node_modules/ (not walked)').and.to.match(/^  node_modules\/ +\(not walked\)$/m);
      const full = scanContext(dir, excludes, undefined, { scanExcluded: true });
      expect(full.unscanned).to.deep.equal([]);
      expect(full.files.map((f) => f.path)).to.include('node_modules/p/x.js');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
