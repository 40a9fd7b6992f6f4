import type { SourceRange } from './graph.js';
import { TsbuildError } from '../common/index.js';

/** Any problem with the Dockerfile's text or meaning; `at` points at the offending place. */
export class DockerfileError extends TsbuildError {
  readonly code = 'DOCKERFILE_SYNTAX' as const;
  readonly at: SourceRange;
  /** The message without the `file:line:column: ` prefix. */
  readonly detail: string;
  constructor(at: SourceRange, message: string, hint?: string, options?: ErrorOptions) {
    super(`${at.file}:${at.line}:${at.column}: ${message}`, hint, options);
    this.at = at;
    this.detail = message;
  }
}

/**
 * Renders an error for the terminal: the message, the offending line with its number and a caret line under the
 * error's columns, then the hint.
 */
export function formatDockerfileError(err: DockerfileError, text: string): string {
  const { line, column } = err.at;
  const out = [err.message];
  const src = text.split('\n')[line - 1];
  if (src !== undefined) {
    const shown = src.replace(/\r$/, '').replace(/\t/g, ' ');
    const num = String(line);
    const width = err.at.endLine === line && err.at.endColumn > column ? err.at.endColumn - column : 1;
    out.push(`  ${num} | ${shown}`);
    out.push(`  ${' '.repeat(num.length)} | ${' '.repeat(Math.max(0, column - 1))}${'^'.repeat(Math.max(1, width))}`);
  }
  if (err.hint) out.push(`hint: ${err.hint}`);
  return out.join('\n');
}
