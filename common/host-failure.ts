import { UserError } from './errors.js';

// What the machine refused, not what tsbuild got wrong: a full disk, a quota, a read-only file system. Such a failure
// can come from any write (a layer's unpack through the confined writer, a blob's ingest, SQLite's commit of the
// build's record), so it is recognised once, here, for the error the user sees: a message that says so and a hint,
// exit status 1, instead of an internal error with a stack.

const BY_ERRNO: Record<number, string> = { 28: 'ENOSPC', 122: 'EDQUOT', 30: 'EROFS' };
// node:sqlite's errcode for SQLITE_FULL and SQLITE_READONLY.
const BY_SQLITE: Record<number, string> = { 13: 'ENOSPC', 8: 'EROFS' };

const TEXT: Record<string, { what: string; hint: string }> = {
  ENOSPC: { what: 'no space left on device', hint: 'free space on that file system: `tsbuild du` shows what the build cache holds, `tsbuild prune` removes it' },
  EDQUOT: { what: 'disk quota exceeded', hint: 'free space within your quota: `tsbuild du` shows what the build cache holds, `tsbuild prune` removes it' },
  EROFS: { what: 'read-only file system', hint: 'the state root (--root) and the destinations must be on a writable file system' },
};

/** The host failure `err` (or an error in its cause chain) is, as a user error; undefined for anything else. */
export function hostFailure(err: unknown): UserError | undefined {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, errno, errcode, path } = e as { code?: unknown; errno?: unknown; errcode?: unknown; path?: unknown };
    const kind = typeof code === 'string' && code in TEXT ? code
      : code === 'ERR_SQLITE_ERROR' && typeof errcode === 'number' ? BY_SQLITE[errcode]
      : typeof errno === 'number' && code === undefined ? BY_ERRNO[errno] : undefined;
    if (kind === undefined) continue;
    const text = TEXT[kind] as { what: string; hint: string };
    // The path the system named, or the confined writer's entry (`arg`), when there is one.
    const arg = (e as { arg?: unknown }).arg;
    const where = typeof path === 'string' ? path : typeof arg === 'string' && arg !== '' ? `/${arg}` : undefined;
    const message = err instanceof Error ? err.message : String(err);
    const detail = message.toLowerCase().includes(text.what) ? '' : `: ${message}`;
    return new UserError('HOST_RESOURCE', `${text.what}${where === undefined ? '' : ` (writing ${where})`}${detail}`, text.hint, { cause: err });
  }
  return undefined;
}
