import { expect } from 'chai';
import { describeReason } from './describe-reason.js';

describe('describeReason', () => {
  it('says (unset) for a build arg or setting that was not set on one side, never a bare null', () => {
    expect(describeReason({ kind: 'arg', name: 'V', before: '1' })).to.equal('build arg V changed: "1" → (unset)');
    expect(describeReason({ kind: 'arg', name: 'V', after: '' })).to.equal('build arg V changed: (unset) → ""');
    expect(describeReason({ kind: 'setting', setting: 'ENV', name: 'MODE', after: 'prod' })).to.equal('ENV MODE changed: (unset) → "prod"');
  });

  it('shows a changed instruction as written, not as history text, unless only the history text tells them apart', () => {
    expect(describeReason({ kind: 'instruction', before: 'RUN /bin/sh -c echo a # buildkit', after: 'RUN |1 V=2 /bin/sh -c echo b # buildkit' }))
      .to.equal('instruction changed: "RUN echo a" → "RUN echo b"');
    expect(describeReason({ kind: 'instruction', before: 'COPY a /x # buildkit', after: 'COPY --chmod=600 a /x # buildkit' }))
      .to.equal('instruction changed: "COPY a /x" → "COPY --chmod=600 a /x"');
    expect(describeReason({ kind: 'instruction', before: 'RUN /bin/sh -c make # buildkit', after: 'RUN /bin/sh -c make' }))
      .to.equal('instruction changed: "RUN /bin/sh -c make # buildkit" → "RUN /bin/sh -c make"');
  });

  it('says an ADD <url> missed because the file at the URL changed on the server, a context file as changed in context', () => {
    const url = 'https://example.com/tool.tar.gz';
    expect(describeReason({ kind: 'content', source: 'context', changes: [{ path: url, before: 'sha256:a', after: 'sha256:b' }], count: 1 }))
      .to.equal(`the file at ${url} changed on the server`);
    expect(describeReason({ kind: 'content', source: 'context', changes: [{ path: 'src/a.txt', before: 'sha256:a', after: 'sha256:b' }], count: 1 }))
      .to.equal('files changed in context: src/a.txt (changed)');
    expect(describeReason({ kind: 'content', source: 'context', changes: [{ path: 'run.sh', before: 'sha256:a', after: 'sha256:b', mode: { before: 0o755, after: 0o4711 } }], count: 1 }))
      .to.equal('files changed in context: run.sh (mode 0755 → 4711)');
  });

  it('quotes a file name holding control characters: a context\'s newline or escape sequence never reaches the terminal or a CI log raw', () => {
    const hostile = 'a\n::error::pwned\u001b[31m\u0085';
    const text = describeReason({ kind: 'content', source: 'context', changes: [{ path: hostile, before: 'sha256:a', after: 'sha256:b' }], count: 1 });
    expect(text).to.equal('files changed in context: "a\\n::error::pwned\\u001b[31m\\u0085" (changed)');
    expect(text).to.not.match(/[\u0000-\u001f\u007f-\u009f]/);
  });
});
