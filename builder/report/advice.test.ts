import { expect } from 'chai';
import type { MissReason } from '../../solver/index.js';
import { buildReport } from './model.js';
import { changed, parent, recordOf, type StepSpec } from './testing/record-of.js';

const report = (lines: (StepSpec | string)[], args?: Record<string, string>) => buildReport(recordOf(lines, args ? { args } : {}));

/** FROM, WORKDIR, a broad COPY that changed `files`, an expensive RUN after it, and a CMD. */
function copyThenRun(copy: string, run: string, files: string[], runMs = 3000): (StepSpec | string)[] {
  return [
    { line: 'FROM node:22' },
    { line: 'WORKDIR /app' },
    { line: copy, reasons: [changed(...files)], ms: 40 },
    { line: run, reasons: [parent('s0.2')], ms: runMs },
    { line: 'CMD ["node", "server.js"]', reasons: [parent('s0.3')], ms: 1 },
  ];
}

describe('adviseBuild: reorder a broad COPY before an expensive install', () => {
  const cases: { name: string; copy: string; run: string; files: string[]; before?: string; after?: string; runMs?: number }[] = [
    { name: 'npm ci after COPY . . becomes COPY package*.json ./ first', copy: 'COPY . .', run: 'RUN npm ci', files: ['src/index.js'],
      before: 'COPY . .\nRUN npm ci', after: 'COPY package*.json ./\nRUN npm ci\nCOPY . .' },
    { name: 'pip install after COPY . /app copies requirements*.txt to /app/', copy: 'COPY . /app', run: 'RUN pip install -r requirements.txt', files: ['app/main.py'],
      after: 'COPY requirements*.txt /app/\nRUN pip install -r requirements.txt\nCOPY . /app' },
    { name: 'go mod download after ADD . . copies go.mod and go.sum', copy: 'ADD . .', run: 'RUN go mod download', files: ['cmd/main.go'],
      after: 'COPY go.mod go.sum ./\nRUN go mod download\nADD . .' },
    { name: 'bundle install keeps the COPY flags on the manifest copy', copy: 'COPY --chown=app . .', run: 'RUN bundle install', files: ['app/models/user.rb'],
      after: 'COPY --chown=app Gemfile Gemfile.lock ./\nRUN bundle install\nCOPY --chown=app . .' },
    { name: 'a system package install that needs no context moves above the COPY', copy: 'COPY src/ /app/src/', run: 'RUN apt-get update && apt-get install -y curl', files: ['src/a.c'],
      after: 'RUN apt-get update && apt-get install -y curl\nCOPY src/ /app/src/' },
    // The build after the install reads the sources: it stays after the COPY, in a RUN of its own, its flags kept.
    { name: 'an install chained with a build is split, the build left after the COPY', copy: 'COPY . .', run: 'RUN --mount=type=cache,target=/root/.npm npm ci && npm run build', files: ['src/index.js'],
      after: 'COPY package*.json ./\nRUN --mount=type=cache,target=/root/.npm npm ci\nCOPY . .\nRUN --mount=type=cache,target=/root/.npm npm run build' },
  ];
  for (const c of cases) {
    it(`suggests it when ${c.name}`, () => {
      const r = report(copyThenRun(c.copy, c.run, c.files, c.runMs));
      const advice = r.advice.filter((a) => a.kind === 'reorder-copy');
      expect(advice).to.have.length(1);
      const [a] = advice;
      expect(a?.steps).to.deep.equal(['s0.2', 's0.3']);
      expect(a?.severity).to.equal('warning');
      expect(a?.savedMs).to.equal(c.runMs ?? 3000);
      expect(a?.message).to.contain(c.files[0]);
      if (c.before !== undefined) expect(a?.suggestion.before).to.equal(c.before);
      expect(a?.suggestion.after).to.equal(c.after);
    });
  }

  const none: { name: string; lines: (StepSpec | string)[] }[] = [
    { name: 'the changed file is a manifest the install reads', lines: copyThenRun('COPY . .', 'RUN npm ci', ['package-lock.json', 'src/index.js']) },
    { name: 'other commands come before the install', lines: copyThenRun('COPY . .', 'RUN node gen.js && npm ci', ['src/index.js']) },
    { name: 'the install part names the changed file', lines: copyThenRun('COPY . .', 'RUN cp src/index.js /tmp/ && npm ci', ['src/index.js']) },
    { name: 'the RUN after the COPY is cheap', lines: copyThenRun('COPY . .', 'RUN npm ci', ['src/index.js'], 50).concat([{ line: 'RUN sleep 5', ms: 5000, reasons: [parent('s0.4')] }]) },
    { name: 'the COPY names a single file', lines: copyThenRun('COPY server.js .', 'RUN npm ci', ['server.js']) },
    { name: 'the COPY comes from another stage', lines: copyThenRun('COPY --from=build /out .', 'RUN npm ci', ['out/a.js']) },
    { name: 'the install also changed on its own', lines: [
      { line: 'FROM node:22' },
      { line: 'COPY . .', reasons: [changed('src/index.js')] },
      { line: 'RUN npm ci --omit=dev', ms: 3000, reasons: [{ kind: 'instruction', before: 'RUN npm ci', after: 'RUN npm ci --omit=dev' }, parent('s0.1')] },
    ] },
  ];
  for (const c of none) {
    it(`gives no reorder advice when ${c.name}`, () => {
      expect(report(c.lines).advice.filter((a) => a.kind === 'reorder-copy')).to.deep.equal([]);
    });
  }

  it('keeps the steps between the COPY and the install in place in the snippet', () => {
    const r = report([
      { line: 'FROM node:22' },
      { line: 'COPY . .', reasons: [changed('src/index.js')] },
      { line: 'ENV NODE_ENV=production', reasons: [parent('s0.1')] },
      { line: 'RUN npm ci', ms: 4000, reasons: [parent('s0.2')] },
    ]);
    expect(r.advice[0]?.suggestion.after).to.equal('COPY package*.json ./\nENV NODE_ENV=production\nRUN npm ci\nCOPY . .');
  });

  it('gives no advice at all for a build that was entirely cached', () => {
    const r = report([{ line: 'FROM node:22' }, { line: 'COPY . .' }, { line: 'RUN npm ci', ms: 0 }]);
    expect(r.advice).to.deep.equal([]);
    expect(r.totals).to.include({ steps: 3, cached: 3, missed: 0 });
  });
});

