import { expect } from 'chai';
import { cacheKey, type CacheKeyParts } from '../../solver/index.js';
import type { Report, ReportStep } from '../report/index.js';
import { compareBuilds, renderComparison } from './compare-builds.js';
import { stepKeyOf } from './key-manifest.js';

const D = (c: string) => `sha256:${c.repeat(64)}` as const;

function parts(opText: string, inputs: `sha256:${string}`[], content: Record<string, `sha256:${string}`>, args: Record<string, string> = {}): CacheKeyParts {
  return { v: 1, op: JSON.stringify({ kind: 'copy', t: opText }), opText, inputs, content, args, platform: 'linux/amd64' };
}

function report(id: string, steps: { id: string; line: number; text: string; cached: boolean; parts: CacheKeyParts; files?: Record<string, `sha256:${string}`> }[]): Report {
  return {
    schemaVersion: 1,
    build: { id, started: '', finished: '', durationMs: 0, status: 'succeeded', args: {}, tags: [], names: [] },
    totals: { steps: 0, cached: 0, missed: 0, missedMs: 0, newLayerBytes: 0 },
    advice: [],
    steps: steps.map((s, i): ReportStep => ({
      id: s.id, stage: { index: 0 }, keyword: s.text.split(' ')[0] ?? '', instruction: s.text,
      location: { file: 'Dockerfile', line: s.line, endLine: s.line, label: `Dockerfile:${s.line}` },
      cached: s.cached, reasons: [], rootCauses: [], startMs: 0, endMs: 0, durationMs: 0, size: 0,
      key: stepKeyOf(s.id, `Dockerfile#0/${i}`, cacheKey(s.parts), s.files ? { context: s.files } : {}),
    })),
  };
}

describe('compareBuilds', () => {
  const copyThere = parts('COPY a /a', [D('0')], { context: D('1') });
  const copyHere = parts('COPY a /a', [D('0')], { context: D('2') });
  const runOn = (copy: CacheKeyParts, token: string) => parts('RUN make', [cacheKey(copy).digest], {}, { SECRET_TOKEN: token, MODE: 'fast' });

  it('names the changed file with both digests, follows the parent, and never shows a secret-looking value', () => {
    const there = report('there', [
      { id: 's0.1', line: 2, text: 'COPY a /a', cached: true, parts: copyThere, files: { a: D('a') } },
      { id: 's0.2', line: 3, text: 'RUN make', cached: true, parts: runOn(copyThere, 'x') },
    ]);
    const here = report('here', [
      { id: 's0.1', line: 2, text: 'COPY a /a', cached: false, parts: copyHere, files: { a: D('b') } },
      { id: 's0.2', line: 3, text: 'RUN make', cached: false, parts: runOn(copyHere, 'y') },
    ]);
    const c = compareBuilds(here, 'here', there, 'there');
    expect(c.steps.map((s) => [s.location, s.outcome, s.isRootCause])).to.deep.equal([
      ['Dockerfile:2', 'missed here, hit there', true],
      ['Dockerfile:3', 'missed here, hit there', true],   // its secret arg differs too
    ]);
    expect(c.steps[0]?.reasons[0]?.reason).to.deep.include({ kind: 'content', changes: [{ path: 'a', before: D('a'), after: D('b') }] });
    expect(c.steps[1]?.reasons.map((r) => r.reason.kind)).to.deep.equal(['arg', 'parent']);
    const text = renderComparison(c);
    expect(text).to.contain('files differ in context: a sha256:aaaaaaaaaaaa → sha256:bbbbbbbbbbbb');
    expect(text).to.contain('build arg SECRET_TOKEN differs (secret-looking name: values not shown)');
    expect(text).to.contain('parent step differs: COPY a /a');
    expect(JSON.stringify(c)).to.not.contain('redacted:sha256');
  });

  it('counts steps with the same key and outcome as the same, and says when only the cache differed', () => {
    const there = report('there', [{ id: 's0.1', line: 2, text: 'COPY a /a', cached: true, parts: copyThere }]);
    const same = compareBuilds(report('here', [{ id: 's0.1', line: 2, text: 'COPY a /a', cached: true, parts: copyThere }]), 'h', there, 't');
    expect([same.same, same.steps.length]).to.deep.equal([1, 0]);
    const cold = compareBuilds(report('here', [{ id: 's0.1', line: 2, text: 'COPY a /a', cached: false, parts: copyThere }]), 'h', there, 't');
    expect(cold.steps[0]).to.deep.include({ sameKey: true, outcome: 'missed here, hit there', reasons: [] });
    expect(renderComparison(cold)).to.contain('same key on both sides: this root did not have the result');
    expect(cold.unrelated).to.equal(false);
  });

  it('says when the two builds share no instruction: another Dockerfile, paired by position only', () => {
    const there = report('there', [{ id: 's0.1', line: 2, text: 'LABEL version=1', cached: true, parts: parts('LABEL version=1', [D('0')], {}) }]);
    const here = report('here', [{ id: 's0.1', line: 2, text: 'COPY a /a', cached: false, parts: copyHere }]);
    const c = compareBuilds(here, 'h', there, 't');
    expect(c.unrelated).to.equal(true);
    expect(renderComparison(c)).to.contain('note: the two builds have no instruction in common');
  });
});
