import { components, showName } from '../../common/index.js';
import type { FsName } from '../../common/index.js';

/** A path that would leave the root it must stay in, lexically (`..` above the root). */
export class EscapeError extends Error {}

/**
 * The one lexical path cleaner: splits an in-root path (tar entry name, link target, COPY destination, WORKDIR) into
 * clean components. A leading `/` is dropped (paths are relative to the root); `.` and empty components vanish; `..`
 * pops, and popping above the root throws EscapeError unless `clamp` is set (chroot semantics: `/..` is `/`).
 * Symlinks are never looked at here: the confined writer resolves them with openat2. A name given as bytes (not
 * UTF-8: common/byte-names.ts) is split on its '/' bytes; `.` and `..` are always text, so the rules are the same.
 */
export function cleanComponents(name: string, clamp?: boolean): string[];
export function cleanComponents(name: FsName, clamp?: boolean): FsName[];
export function cleanComponents(name: FsName, clamp = false): FsName[] {
  const out: FsName[] = [];
  for (const part of components(name)) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) {
        if (clamp) continue;
        throw new EscapeError(`"${showName(name)}" climbs out of the root`);
      }
      out.pop();
    } else {
      out.push(part);
    }
  }
  return out;
}

/** `cleanComponents(name, true)` joined: the relative path the confined writer takes ('' is the root). */
export function inRootPath(name: string): string {
  return cleanComponents(name, true).join('/');
}
