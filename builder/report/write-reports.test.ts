import { expect } from 'chai';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { changed, parent, recordOf } from './testing/record-of.js';
import { writeReports } from './write-reports.js';

describe('writeReports', () => {
  let dir = '';
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'tsbuild-report-unit-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });
  const input = recordOf([{ line: 'FROM node:22' }, { line: 'COPY . .', reasons: [changed('a.js')] }, { line: 'RUN npm ci', ms: 2000, reasons: [parent('s0.1')] }]);

  it('writes the format the extension names, and all three when it names none', async () => {
    expect(await writeReports(input, join(dir, 'one.md'), { env: {} })).to.deep.equal([join(dir, 'one.md')]);
    expect(await readFile(join(dir, 'one.md'), 'utf8')).to.match(/^## ✅ tsbuild/);
    const all = await writeReports(input.record, join(dir, 'report'), { env: {} });
    expect(all).to.deep.equal(['json', 'md', 'html'].map((f) => join(dir, `report.${f}`)));
    expect((JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as { schemaVersion: number }).schemaVersion).to.equal(1);
    expect(await readFile(join(dir, 'report.html'), 'utf8')).to.match(/^<!doctype html>/);
  });

  it('appends the Markdown to $GITHUB_STEP_SUMMARY when it is set', async () => {
    const summary = join(dir, 'summary.md');
    await writeFile(summary, '# earlier step\n');
    await writeReports(input, join(dir, 'r.json'), { env: { GITHUB_STEP_SUMMARY: summary } });
    const text = await readFile(summary, 'utf8');
    expect(text.startsWith('# earlier step\n## ✅ tsbuild')).to.equal(true);
    expect(text).to.contain('COPY package*.json ./');
  });
});
