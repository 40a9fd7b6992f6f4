import { expect } from 'chai';
import { buildReport } from './model.js';
import { renderHtml } from './render-html.js';
import { changed, parent, recordOf } from './testing/record-of.js';

describe('renderHtml', () => {
  const report = buildReport(recordOf([
    { line: 'FROM node:22' },
    { line: 'COPY . .', reasons: [changed('src/<b>evil</b>.js', 'src/ok.js')], ms: 30 },
    { line: 'RUN npm ci', reasons: [parent('s0.1')], ms: 3000 },
    { line: 'LABEL x="</script><script>alert(1)</script>"', reasons: [{ kind: 'instruction', before: 'LABEL x=1', after: 'LABEL x="</script><script>alert(1)</script>"' }], ms: 1 },
    { line: 'ENV MODE=<img src=x onerror=alert(1)>', reasons: [{ kind: 'arg', name: 'M"ODE', before: '<i>', after: '"\'' }], ms: 1 },
  ]));
  const html = renderHtml(report);

  it('escapes instruction text, file names and arg values so a LABEL cannot inject a script', () => {
    expect(html.match(/<script/g)).to.have.length(1);   // ours, inline
    expect(html).not.to.contain('<img');
    expect(html).not.to.contain('<b>evil');
    expect(html).to.contain('LABEL x=&quot;&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&quot;');
    expect(html).to.contain('src/&lt;b&gt;evil&lt;/b&gt;.js');
  });

  it('is self-contained: no external scripts, stylesheets, fonts or images', () => {
    expect(html).not.to.match(/<link\b|\bsrc=["']?https?:|url\(\s*['"]?https?:|@import/i);
  });

  it('draws one timeline bar per step, coloured by hit or miss', () => {
    expect(html.match(/class="bar hit"/g)).to.have.length(1);
    expect(html.match(/class="bar miss"/g)).to.have.length(4);
  });

  it('links a parent miss to its step and lists the changed files', () => {
    expect(html).to.contain('<a class="step-link" href="#step-s0.1" data-step="s0.1">#2 COPY . .</a>');
    expect(html).to.contain('<code class="file">src/ok.js</code>');
    expect(html).to.contain('<ins>');
  });

  it('shows the advice card with both snippets', () => {
    expect(html).to.contain('data-kind="reorder-copy"');
    expect(html).to.contain('<pre class="snippet"><code>COPY package*.json ./\nRUN npm ci\nCOPY . .</code></pre>');
  });
});
