import { nameOf, showName } from '../../common/index.js';
import { parseFsattrReport } from './fsattr-path.js';

/** A failing system call inside the confined writer, as the C side reported it; `arg` is its path as showName shows it. */
export class ConfinedFsError extends Error {
  constructor(readonly op: string, readonly arg: string, readonly errno: number) {
    super(`${op} ${JSON.stringify(arg)}: ${errnoName(errno)}`);
  }

  /** True when the path led out of the root or base (EXDEV from RESOLVE_BENEATH, ELOOP from NO_SYMLINKS). */
  get isEscape(): boolean { return this.errno === 18 || this.errno === 40; }
}

const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM (operation not permitted)', 2: 'ENOENT (no such file or directory)', 13: 'EACCES (permission denied)',
  17: 'EEXIST (file exists)', 18: 'EXDEV (the path leads out of the root)', 20: 'ENOTDIR (not a directory)',
  21: 'EISDIR (is a directory)', 22: 'EINVAL (invalid argument)', 28: 'ENOSPC (no space left on device)',
  36: 'ENAMETOOLONG (file name too long)', 39: 'ENOTEMPTY (directory not empty)', 40: 'ELOOP (too many symbolic links)',
  95: 'EOPNOTSUPP (operation not supported)',
};

function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

/**
 * What ended a writer that exited with `code`, from its stderr (read as latin1, one char per byte): a ConfinedFsError
 * when its last line is a report, else an Error quoting that line.
 */
export function writerFailure(stderr: string, code: number | null): Error {
  const report = parseFsattrReport(stderr);
  // root.c writes the path's bytes as they are (escaping only quotes, backslashes and control bytes).
  if (report) return new ConfinedFsError(report.op, showName(nameOf(Buffer.from(report.arg, 'latin1'))), report.errno);
  const last = stderr.trim().split('\n').pop() ?? '';
  return new Error(`tsbuild-fsattr root failed (exit ${String(code)}): ${Buffer.from(last, 'latin1').toString('utf8')}`);
}
