import { lstat, readdir } from 'node:fs/promises';
import { concatNames, nameBytes, nameKey, nameOf, type FsName } from '../../common/index.js';
import { RootSession } from './root-session.js';

/**
 * A tree the export wrote: `dir`, a directory tsbuild mounted (an image's final filesystem: read directly, it is
 * trusted), found at `at` under the destination ('' = the destination itself, `linux_arm64` = one platform's
 * directory of a platform split).
 */
export interface ResultTree { dir: string; at: string }

/** What one name of a destination directory is in the result: absent, a directory, or anything else. */
type InResult = 'dir' | 'other';

/**
 * For an export into `dest` (`-o type=local,mode=delete`): removes every entry of `dest` the result does not have, so
 * that once the result is written `dest` holds exactly it, as BuildKit's delete mode has fsutil's receiver (ReceiveOpt.Merge=false,
 * session/filesync/diffcopy.go syncTargetDiffCopy) walk the destination beside what it receives and remove the rest.
 * The result is the union of `trees`. `dest` itself is never removed, and nothing outside it is reached: `dest` is
 * walked through one confined writer (worker/native/fsattr/root.c `J` and `r`), which lists a directory only when it
 * is reached with no symlink and removes an entry without following one (a stale `up -> /` is unlinked as a link,
 * never descended). A directory is descended only when the result has a directory there too; what the result has
 * under a name that is something else in `dest` is left to the export, which replaces it whole (writeTree), and
 * everything the result lacks goes whole. Names the export left out (device nodes, sockets: writeTree's
 * `skipped`) are in the result: BuildKit writes them, so what is at such a name in `dest` is not stale. Returns how
 * many entries were removed (a directory with what was in it counts once).
 */
export async function removeStale(dest: string, trees: ResultTree[]): Promise<{ removed: number }> {
  let removed = 0;
  await RootSession.with(dest, {}, async (session) => {
    session.base('', 'beneath');
    const visit = async (rel: FsName): Promise<void> => {
      const wanted = await resultEntries(trees, rel);
      for (const entry of await session.list(rel)) {
        const path = rel.length === 0 ? entry.name : concatNames(rel, '/', entry.name);
        const inResult = wanted.get(nameKey(entry.name));
        if (inResult === undefined) {
          session.remove(path);
          removed++;
          await session.flushIfFull();
        } else if (inResult === 'dir' && entry.isDir) {
          await visit(path);
        }
      }
    };
    await visit('');
    await session.sync();
  });
  return { removed };
}

/** The names directory `rel` of the result holds, by nameKey: the union of what every tree has there. */
async function resultEntries(trees: ResultTree[], rel: FsName): Promise<Map<string, InResult>> {
  const out = new Map<string, InResult>();
  for (const t of trees) {
    const at = whereIn(t, rel);
    if (at === undefined) continue;
    if ('above' in at) {
      out.set(nameKey(at.above), 'dir');
      continue;
    }
    const dir = at.path.length === 0 ? t.dir : concatNames(t.dir, '/', at.path);
    if (!(await lstat(dir).catch(() => undefined))?.isDirectory()) continue;
    for (const bytes of await readdir(dir, { encoding: 'buffer' })) {
      const name = nameOf(bytes);
      if (out.get(nameKey(name)) === 'dir') continue;
      out.set(nameKey(name), (await lstat(concatNames(dir, '/', name))).isDirectory() ? 'dir' : 'other');
    }
  }
  return out;
}

/**
 * Where directory `rel` of the destination is in tree `t`: `path` in it, or (`above`) the name of the directory
 * under `rel` that leads down to the tree (a platform's directory); undefined when the tree is elsewhere.
 */
function whereIn(t: ResultTree, rel: FsName): { path: FsName } | { above: string } | undefined {
  if (t.at === '') return { path: rel };
  const r = nameBytes(rel);
  const at = Buffer.from(t.at);
  const under = (a: Buffer, b: Buffer): boolean => a.length > b.length && a[b.length] === 0x2f && a.subarray(0, b.length).equals(b);
  if (r.equals(at)) return { path: '' };
  if (under(r, at)) return { path: nameOf(r.subarray(at.length + 1)) };
  const next = (rest: string): string => rest.split('/')[0] ?? rest;
  if (r.length === 0) return { above: next(t.at) };
  if (under(at, r)) return { above: next(at.subarray(r.length + 1).toString()) };
  return undefined;
}
