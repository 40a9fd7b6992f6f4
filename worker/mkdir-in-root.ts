import { ConfinedFsError, RootSession, inRootPath, readAccounts } from './confined/index.js';
import { resolveOwner } from './user.js';
import { UserError } from '../common/index.js';

/**
 * WORKDIR: `mkdir -p` of `path` inside the mounted root `rootDir` through the confined writer, following symlinks
 * as a chroot would (openat2 RESOLVE_IN_ROOT: a link to a host directory lands in the image's directory of that
 * name). Only the directories it creates get the owner of `user` as BuildKit's Mkdir WithUser resolves it (worker/
 * user.ts: `USER 5` gives 5:5, `USER games:` 5:0), 0755; existing ones keep theirs.
 */
export async function mkdirInRoot(rootDir: string, path: string, user: string): Promise<void> {
  const rel = inRootPath(path);
  if (rel === '') return;
  try {
    await RootSession.with(rootDir, {}, async (session) => {
      const { owner } = await resolveOwner(user, () => readAccounts(session));
      session.parents(owner, 0o755);
      session.policy('copy');
      session.dir(rel, true);
      session.meta({ ...owner, mode: 0o755 }, true);
    });
  } catch (err) {
    if (err instanceof ConfinedFsError && err.errno !== 28 && err.errno !== 5) {
      throw new UserError('INVALID_ARGUMENT', `cannot create directory "${path}": ${err.message}`,
        'a component of the path exists in the image as a file; pick another WORKDIR', { cause: err });
    }
    throw err;
  }
}
