import { constants } from 'node:fs';
import { lstat, open, readdir, readlink, rm } from 'node:fs/promises';
import path from 'node:path';
import { inRootPath, type RootSession } from '../confined/index.js';
import { CopyError } from './errors.js';
import { gitAuth, type RemoteAccess } from './remote-access.js';
import { fetchGit } from './git-fetch.js';
import { makeTempDir } from '../temp-dirs.js';
import { parseGitRef } from './git-ref.js';
import { redactUrl } from '../../common/index.js';
import type { WriteOptions } from './tree-writer.js';

/**
 * ADD <git url> <dest> (BuildKit's git source): fetches the ref into a private temp directory outside the root
 * (git-fetch.ts: no hooks, network protocols only), then writes the checkout's contents into the directory `dest`
 * through the root's confined writer: directories, files and symlinks (kept as links), owned by --chown or root,
 * modes as checked out unless --chmod. `.git` only with --keep-git-dir (or `?keep-git-dir=true`); `--checksum`
 * is the commit the ref must resolve to. `git.commits`: the build's resolutions, whose commit the step was keyed by: that
 * commit is fetched, never the ref's newer one. Returns the commit.
 */
export async function addGit(source: string, dest: string, keepGitDir: boolean | undefined, checksum: string | undefined, session: RootSession, opts: WriteOptions, tempDir: string, git?: RemoteAccess): Promise<string> {
  const ref = parseGitRef(source);
  if (ref === undefined) throw new Error(`addGit: ${redactUrl(source)} is not a git URL`);
  if (checksum !== undefined && checksum !== '') ref.checksum = checksum;   // fetchGit verifies it
  // The checkout goes under the state root's temp dir, as ADD <url>'s download does (add-url.ts): a repository can be
  // of any size, and one a SIGKILLed build left there is removed by the next build or prune (`git-<pid>-…`).
  const work = await makeTempDir(tempDir, 'git');
  try {
    const code = 'COPY_SOURCE_NOT_FOUND';
    const auth = await gitAuth(git, ref.remote);
    const commit = await git?.commits.resolve(ref, { signal: opts.signal, code, ...auth });
    const checkout = await fetchGit(ref, work, { signal: opts.signal, code, ...auth, ...(keepGitDir ? { keepGitDir } : {}), ...(commit !== undefined ? { commit } : {}) });
    let from = checkout.dir;
    for (const part of ref.subdir.split('/').filter((p) => p !== '')) {
      from = path.join(from, part);
      const st = await lstat(from).catch(() => undefined);
      if (st === undefined || !st.isDirectory()) {
        throw new CopyError('COPY_SOURCE_NOT_FOUND', `ADD ${redactUrl(source)}: ${JSON.stringify(ref.subdir)} is not a directory at ${checkout.commit}`, 'check the path after ":" in the URL fragment');
      }
    }
    const destRel = inRootPath(dest);
    const owner = opts.owner ?? { uid: 0, gid: 0 };
    if (destRel !== '') {
      session.dir(destRel, true);
      session.meta({ ...owner, mode: 0o755 }, true);
    }
    await writeCheckout(from, '', destRel, session, opts);
    await session.sync();
    opts.progress.status(`added ${redactUrl(ref.remote)} at ${checkout.commit}`);
    return checkout.commit;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

// The checkout is private (0700, written only by the git this process ran): lstat and O_NOFOLLOW keep its symlinks
// as links; nothing is ever read through one.
async function writeCheckout(root: string, rel: string, destRel: string, session: RootSession, opts: WriteOptions): Promise<void> {
  const owner = opts.owner ?? { uid: 0, gid: 0 };
  for (const name of (await readdir(rel === '' ? root : path.join(root, rel))).sort()) {
    if (opts.signal.aborted) throw new CopyError('CANCELLED', 'copy cancelled', undefined, { cause: opts.signal.reason });
    const entry = rel === '' ? name : `${rel}/${name}`;
    const abs = path.join(root, entry);
    const target = destRel === '' ? entry : `${destRel}/${entry}`;
    const st = await lstat(abs);
    const ns = BigInt(Math.floor(st.mtimeMs)) * 1_000_000n;
    const mode = (m: number, isDir: boolean): number => (opts.mode === undefined ? m : opts.mode(m, isDir));
    if (st.isDirectory()) {
      session.dir(target, false);
      session.meta({ ...owner, mode: mode(st.mode & 0o7777, true), atimeNs: ns, mtimeNs: ns });
      await writeCheckout(root, entry, destRel, session, opts);
    } else if (st.isSymbolicLink()) {
      session.symlink(target, await readlink(abs));
      session.meta({ ...owner, atimeNs: ns, mtimeNs: ns });
    } else if (st.isFile()) {
      const fh = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        await session.file(target, fh.createReadStream({ autoClose: false }));
      } finally {
        await fh.close();
      }
      session.meta({ ...owner, mode: mode(st.mode & 0o7777, false), atimeNs: ns, mtimeNs: ns });
    }
    await session.flushIfFull();
  }
}
