import { excludedText, type ContextReport } from '../context-report/context-report.js';
import { escapeHtml as h } from './escape-html.js';
import { formatBytes } from './format.js';

/** The build report's "Build context" section: what was sent, who read it, what .dockerignore could drop. */
export function contextHtml(c: ContextReport | undefined): string {
  if (c === undefined) return '';
  const parts = c.parts.map((p) => `<tr data-part="${h(p.path)}"><td><code>${h(p.path)}</code></td><td class="num">${p.files}</td><td class="num" data-bytes="${p.bytes}">${h(formatBytes(p.bytes))}</td><td>${p.readBy.length ? h(p.readBy.join(', ')) : '<span class="muted">read by no COPY</span>'}</td></tr>`);
  const excluded = [
    ...c.excluded.parts.map((p) => `<li><code>${h(p.path)}</code> ${p.files} files, ${h(formatBytes(p.bytes))}</li>`),
    ...(c.excluded.unscanned ?? []).map((d) => `<li><code>${h(d)}</code> <span class="muted">excluded whole, not walked</span></li>`),
  ];
  const largest = c.largest.map((f) => `<li><code>${h(f.path)}</code> ${h(formatBytes(f.bytes))}</li>`);
  const suggestions = c.suggestions.map((s) => `<li class="suggestion" data-pattern="${h(s.pattern)}">add <code>${h(s.pattern)}</code> to .dockerignore: ${s.files} files, ${h(formatBytes(s.bytes))} that no COPY names${s.sweptBy.length ? ` (swept in by ${h(s.sweptBy.join(', '))})` : ''}</li>`);
  const copies = c.copies.map((cp) => {
    const churn = cp.churn.length ? `<br><span class="muted">changed most often in ${c.builds} builds:</span> ${cp.churn.map((x) => `<code>${h(x.path)}</code> ${x.changes}×`).join(', ')}` : '';
    const runs = cp.isBroad && cp.after.length ? `<br><span class="muted">re-runs when it misses:</span> ${cp.after.map((a) => `${h(a.label)} <code>${h(a.instruction)}</code>`).join(', ')}` : '';
    return `<li data-copy="${h(cp.label)}">${h(cp.label)} <code>${h(cp.instruction)}</code>: ${cp.files} files, ${h(formatBytes(cp.bytes))}${churn}${runs}</li>`;
  });
  return `<section id="context"><h2>Build context</h2>
<p>${c.sent.files} files, ${h(formatBytes(c.sent.bytes))} sent; .dockerignore excluded ${h(excludedText(c, formatBytes))}.</p>
<table class="context-parts"><thead><tr><th>part</th><th>files</th><th>bytes</th><th>read by</th></tr></thead><tbody>${parts.join('')}</tbody></table>
${suggestions.length ? `<h3>Could be ignored</h3><ul class="suggestions">${suggestions.join('')}</ul>` : ''}
<h3>COPY from the context</h3><ul class="copies">${copies.join('')}</ul>
<h3>Largest files</h3><ul>${largest.join('')}</ul>
${excluded.length ? `<h3>Excluded by .dockerignore</h3><ul>${excluded.join('')}</ul>` : ''}
</section>`;
}
