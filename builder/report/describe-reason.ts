import type { FileChange, MissReason } from '../../solver/index.js';
import { assertNever } from '../../frontend/index.js';
import { displayText } from './instruction-text.js';
import { redactInstruction, redactReason } from './redact.js';

/** A content path that is an ADD source's URL, not a file in a context or stage. */
const URL_PATH = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * True when a content miss is only ADD <url> files the server now serves otherwise (the step is keyed by what a URL
 * serves: worker/fileops/downloads.ts); the renderers say that instead of "files changed in context".
 */
export function isRemoteChange(reason: Extract<MissReason, { kind: 'content' }>): boolean {
  return !reason.unlisted && reason.changes.length > 0 && reason.changes.every((c) => URL_PATH.test(c.path) && c.before !== undefined && c.after !== undefined);
}

// A reason is one line: a heredoc's body stays out of it.
const firstLine = (text: string): string => (text.includes('\n') ? `${text.slice(0, text.indexOf('\n'))} …` : text);

/** A content source as a reader knows it: `vertex` is the stage or image a COPY --from reads. */
const sourceName = (source: string): string => (source === 'vertex' ? 'the stage it copies from' : source);

const short = (digest: string | undefined) => (digest ? digest.replace(/^sha256:/, '').slice(0, 12) : '∅');

const labelOf = (vertex: string, stepLabel: ((vertex: string) => string | undefined) | undefined): string | undefined => {
  const label = stepLabel?.(vertex);
  return label === undefined ? undefined : redactInstruction(label);
};

/**
 * One line of plain text saying why a step missed; the terminal, Markdown and HTML reports all use it. `stepLabel`
 * names another step of the build as its reader saw it (the progress header, the Dockerfile line): a parent's history
 * text leaves out `--from` and `--link`, as BuildKit's does, so `COPY --from=deps a ./` read as a COPY of the context.
 */
/**
 * The two sides of a changed instruction as the user wrote them (`RUN make`, not the recorded history text `RUN
 * /bin/sh -c make # buildkit`), unless that reading hides the change (a shell form turned into the same exec form):
 * then as recorded.
 */
export function instructionSides(reason: Extract<MissReason, { kind: 'instruction' }>): { before: string; after: string } {
  const before = displayText(reason.before);
  const after = displayText(reason.after);
  return before === after ? { before: reason.before, after: reason.after } : { before, after };
}

/** A value in a reason: quoted, or `(unset)` for one that was not set (the HTML report says the same). */
export function valueText(value: string | undefined): string {
  return value === undefined ? '(unset)' : JSON.stringify(value);
}

export function describeReason(shown: MissReason, stepLabel?: (vertex: string) => string | undefined): string {
  const reason = redactReason(shown);   // progress lines end up in CI logs: no secret-named arg values there either
  switch (reason.kind) {
    case 'new': return reason.recipe ? `built before by a tsbuild with another cache key recipe (v${reason.recipe.before} → v${reason.recipe.after}): built once again` : 'never built before';
    case 'evicted': return 'built before with the same inputs, but the result was pruned';
    case 'no-cache': return reason.flag ?? '--no-cache';
    case 'instruction': {
      const { before, after } = instructionSides(reason);
      return `instruction changed: ${JSON.stringify(before)} → ${JSON.stringify(after)}`;
    }
    case 'arg': return `build arg ${reason.name} changed: ${valueText(reason.before)} → ${valueText(reason.after)}`;
    case 'base': return `base image ${reason.ref} changed: ${short(reason.before)} → ${short(reason.after)}`;
    case 'parent': return `${reason.moved ? 'builds on another step now' : 'parent step missed'}: ${firstLine(labelOf(reason.vertex, stepLabel) ?? displayText(reason.text))}`;
    case 'platform': return `platform changed: ${reason.before} → ${reason.after}`;
    case 'setting': {
      const what = reason.name ? `${reason.setting} ${reason.name}` : reason.setting;
      return `${what} changed: ${valueText(reason.before)} → ${valueText(reason.after)}`;
    }
    case 'options': return `options changed: ${reason.options.join(', ')}`;
    case 'content': {
      if (reason.unlisted) return `files changed in ${sourceName(reason.source)} (the build it is compared with recorded no per-file digests)`;
      if (isRemoteChange(reason)) {
        return `the file at ${reason.changes.map((c) => shownPath(c.path)).join(', ')} changed on the server`;
      }
      const listed = reason.changes.slice(0, 5).map((c) => `${shownPath(c.path)} (${changeText(c)})`);
      const more = reason.count > listed.length ? ` and ${reason.count - listed.length} more` : '';
      return `files changed in ${sourceName(reason.source)}: ${listed.join(', ')}${more}`;
    }
    default: return assertNever(reason);
  }
}

/** How a listed file changed: added, removed, changed, or `mode 0664 → 0644` when its permission bits alone did. */
export function changeText(c: FileChange): string {
  if (c.mode !== undefined) return `mode ${modeText(c.mode.before)} → ${modeText(c.mode.after)}`;
  return c.before ? (c.after ? 'changed' : 'removed') : 'added';
}

/** Permission bits as four octal digits, as `ls`/`stat` users read them: 0644, 4755. */
export function modeText(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

/**
 * A file path as a reason line shows it: as it is, or quoted with its control characters escaped when it holds any.
 * A context's file names are the context author's: a name with a newline or an escape sequence would otherwise end
 * the line (and start one a CI log reads as a command, `::error::…`) or recolour the terminal.
 */
export function shownPath(path: string): string {
  return /[\u0000-\u001f\u007f-\u009f]/.test(path) ? JSON.stringify(path).replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : path;
}
