import { lstat, readdir, readlink } from 'node:fs/promises';
import { concatNames, nameOf, showName, sortedNames } from '../../common/index.js';
import type { FsName } from '../../common/index.js';
import { RootSession } from './root-session.js';

/** How a tree is written into a user's directory. */
export interface WriteTreeOptions {
  /** Owner of every entry written (the invoking user, as buildx's local exporter does). */
  owner: { uid: number; gid: number };
  /**
   * A directory of `dest` to write the tree into instead of `dest` itself (a platform's directory, `linux_arm64`):
   * made by the same writer, beneath `dest`, a real directory whatever was there (a link an earlier image put in
   * `dest` under that name is replaced, never written through). Mode 0755, as BuildKit's platformDirStat.
   */
  at?: string;
}

/** What `writeTree` left out: device nodes and sockets, by path relative to the tree (bytes that are not UTF-8 as \xNN). */
export interface WriteTreeResult { skipped: string[] }

/**
 * Writes the tree at `source` (a read-only mount tsbuild made: an image's final filesystem) into `dest`, a directory
 * the user named, through one confined writer on `dest`: every entry is created with O_EXCL|O_NOFOLLOW beneath
 * `dest` (parents resolved with RESOLVE_BENEATH), whatever is in the way is replaced (buildx merges into an existing
 * directory the same way), symlinks are written as symlinks and never followed, and hardlinks only join entries
 * written here. Nothing from the image becomes a live privilege on the host: every entry is owned by `owner`, a file
 * owned by root loses its setuid/setgid bits, and device nodes and sockets are left out (returned as skipped).
 */
export async function writeTree(source: string, dest: string, options: WriteTreeOptions): Promise<WriteTreeResult> {
  const skipped: string[] = [];
  const seen = new Map<string, FsName>();
  const { uid, gid } = options.owner;
  await RootSession.with(dest, { sourceRoot: source }, async (session) => {
    session.base('', 'beneath');
    session.policy('layer');
    session.parents({ uid, gid }, 0o755);
    const at = options.at ?? '';
    if (at !== '') {
      session.dir(at, false);
      session.meta({ uid, gid, mode: 0o755 });
    }
    const destPath = (path: FsName): FsName => (at === '' ? path : concatNames(at, '/', path));
    // Names as bytes, written as bytes: a name that is not UTF-8 is kept (common/byte-names.ts).
    const visit = async (rel: FsName): Promise<void> => {
      const names = sortedNames(await readdir(rel.length === 0 ? source : concatNames(source, '/', rel), { encoding: 'buffer' }));
      for (const name of names) {
        const path = rel.length === 0 ? name : concatNames(rel, '/', name);
        const st = await lstat(concatNames(source, '/', path));
        const ns = BigInt(Math.floor(st.mtimeMs)) * 1_000_000n;
        const times = { atimeNs: ns, mtimeNs: ns };
        if (st.isDirectory()) {
          session.dir(destPath(path), false);
          session.meta({ uid, gid, mode: st.mode & 0o7777, ...times });
          await visit(path);
        } else if (st.isSymbolicLink()) {
          session.symlink(destPath(path), nameOf(await readlink(concatNames(source, '/', path), { encoding: 'buffer' })));
          session.meta({ uid, gid, ...times });
        } else if (st.isFile() && st.nlink > 1 && seen.has(`${st.dev}:${st.ino}`)) {
          session.hardlink(destPath(path), destPath(seen.get(`${st.dev}:${st.ino}`) ?? ''));
        } else if (st.isFile()) {
          if (st.nlink > 1) seen.set(`${st.dev}:${st.ino}`, path);
          // The C side opens the source beneath `source` without following its last component.
          session.copy(destPath(path), path);
          const mode = st.mode & 0o7777 & (uid === 0 ? ~0o6000 : 0o7777);
          session.meta({ uid, gid, mode, ...times });
        } else if (st.isFIFO()) {
          session.node(destPath(path), 'fifo');
          session.meta({ uid, gid, mode: st.mode & 0o777, ...times });
        } else {
          skipped.push(showName(path));
        }
        await session.flushIfFull();
      }
    };
    await visit('');
  });
  return { skipped };
}