describe('adviseBuild: args, base images and --no-cache', () => {
  const arg = (before: string, after: string): MissReason => ({ kind: 'arg', name: 'VERSION', before, after });

  it('suggests declaring a changed ARG right before its first use when it invalidated steps that do not use it', () => {
    const r = report([
      { line: 'FROM alpine' },
      'ARG VERSION=1',
      { line: 'RUN apk add --no-cache build-base', ms: 2000, reasons: [arg('1', '2')] },
      { line: 'RUN make', ms: 1500, reasons: [arg('1', '2'), parent('s0.1')] },
      { line: 'LABEL version=$VERSION', reasons: [arg('1', '2'), parent('s0.2')], ms: 1 },
    ], { VERSION: '2' });
    const advice = r.advice.find((a) => a.kind === 'late-arg');
    expect(advice?.savedMs).to.equal(3500);
    expect(advice?.steps).to.include.members(['s0.1', 's0.2', 's0.3']);
    expect(advice?.message).to.contain('build arg VERSION changed');
    expect(advice?.suggestion.before).to.equal('ARG VERSION=1\nRUN apk add --no-cache build-base\nRUN make\nLABEL version=$VERSION');
    expect(advice?.suggestion.after).to.equal('RUN apk add --no-cache build-base\nRUN make\nARG VERSION=1\nLABEL version=$VERSION');
  });

  it('gives no arg advice when the first step that missed for the arg is the one that uses it', () => {
    const r = report([
      { line: 'FROM alpine' },
      { line: 'RUN echo $VERSION > /v', ms: 10, reasons: [arg('1', '2')] },
      { line: 'RUN make', ms: 1500, reasons: [parent('s0.1')] },
    ]);
    expect(r.advice.filter((a) => a.kind === 'late-arg')).to.deep.equal([]);
  });

  it('suggests pinning a base image whose tag moved, with the new digest', () => {
    const after = `sha256:${'c'.repeat(64)}`;
    const r = report([
      { line: 'FROM node:22 AS base', reasons: [{ kind: 'base', ref: 'node:22', before: `sha256:${'d'.repeat(64)}`, after }], ms: 900 },
      { line: 'RUN npm ci', ms: 2000, reasons: [parent('s0.0')] },
    ]);
    const advice = r.advice.find((a) => a.kind === 'pin-base');
    expect(advice?.suggestion.after).to.equal(`FROM node:22@${after} AS base`);
    expect(advice?.savedMs).to.equal(2900);
    expect(r.steps[1]?.stage).to.deep.equal({ index: 0, name: 'base' });
  });

  it('says a COPY missed for permission bits alone, and says nothing when a file\'s content changed too', () => {
    const modeOnly = (mode?: { before: number; after: number }): MissReason => ({
      kind: 'content', source: 'context', count: 2,
      changes: [{ path: 'run.sh', before: 'sha256:a', after: 'sha256:b', mode: { before: 0o775, after: 0o755 } }, { path: 'app.js', before: 'sha256:c', after: 'sha256:d', ...(mode ? { mode } : {}) }],
    });
    const steps = (reason: MissReason): (StepSpec | string)[] => [
      { line: 'FROM node:22' },
      { line: 'COPY . .', reasons: [reason], ms: 30 },
      { line: 'RUN npm ci', ms: 2000, reasons: [parent('s0.1')] },
    ];
    const advice = report(steps(modeOnly({ before: 0o664, after: 0o644 }))).advice.filter((a) => a.kind === 'file-modes');
    expect(advice.map((a) => [a.message, a.savedMs])).to.deep.equal([
      ['COPY . . missed only because files\' permission bits differ (run.sh mode 0775 → 0755, app.js mode 0664 → 0644); their content is the same.', 2030],
    ]);
    expect(report(steps(modeOnly())).advice.filter((a) => a.kind === 'file-modes')).to.deep.equal([]);
  });

  it('reports --no-cache with the time it cost', () => {
    const r = report([{ line: 'FROM alpine', reasons: [{ kind: 'no-cache' }], ms: 5 }, { line: 'RUN make', ms: 700, reasons: [{ kind: 'no-cache' }] }]);
    expect(r.advice.map((a) => [a.kind, a.savedMs])).to.deep.equal([['no-cache', 705]]);
  });
});
