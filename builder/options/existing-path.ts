import { lstatSync, readlinkSync } from 'node:fs';
import { isAbsolute, join, normalize, resolve, sep } from 'node:path';

/**
 * `p` (relative to `cwd`) with the symbolic links of its existing part followed, as buildx's
 * osutil.EvaluateToExistingPath (util/osutil/path.go) walks it: component by component with lstat, each link's
 * target put in its place (from the root when absolute), `..` taken lexically on what is resolved so far. `path` is
 * the deepest existing directory or entry reached, `rest` what is left below it once a component is missing ('' when
 * the whole path exists). Unlike a realpath of the longest existing prefix, a dangling link is followed to where it
 * points: `out -> /elsewhere/new` is `/elsewhere` + `new`, outside the working directory.
 */
export function evaluateToExistingPath(p: string, cwd = process.cwd()): { path: string; rest: string } {
  let todo = splitPath(resolve(cwd, p));
  let dest: string = sep;
  let links = 0;
  while (todo.length > 0) {
    const [head, ...tail] = todo;
    todo = tail;
    if (head === undefined || head === '' || head === '.') continue;
    if (head === '..') {
      dest = normalize(join(dest, '..'));
      continue;
    }
    const next = join(dest, head);
    let st;
    try {
      st = lstatSync(next);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { path: dest, rest: [head, ...tail].join(sep) };
      throw err;
    }
    if (!st.isSymbolicLink()) {
      if (!st.isDirectory() && tail.length > 0) throw Object.assign(new Error(`not a directory: ${next}`), { code: 'ENOTDIR' });
      dest = next;
      continue;
    }
    if (++links > 255) throw Object.assign(new Error(`too many symlinks: ${p}`), { code: 'ELOOP' });
    const target = readlinkSync(next);
    if (isAbsolute(target)) dest = sep;
    todo = [...splitPath(target), ...tail];
  }
  return { path: dest, rest: '' };
}

/** `p` as evaluateToExistingPath resolves it, the missing rest joined back on. */
export function evaluatedPath(p: string, cwd = process.cwd()): string {
  const { path, rest } = evaluateToExistingPath(p, cwd);
  return rest === '' ? path : join(path, rest);
}

function splitPath(p: string): string[] {
  return p.split(sep);
}
