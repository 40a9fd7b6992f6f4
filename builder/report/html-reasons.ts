import { assertNever } from '../../frontend/index.js';
import type { MissReason } from '../../solver/index.js';
import { changeText, instructionSides, isRemoteChange } from './describe-reason.js';
import { escapeHtml as h } from './escape-html.js';
import { shortDigest } from './format.js';
import type { ReportReason, ReportStep } from './model.js';
import { oneLine } from './reorder-advice.js';
import { diffWords } from './text-diff.js';

// Miss reasons as HTML: changed files listed, an instruction's before/after as a word diff, an arg's old → new value,
// a parent miss as a link to that step's row. Every value is escaped: all of it can come from the user.

/** The reasons of one step as an HTML list (or "cached"). */
export function reasonsHtml(step: ReportStep, byId: Map<string, { step: ReportStep; number: number }>): string {
  if (step.cached) return '<span class="muted">cached</span>';
  return `<ul class="reasons">${step.reasons.map((r) => `<li class="reason reason-${r.reason.kind}">${reasonHtml(r, byId)}</li>`).join('')}</ul>`;
}

function reasonHtml({ reason, text }: ReportReason, byId: Map<string, { step: ReportStep; number: number }>): string {
  return detail(reason, byId) ?? h(text);
}

function detail(reason: MissReason, byId: Map<string, { step: ReportStep; number: number }>): string | undefined {
  switch (reason.kind) {
    case 'content': {
      if (isRemoteChange(reason)) return undefined;   // the text says it: the file at URL changed on the server
      if (reason.unlisted) return `files changed in <code>${h(reason.source)}</code> <span class="muted">(the build it is compared with recorded no per-file digests)</span>`;
      const files = reason.changes.map((c) => {
        const state = c.mode !== undefined ? 'mode' : c.before === undefined ? 'added' : c.after === undefined ? 'removed' : 'changed';
        return `<li><span class="file-state ${state}">${h(changeText(c))}</span> <code class="file">${h(c.path)}</code></li>`;
      });
      const more = reason.count > reason.changes.length ? `<li class="muted">and ${reason.count - reason.changes.length} more</li>` : '';
      const what = reason.count === 1 ? '1 file' : `${reason.count} files`;
      return `${what} changed in <code>${h(reason.source)}</code><ul class="files">${files.join('')}${more}</ul>`;
    }
    case 'instruction': {
      const sides = instructionSides(reason);
      const parts = diffWords(sides.before, sides.after);
      const before = parts.filter((p) => p.op !== 'add').map((p) => (p.op === 'del' ? `<del>${h(p.text)}</del>` : h(p.text))).join('');
      const after = parts.filter((p) => p.op !== 'del').map((p) => (p.op === 'add' ? `<ins>${h(p.text)}</ins>` : h(p.text))).join('');
      return `instruction changed<div class="diff"><div class="diff-line"><span class="sign">−</span><code>${before}</code></div><div class="diff-line"><span class="sign">+</span><code>${after}</code></div></div>`;
    }
    case 'arg':
      return `build arg <code>${h(reason.name)}</code> changed: ${value(reason.before)} → ${value(reason.after)}`;
    case 'base':
      return `base image <code>${h(reason.ref)}</code> changed: <code title="${h(reason.before)}">${h(shortDigest(reason.before))}</code> → <code title="${h(reason.after)}">${h(shortDigest(reason.after))}</code>`;
    case 'parent': {
      const parent = byId.get(reason.vertex);
      const label = parent ? `#${parent.number} ${oneLine(parent.step.instruction, 60)}` : oneLine(reason.text, 60);
      return `${reason.moved ? 'builds on another step now' : 'parent step missed'}: <a class="step-link" href="#step-${h(reason.vertex)}" data-step="${h(reason.vertex)}">${h(label)}</a>`;
    }
    case 'new': case 'evicted': case 'no-cache': case 'platform': case 'setting': case 'options':
      return undefined;
    default:
      return assertNever(reason);
  }
}

function value(v: string | undefined): string {
  return v === undefined ? '<span class="muted">(unset)</span>' : `<code>${h(JSON.stringify(v))}</code>`;
}
