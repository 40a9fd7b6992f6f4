import { PlainProgress } from './plain.js';
import { RawJsonProgress } from './rawjson.js';
import { SolveStatusProgress } from './solve-status.js';
import { TtyProgress } from './tty.js';
import type { ProgressMode, ProgressWriter } from './writer.js';

export type { ProgressMode, ProgressWriter } from './writer.js';
export { MAX_PARTIAL_LINE, shareStepNumbers } from './plain.js';
export { SolveStatusProgress, type SolveStatus } from './solve-status.js';

/** The writer for a `--progress` mode; `auto` is tty on a terminal and plain otherwise, as in buildx. */
export function createProgress(mode: ProgressMode, out: NodeJS.WriteStream = process.stderr): ProgressWriter {
  switch (mode) {
    case 'quiet': return { plan() {}, event() {}, note() {}, close() {} };
    case 'rawjson': return new SolveStatusProgress(out);
    case 'tsbuild-json': return new RawJsonProgress(out);
    case 'plain': return new PlainProgress(out);
    case 'tty': return new TtyProgress(out);
    case 'auto': return out.isTTY ? new TtyProgress(out) : new PlainProgress(out);
  }
}
