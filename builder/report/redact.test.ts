import { expect } from 'chai';
import type { MissReason } from '../../solver/index.js';
import { describeReason } from './describe-reason.js';
import { buildReport } from './model.js';
import { redactRecord } from './redact.js';
import { renderHtml } from './render-html.js';
import { renderJson } from './render-json.js';
import { renderMarkdown } from './render-markdown.js';
import { recordOf } from './testing/record-of.js';

const SECRET = 's3cr3t-value';

describe('redaction of secret-named build args', () => {
  const argMiss: MissReason = { kind: 'arg', name: 'GITHUB_TOKEN', before: 'old-s3cr3t', after: SECRET };
  const input = recordOf([
    { line: 'FROM alpine' },
    'ARG GITHUB_TOKEN',
    { line: 'ENV API_KEY=$GITHUB_TOKEN' },
    { line: 'RUN make', reasons: [argMiss, { kind: 'arg', name: 'MODE', before: 'debug', after: 'release' }, { kind: 'setting', setting: 'ENV', name: 'API_KEY', before: 'old-s3cr3t', after: SECRET }], ms: 50 },
  ], { args: { GITHUB_TOKEN: SECRET, MODE: 'release', PUBLIC_KEY: 'ssh-ed25519 AAAA' } });
  // The history text of a RUN carries the args in scope, as BuildKit writes it.
  const run = input.record.vertices[2];
  if (run) run.text = `RUN |2 GITHUB_TOKEN=${SECRET} MODE=release /bin/sh -c make # buildkit`;
  input.record.error = { message: `step failed: curl -H "Authorization: ${SECRET}" exited 22` };

  it('replaces the values of secret-named args in the args map, arg reasons, ENV reasons, RUN text and messages', () => {
    const r = redactRecord(input.record);
    expect(r.args).to.deep.equal({ GITHUB_TOKEN: '<redacted>', MODE: 'release', PUBLIC_KEY: 'ssh-ed25519 AAAA' });
    expect(r.vertices[2]?.reasons).to.deep.equal([
      { kind: 'arg', name: 'GITHUB_TOKEN', before: '<redacted>', after: '<redacted>' },
      { kind: 'arg', name: 'MODE', before: 'debug', after: 'release' },
      { kind: 'setting', setting: 'ENV', name: 'API_KEY', before: '<redacted>', after: '<redacted>' },
    ]);
    expect(r.vertices[2]?.text).to.equal('RUN |2 GITHUB_TOKEN=<redacted> MODE=release /bin/sh -c make # buildkit');
    expect(r.error?.message).to.equal('step failed: curl -H "Authorization: <redacted>" exited 22');
    expect(JSON.stringify(r)).to.not.contain('s3cr3t');
  });

  it('copies only what it changes: the record keeps its secrets, unchanged parts are shared', () => {
    const files = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`app/node_modules/m${i}/index.js`, `sha256:${String(i).padStart(64, '0')}`]));
    const rec = { ...input.record, keyManifest: [{ vertex: 's1', locator: 'Dockerfile#0/1', files: { vertex: files } }] };
    const r = redactRecord(rec);
    expect(r.keyManifest).to.equal(rec.keyManifest);   // nothing in it to scrub: the same object, not a copy
    expect(r.vertices[2]?.text).to.not.contain(SECRET);
    expect(rec.vertices[2]?.text).to.contain(SECRET);   // the record itself is left as it was
    expect(rec.vertices[2]?.reasons?.[0]).to.deep.equal(argMiss);
    expect(rec.args.GITHUB_TOKEN).to.equal(SECRET);
  });

  it('hands back its own copy as it is (a stored record, then reported), and still redacts any other object', () => {
    const r = redactRecord(input.record);
    expect(redactRecord(r)).to.equal(r);
    const copy = structuredClone(input.record);
    expect(redactRecord(copy)).to.not.equal(copy);
    expect(JSON.stringify(redactRecord(copy))).to.not.contain('s3cr3t');
  });

  it('leaves the record it was given untouched', () => {
    redactRecord(input.record);
    expect(input.record.args['GITHUB_TOKEN']).to.equal(SECRET);
  });

  it('cuts secret-named args out of a RUN prefix even when the record no longer knows the value', () => {
    const old = { args: { GITHUB_TOKEN: '<redacted>' }, text: 'RUN |1 GITHUB_TOKEN=abc /bin/sh -c make # buildkit' };
    expect(redactRecord(old).text).to.equal('RUN |1 GITHUB_TOKEN=<redacted> /bin/sh -c make # buildkit');
  });

  it('never shows the value in the JSON, Markdown or HTML report', () => {
    const report = buildReport(input);
    for (const text of [renderJson(report), renderMarkdown(report), renderHtml(report)]) {
      expect(text).to.not.contain('s3cr3t');
      expect(text).to.contain('release');
    }
    expect(report.build.args['GITHUB_TOKEN']).to.equal('<redacted>');
  });

  it('describes a secret arg change without its values, as progress lines do', () => {
    expect(describeReason(argMiss)).to.equal('build arg GITHUB_TOKEN changed: "<redacted>" → "<redacted>"');
    expect(describeReason({ kind: 'arg', name: 'MODE', before: 'a', after: 'b' })).to.equal('build arg MODE changed: "a" → "b"');
  });
});

describe('redaction by name where the value is not known', () => {
  it('cuts NAME=value for secret-looking names from instruction texts of earlier builds, also while building', () => {
    const reason: MissReason = { kind: 'instruction', before: 'ENV API_TOKEN=old-value MODE=x', after: 'ENV API_TOKEN="new value" MODE=y' };
    expect(describeReason(reason)).to.equal('instruction changed: "ENV API_TOKEN=<redacted> MODE=x" → "ENV API_TOKEN=<redacted> MODE=y"');
  });

  it('learns the previous value of a secret arg from the record\'s own arg reason and cuts it from other text', () => {
    const { record } = recordOf([
      { line: 'FROM alpine' },
      { line: 'ENV FOO=now-value', reasons: [{ kind: 'instruction', before: 'ENV FOO=then-value', after: 'ENV FOO=now-value' }] },
      { line: 'RUN make', reasons: [{ kind: 'arg', name: 'GITHUB_TOKEN', before: 'then-value', after: 'now-value' }] },
    ], { args: { GITHUB_TOKEN: 'now-value' } });
    const text = JSON.stringify(redactRecord(record));
    expect(text).to.not.contain('then-value').and.not.contain('now-value');
  });
});
