import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { compile } from '../../frontend/compile/compile.js';
import { PlainProgress } from './plain.js';

describe('PlainProgress', () => {
  it('prints a step output line that never ends in 64 KiB pieces instead of holding it, losing nothing', () => {
    const out = new PassThrough();
    const written: string[] = [];
    out.on('data', (c: Buffer) => written.push(c.toString()));
    const p = new PlainProgress(out);
    const data = new TextEncoder().encode('a'.repeat(65_536));
    p.event({ type: 'start', vertex: 'v', text: 'RUN flood', time: 0, reasons: [] });
    for (let i = 0; i < 40; i++) p.event({ type: 'log', vertex: 'v', stream: 'stdout', data, time: 0 });
    p.event({ type: 'done', vertex: 'v', time: 0, durationMs: 1, size: 0 });
    const text = written.join('');
    expect(text.split('\n').filter((l) => l.startsWith('#1 0.000 a')).length).to.be.greaterThan(15);
    expect(text.match(/a/g)?.length).to.equal(40 * 65_536);
  });

  it('names a missed parent as its header showed it: `COPY --from=deps`, not the history text that leaves --from out', async () => {
    const platform = { os: 'linux', architecture: 'amd64' };
    const dockerfile = 'FROM alpine AS deps\nRUN make\nFROM alpine\nCOPY --from=deps --chown=1:1 /out ./\nRUN ls\n';
    const graph = await compile(dockerfile, {
      platform, buildPlatform: platform,
      resolveImage: async (ref) => ({ ref, digest: `sha256:${'b'.repeat(64)}`, config: { ...platform, rootfs: { type: 'layers', diff_ids: [] } } }),
    });
    const copy = graph.vertices.find((v) => v.text.startsWith('COPY'));
    const run = graph.vertices.find((v) => v.text.includes('ls'));
    if (!copy || !run) throw new Error('the graph lacks its COPY or RUN');
    const out = new PassThrough();
    const written: string[] = [];
    out.on('data', (c: Buffer) => written.push(c.toString()));
    const p = new PlainProgress(out);
    p.plan(graph, dockerfile);
    p.event({ type: 'start', vertex: copy.id, text: copy.text, time: 0, reasons: [{ kind: 'new' }] });
    p.event({ type: 'start', vertex: run.id, text: run.text, time: 0, reasons: [{ kind: 'parent', vertex: copy.id, text: copy.text }] });
    expect(written.join('')).to.include('#2 MISS parent step missed: #1 [stage-1 2/3] COPY --from=deps --chown=1:1 /out ./\n');
  });
});
