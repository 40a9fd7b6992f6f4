import { lchown, lstat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../registry/oci/index.js';
import { EscapeError, cleanComponents, resolveDirInRoot } from './layers/in-root.js';
import type { Owner } from './user.js';

/**
 * `mkdir -p` of `path` inside the mounted root `rootDir`, following symlinks as a chroot would; only the
 * directories it creates get `owner` (BuildKit's WORKDIR behaviour), existing ones keep theirs.
 */
export async function mkdirInRoot(rootDir: string, path: string, owner: Owner): Promise<void> {
  try {
    const parts = cleanComponents(path);
    for (let i = 0; i < parts.length; i++) {
      const parent = await resolveDirInRoot(rootDir, parts.slice(0, i), false);
      const target = join(parent, parts[i] as string);
      const st = await lstat(target).catch(() => undefined);
      if (st === undefined) {
        await mkdir(target, { mode: 0o755 });
        await lchown(target, owner.uid, owner.gid);
      } else if (!st.isDirectory() && !st.isSymbolicLink()) {
        throw new UserError('INVALID_ARGUMENT', `cannot create directory "${path}": "${parts.slice(0, i + 1).join('/')}" is not a directory`);
      }
    }
    await resolveDirInRoot(rootDir, parts, false);
  } catch (err) {
    if (err instanceof EscapeError) throw new UserError('INVALID_ARGUMENT', `cannot create directory "${path}": ${err.message}`, undefined, { cause: err });
    throw err;
  }
}
