import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { locationOf, sourceExcerpt, sourceOf } from '../frontend/index.js';
import { hostFailure, isTsbuildError, redactText, visibleText, type ErrorCode } from '../common/index.js';

const USAGE: readonly ErrorCode[] = ['INVALID_ARGUMENT', 'INVALID_REFERENCE'];
/** The errors a running build raised (builder/build.ts marks them): see exitStatus. */
const raisedByBuild = new WeakSet<object>();

/** Marks `err` as raised while a build ran, after its command line was accepted; returns it. */
export function raisedWhileBuilding<T>(err: T): T {
  if (typeof err === 'object' && err !== null) raisedByBuild.add(err);
  return err;
}

/**
 * Exit statuses: 1 for a failed build (as buildx), 2 for bad usage, 130 for Ctrl-C, 70 (EX_SOFTWARE) for a bug.
 * Bad usage is what the command line asks for, refused before the build starts. The same codes raised by a running
 * build (COPY --chown=nosuchuser, a FROM reference that does not parse, an ADD whose URL answers 404, RUN
 * --security=insecure not granted) come from the Dockerfile or the world: a failed build, as buildx reports every
 * failed solve with 1.
 */
export function exitStatus(err: unknown): number {
  err = shown(err);
  if (!isTsbuildError(err)) return 70;
  if (err.code === 'CANCELLED') return 130;
  return USAGE.includes(err.code) && !raisedByBuild.has(err) ? 2 : 1;
}

/** What the user is told `err` is: a full disk or a read-only file system that a plain error met (hostFailure) is theirs. */
function shown(err: unknown): unknown {
  if (isTsbuildError(err)) return err;
  const host = hostFailure(err);
  if (host === undefined) return err;
  if (typeof err === 'object' && err !== null && raisedByBuild.has(err)) raisedByBuild.add(host);
  return host;
}

/** The caret lines for a located error: from the Dockerfile text it carries, else from the file as it is now. */
function sourceLines(err: unknown): string[] {
  const at = locationOf(err);
  if (at === undefined) return [];
  let text = sourceOf(err)?.text;
  if (text === undefined) {
    try { text = readFileSync(at.file, 'utf8'); } catch { return []; }
  }
  return sourceExcerpt(at, text);
}

/**
 * What the user sees for a failure, in buildx's shape: `ERROR: failed to solve: message` for what a running build
 * raised (the line CI logs are searched for, and build-push-action quotes), `ERROR: message` for a command line
 * refused before it started; then the Dockerfile line with a caret when the error has a place, and `hint: …`. A
 * TsbuildError prints no stack; a bug does, and `--debug` adds the cause chain to both.
 */
export function formatError(err: unknown, debug = false): string {
  err = shown(err);
  const out: string[] = [];
  if (isTsbuildError(err)) {
    // A URL's credentials (an ADD source, a git remote) never reach a terminal or a CI log.
    out.push(`ERROR: ${raisedByBuild.has(err) ? 'failed to solve: ' : ''}${redactText(err.message)}`);
    out.push(...sourceLines(err));
    if (err.hint) out.push(`hint: ${err.hint}`);
  } else {
    out.push(`ERROR: internal error (a bug in tsbuild, please report it): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
  if (debug) {
    for (let c = (err as { cause?: unknown } | null)?.cause; c; c = (c as { cause?: unknown }).cause) {
      out.push(`caused by: ${c instanceof Error ? (c.stack ?? c.message) : String(c)}`);
    }
  }
  // The message, the Dockerfile line and the hint hold what the Dockerfile's, context's or registry's author wrote.
  return visibleText(out.join('\n'));
}

/** Escapes a GitHub workflow command's data (`%`, CR, LF) or, with `isProperty`, a property value (also `:` and `,`). */
function escapeCommand(text: string, isProperty: boolean): string {
  const data = text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  return isProperty ? data.replace(/:/g, '%3A').replace(/,/g, '%2C') : data;
}

/**
 * In GitHub Actions (`GITHUB_ACTIONS=true`), an error with a Dockerfile location as a workflow command
 * (`::error file=…,line=…,col=…::message`), so the failing line is annotated in the pull request. The file is
 * relative to `$GITHUB_WORKSPACE` (else the working directory), as GitHub expects. Empty otherwise.
 */
export function githubAnnotation(err: unknown, env: NodeJS.ProcessEnv = process.env): string {
  if (env.GITHUB_ACTIONS !== 'true' || !isTsbuildError(err)) return '';
  const at = locationOf(err);
  const message = escapeCommand(`${err.message}${err.hint ? ` (hint: ${err.hint})` : ''}`, false);
  if (!at) return `::error title=tsbuild ${err.code}::${message}\n`;
  const file = relative(env.GITHUB_WORKSPACE || process.cwd(), at.file) || at.file;
  const end = at.endLine > at.line ? `,endLine=${at.endLine}` : '';
  return `::error file=${escapeCommand(file, true)},line=${at.line}${end},col=${at.column},title=${escapeCommand(`tsbuild ${err.code}`, true)}::${message}\n`;
}
