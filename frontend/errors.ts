import type { SourceRange } from './graph.js';
import { TsbuildError, visibleText, type ErrorCode } from '../common/index.js';

/** The Dockerfile text an error points into: `file` as the error's `at.file` names it. */
export interface DockerfileSource { file: string; text: string }

/** Any problem with the Dockerfile's text or meaning; `at` points at the offending place. */
export class DockerfileError extends TsbuildError {
  readonly code = 'DOCKERFILE_SYNTAX' as const;
  readonly at: SourceRange;
  /** The message without the `file:line:column: ` prefix. */
  readonly detail: string;
  /** The text `at` points into, attached by the frontend entry point that read it (see withSource). */
  source: DockerfileSource | undefined;
  constructor(at: SourceRange, message: string, hint?: string, options?: ErrorOptions) {
    super(`${at.file}:${at.line}:${at.column}: ${message}`, hint, options);
    this.at = at;
    this.detail = message;
  }
}

/**
 * A failure that is not the Dockerfile's own but happened at one of its places (a FROM whose image the registry does
 * not have, a registry that cannot be reached): the cause's code and hint, its message after the place, as BuildKit
 * prints `Dockerfile:4: …`.
 */
export class LocatedError extends TsbuildError {
  readonly code: ErrorCode;
  readonly at: SourceRange;
  /** As DockerfileError's: the text `at` points into (withSource). */
  source: DockerfileSource | undefined;
  constructor(at: SourceRange, message: string, cause: TsbuildError, hint = cause.hint) {
    super(`${at.file}:${at.line}: ${message}`, hint, { cause });
    this.code = cause.code;
    this.at = at;
  }
}

/**
 * A FROM whose image reference does not parse (`err`: the reference parser's INVALID_REFERENCE), located at `at`:
 * a mistake in the Dockerfile (exit 1, as buildx), worded the same by the build and by `--call=check`.
 */
export function invalidBaseReference(at: SourceRange, ref: string, err: TsbuildError): DockerfileError {
  return new DockerfileError(at, err.message.includes(ref) ? err.message : `invalid image reference "${ref}": ${err.message}`,
    err.hint ?? 'write FROM name[:tag][@digest], e.g. FROM alpine:3.20', { cause: err });
}

/** The Dockerfile place an error says it happened at (DockerfileError, a located step error), if any. */
export function locationOf(err: unknown): SourceRange | undefined {
  const at: unknown = (err as { at?: unknown } | null)?.at;
  if (typeof at !== 'object' || at === null) return undefined;
  const r = at as Partial<SourceRange>;
  return typeof r.file === 'string' && typeof r.line === 'number' && typeof r.column === 'number' ? (at as SourceRange) : undefined;
}

/** The Dockerfile text a located error carries, if any. */
export function sourceOf(err: unknown): DockerfileSource | undefined {
  const source: unknown = (err as { source?: unknown } | null)?.source;
  if (typeof source !== 'object' || source === null) return undefined;
  const s = source as Partial<DockerfileSource>;
  return typeof s.file === 'string' && typeof s.text === 'string' ? (source as DockerfileSource) : undefined;
}

/**
 * Gives a located error the text of the Dockerfile it points into, so the printer shows the line as it was built
 * (even from stdin) without re-reading anything. Only when `at.file` is `source.file` and no text is attached yet.
 * Returns `err`, for `throw withSource(err, …)`.
 */
export function withSource<T>(err: T, source: DockerfileSource): T {
  const at = locationOf(err);
  if (at !== undefined && at.file === source.file && sourceOf(err) === undefined) {
    (err as { source?: DockerfileSource }).source = source;
  }
  return err;
}

/**
 * The one caret renderer: each line of `at`, numbered, with a caret line under its columns (from `at`'s column on the
 * first line, to the end of each line when the range spans several, at least one caret). Empty when the text has no
 * such line.
 */
export function sourceExcerpt(at: SourceRange, text: string): string[] {
  // Every line of a continued instruction is shown: BuildKit's source map has one range per line of the instruction
  // (parser.Node.Location, toRanges), and buildx prints each (testErrorsSourceMap's invalidmultiline: lines 2 and 3).
  const lines = text.split('\n');
  const width = String(Math.max(at.line, at.endLine)).length;
  const out: string[] = [];
  for (let n = at.line; n <= Math.max(at.line, at.endLine); n++) {
    const src = lines[n - 1];
    if (src === undefined) break;
    const line = src.replace(/\r$/, '').replace(/\t/g, ' ');
    const from = n === at.line ? at.column : line.length - line.trimStart().length + 1;
    const carets = at.endLine > at.line ? line.trimEnd().length - from + 1 : at.endColumn - at.column;
    // The line as a terminal may show it (its control characters written out, common/visible-text.ts), the carets
    // under the same characters there.
    const start = Math.max(0, from - 1);
    const marked = line.slice(start, start + Math.max(0, carets));
    const before = visibleText(line.slice(0, start)).length + Math.max(0, start - line.length);
    const under = visibleText(marked).length + Math.max(0, carets - marked.length);
    out.push(`  ${String(n).padStart(width)} | ${visibleText(line)}`, `  ${' '.repeat(width)} | ${' '.repeat(before)}${'^'.repeat(Math.max(1, under))}`);
  }
  return out;
}

/**
 * Renders an error for the terminal: the message, the offending line with its number and a caret line under the
 * error's columns, then the hint. `text` defaults to the source the error carries.
 */
export function formatDockerfileError(err: DockerfileError, text = err.source?.text): string {
  const out = [err.message];
  if (text !== undefined) out.push(...sourceExcerpt(err.at, text));
  if (err.hint) out.push(`hint: ${err.hint}`);
  return out.join('\n');
}
