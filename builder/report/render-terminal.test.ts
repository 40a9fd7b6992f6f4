import { expect } from 'chai';
import { buildReport } from './model.js';
import { renderTerminalSummary } from './render-terminal.js';
import { changed, parent, recordOf } from './testing/record-of.js';

describe('renderTerminalSummary', () => {
  it('names the root cause of a cascade once, with its reason, and the advice', () => {
    const text = renderTerminalSummary(buildReport(recordOf([
      { line: 'FROM node:22' },
      { line: 'WORKDIR /app' },
      { line: 'COPY . .', reasons: [changed('src/index.js')], ms: 30 },
      { line: 'RUN npm ci', reasons: [parent('s0.2')], ms: 3000 },
    ])));
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).to.equal('cache: 2/4 steps cached, 2 missed (3.0s spent in missed steps)');
    expect(lines.filter((l) => l.startsWith('  miss '))).to.deep.equal(['  miss Dockerfile:3 COPY . .']);
    expect(text).to.contain('src/index.js');
    expect(text).to.match(/advice: .*npm ci/);
  });

  it('folds steps built for the first time into one line', () => {
    const text = renderTerminalSummary(buildReport(recordOf([
      { line: 'FROM node:22', reasons: [{ kind: 'new' }] },
      { line: 'RUN make', reasons: [{ kind: 'new' }] },
    ])));
    expect(text).to.contain('2 steps never built before on this root');
    expect(text).to.not.contain('  miss ');
  });

  it('is one line for a fully cached build', () => {
    expect(renderTerminalSummary(buildReport(recordOf([{ line: 'FROM node:22' }])))).to.equal('cache: 1/1 steps cached, 0 missed (0.0s spent in missed steps)\n');
  });
});
