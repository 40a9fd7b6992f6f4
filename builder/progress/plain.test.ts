import { expect } from 'chai';
import { PassThrough } from 'node:stream';
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
});
