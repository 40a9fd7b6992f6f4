import { expect } from 'chai';
import { compareBuilds, renderComparison } from '../explain/compare-builds.js';
import { reportShapeError } from './check-report.js';
import { buildReport, type Report } from './model.js';
import { renderHtml } from './render-html.js';
import { renderMarkdown } from './render-markdown.js';
import { renderTerminalSummary } from './render-terminal.js';
import { changed, parent, recordOf } from './testing/record-of.js';

/** A report with every part a foreign one may carry: steps with reasons and keys, advice, the context section. */
function fullReport(): Report {
  const { record, dockerfileText } = recordOf([
    { line: 'FROM node:22' },
    { line: 'COPY . .', reasons: [changed('src/index.js')], ms: 40 },
    { line: 'RUN npm ci', reasons: [parent('s0.1')], ms: 3000 },
  ]);
  const report = buildReport({ record, dockerfileText });
  const step = report.steps[1];
  if (step === undefined) throw new Error('no COPY step');
  step.key = {
    vertex: step.id, locator: 'Dockerfile:0:1', key: `sha256:${'a'.repeat(64)}`,
    parts: { v: 1, op: '{"kind":"copy","sources":["."]}', opText: 'COPY . .', inputs: [`sha256:${'b'.repeat(64)}`], content: { context: `sha256:${'c'.repeat(64)}` }, args: {}, platform: 'linux/amd64' },
    files: { context: { 'src/index.js': `sha256:${'d'.repeat(64)}` } },
  };
  report.context = {
    sent: { files: 2, bytes: 10 }, excluded: { files: 1, bytes: 5, parts: [{ path: 'node_modules/', files: 1, bytes: 5, readBy: [] }] },
    parts: [{ path: 'src/', files: 2, bytes: 10, readBy: ['Dockerfile:2'] }], largest: [{ path: 'src/index.js', bytes: 9 }],
    suggestions: [{ pattern: 'dist', files: 1, bytes: 1, sweptBy: ['Dockerfile:2'] }],
    copies: [{ label: 'Dockerfile:2', line: 2, instruction: 'COPY . .', sources: ['.'], isBroad: true, files: 2, bytes: 10, churn: [{ path: 'src/index.js', changes: 1 }], after: [{ label: 'Dockerfile:3', instruction: 'RUN npm ci' }] }],
    builds: 1,
  };
  return report;
}

/** Every path to a value in `value`, as key lists. */
function paths(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [at];
  const keys: (string | number)[] = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return [at, ...keys.flatMap((k) => paths((value as Record<string | number, unknown>)[k], [...at, k]))];
}

/** `report` (deep-copied) with the value at `path` replaced (or deleted, for `undefined`). */
function mutated(report: Report, path: (string | number)[], to: unknown): unknown {
  const copy = structuredClone(report) as unknown;
  if (path.length === 0) return to;
  let parentValue = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) parentValue = parentValue[k] as Record<string | number, unknown>;
  const last = path[path.length - 1] ?? '';
  if (to === undefined) delete parentValue[last];
  else parentValue[last] = to;
  return copy;
}

describe('reportShapeError: a report someone else wrote, checked before it is rendered or compared', () => {
  it('passes the reports tsbuild writes', () => {
    expect(reportShapeError(fullReport())).to.equal(undefined);
    expect(reportShapeError(JSON.parse(JSON.stringify(fullReport())))).to.equal(undefined);
  });

  it('names the first field that is not as tsbuild writes it', () => {
    const r = fullReport();
    expect(reportShapeError(mutated(r, ['steps', 1, 'reasons'], undefined))).to.equal('steps[1].reasons');
    expect(reportShapeError(mutated(r, ['steps', 1, 'key', 'parts', 'op'], 'not json'))).to.equal('steps[1].key.parts.op');
    expect(reportShapeError(mutated(r, ['steps', 1, 'reasons', 0, 'reason', 'changes', 0, 'path'], 7))).to.equal('steps[1].reasons[0].reason.changes[0].path');
    expect(reportShapeError(mutated(r, ['context', 'copies', 0, 'churn'], null))).to.equal('context.copies[0].churn');
    expect(reportShapeError(mutated(r, ['schemaVersion'], 2))).to.equal('schemaVersion is not 1');
    expect(reportShapeError(null)).to.equal('schemaVersion is not 1');
  });

  it('lets through only what every renderer and explain --against can read: each field removed or given another type', () => {
    const valid = fullReport();
    let passed = 0;
    let refused = 0;
    for (const path of paths(valid)) {
      for (const to of [undefined, null, 'x', 7, [], {}, true]) {
        const r = mutated(valid, path, to);
        if (reportShapeError(r) !== undefined) { refused++; continue; }
        passed++;
        const report = r as Report;
        const where = `${path.join('.')} = ${JSON.stringify(to)}`;
        expect(() => renderMarkdown(report), where).to.not.throw();
        expect(() => renderHtml(report), where).to.not.throw();
        expect(() => renderTerminalSummary(report), where).to.not.throw();
        expect(() => renderComparison(compareBuilds(valid, 'here', report, 'there')), where).to.not.throw();
        expect(() => renderComparison(compareBuilds(report, 'here', valid, 'there')), where).to.not.throw();
      }
    }
    // Both kinds were met: optional fields may go, required ones may not.
    expect(passed).to.be.greaterThan(20);
    expect(refused).to.be.greaterThan(200);
  });
});
