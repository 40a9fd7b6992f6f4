import { expect } from 'chai';
import { areaOf, summarizeCpuProfile } from './cpu-profile.js';

describe('cpu profile summary', () => {
  it('sums self time per function and per area from the samples and their time deltas', () => {
    const profile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
        { id: 2, callFrame: { functionName: 'cacheKey', url: 'file:///p/dist/solver/cache-key.js', lineNumber: 9 } },
        { id: 3, callFrame: { functionName: '', url: 'file:///p/node_modules/undici/lib/x.js', lineNumber: 0 } },
        { id: 4, callFrame: { functionName: '(garbage collector)', url: '', lineNumber: -1 } },
      ],
      samples: [2, 2, 3, 4, 1],
      timeDeltas: [0, 1000, 1000, 2000, 4000],
    };
    const summary = summarizeCpuProfile(profile);
    expect(summary.totalMs).to.equal(8);
    expect(summary.top[0]).to.deep.equal({ where: '(garbage collector)', selfMs: 4, percent: 50 });
    expect(summary.top.find((h) => h.where.startsWith('cacheKey'))).to.deep.equal({ where: 'cacheKey (solver/cache-key.js:10)', selfMs: 2, percent: 25 });
    expect(summary.byArea.map((a) => a.where)).to.have.members(['(garbage collector)', 'solver/', 'npm:undici']);
  });

  it('refuses a document that is not a cpuprofile', () => {
    expect(() => summarizeCpuProfile({ nodes: [] })).to.throw(/cpuprofile/);
  });

  it('names node internals, npm packages and project folders as areas', () => {
    expect(areaOf('node:internal/fs/promises', 'open')).to.equal('node:internal');
    expect(areaOf('file:///p/node_modules/@dagrejs/graphlib/index.js', 'f')).to.equal('npm:@dagrejs/graphlib');
    expect(areaOf('file:///p/dist/worker/layers/export.js', 'f')).to.equal('worker/');
    expect(areaOf('', '(program)')).to.equal('(program)');
  });
});
