import { readFileSync } from 'node:fs';
import type { SourceRange } from '../frontend/index.js';
import { isTsbuildError, type ErrorCode } from '../registry/oci/index.js';

/** Exit statuses: 1 for a failed build (as buildx), 2 for bad usage, 130 for Ctrl-C, 70 (EX_SOFTWARE) for a bug. */
export function exitStatus(err: unknown): number {
  if (!isTsbuildError(err)) return 70;
  const usage: ErrorCode[] = ['INVALID_ARGUMENT', 'INVALID_REFERENCE'];
  if (err.code === 'CANCELLED') return 130;
  return usage.includes(err.code) ? 2 : 1;
}

/** Dockerfile texts as they were compiled, by path: the caret points into what was built, even for stdin. */
const compiledSources = new Map<string, string>();

/** Remembers the text compiled for `path`, so an error in it is shown from that text rather than re-read. */
export function rememberSource(path: string, text: string): void {
  compiledSources.set(path, text);
}

function sourceLines(at: SourceRange): string[] {
  let text = compiledSources.get(at.file);
  if (text === undefined) {
    try { text = readFileSync(at.file, 'utf8'); } catch { return []; }
  }
  const src = text.split('\n')[at.line - 1];
  if (src === undefined) return [];
  const num = String(at.line);
  const width = at.endLine === at.line && at.endColumn > at.column ? at.endColumn - at.column : Math.max(1, src.trimEnd().length - at.column + 1);
  return [`  ${num} | ${src.replace(/\r$/, '').replace(/\t/g, ' ')}`, `  ${' '.repeat(num.length)} | ${' '.repeat(Math.max(0, at.column - 1))}${'^'.repeat(Math.max(1, width))}`];
}

function locationOf(err: unknown): SourceRange | undefined {
  const at: unknown = (err as { at?: unknown } | null)?.at;
  if (typeof at !== 'object' || at === null) return undefined;
  const r = at as Partial<SourceRange>;
  return typeof r.file === 'string' && typeof r.line === 'number' && typeof r.column === 'number' ? (at as SourceRange) : undefined;
}

/**
 * What the user sees for a failure: `error: message`, the Dockerfile line with a caret when the error has a place,
 * `hint: …`. A TsbuildError prints no stack; a bug does, and `--debug` adds the cause chain to both.
 */
export function formatError(err: unknown, debug = false): string {
  const out: string[] = [];
  if (isTsbuildError(err)) {
    out.push(`error: ${err.message}`);
    const at = locationOf(err);
    if (at) out.push(...sourceLines(at));
    if (err.hint) out.push(`hint: ${err.hint}`);
  } else {
    out.push(`error: internal error (a bug in tsbuild, please report it): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
  if (debug) {
    for (let c = (err as { cause?: unknown } | null)?.cause; c; c = (c as { cause?: unknown }).cause) {
      out.push(`caused by: ${c instanceof Error ? (c.stack ?? c.message) : String(c)}`);
    }
  }
  return out.join('\n');
}
