import { lstat, readlink } from 'node:fs/promises';
import path from 'node:path';
import { CopyError } from './errors.js';

/** Options of resolveInRoot. */
export interface ResolveOptions {
  /** Follow the last component too when it is a symlink (`stat` semantics) instead of returning the link itself. */
  followLast: boolean;
}

// Linux gives up after 40 nested links (MAXSYMLINKS); a loop must fail, not spin.
const MAX_LINKS = 40;

/**
 * Resolves `p`, a path inside a container root filesystem, to a host path under `rootDir` as the container would see
 * it, without ever leaving `rootDir`: every symlink met on the way is resolved relative to the root (an absolute
 * target restarts at `rootDir`), and `..` clamps at the root, exactly as if `rootDir` were `/` (chroot semantics).
 * Components that do not exist are appended lexically. The result is always `rootDir` or below it.
 */
export async function resolveInRoot(rootDir: string, p: string, options: ResolveOptions): Promise<string> {
  const root = path.resolve(rootDir);
  const resolved: string[] = [];
  const pending = splitPath(p);
  let links = 0;
  let exists = true;
  while (pending.length > 0) {
    const part = pending.shift() ?? '';
    if (part === '.' || part === '') continue;
    if (part === '..') { resolved.pop(); continue; }
    resolved.push(part);
    const isLast = pending.length === 0;
    if (!exists || (isLast && !options.followLast)) continue;
    const host = path.join(root, ...resolved);
    let target: string;
    try {
      const st = await lstat(host);
      if (!st.isSymbolicLink()) continue;
      target = await readlink(host);
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) { exists = false; continue; }
      throw err;
    }
    if (++links > MAX_LINKS) {
      throw new CopyError('INVALID_ARGUMENT', `too many levels of symbolic links resolving ${JSON.stringify(p)}`, 'a symlink in the image points back into itself');
    }
    resolved.pop();
    if (target.startsWith('/')) resolved.length = 0;
    pending.unshift(...splitPath(target));
  }
  return path.join(root, ...resolved);
}

/** Splits a container path into its components, ignoring empty ones (leading, doubled or trailing slashes). */
export function splitPath(p: string): string[] {
  return p.split('/').filter((s) => s !== '');
}

/** True when `err` is a Node system error with this `code`. */
export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && (err as { code: unknown }).code === code;
}

/** True when `child` is `parent` or inside it (both absolute, normalised host paths). */
export function isWithin(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith('../') && !path.isAbsolute(rel));
}
