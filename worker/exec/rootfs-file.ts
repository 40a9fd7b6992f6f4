import { lstat, readFile, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { OverlayRootfs } from './index.js';

const MAX_SIZE = 4 * 1024 * 1024;

function code(err: unknown): unknown {
  return typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
}

/**
 * Reads a small file (/etc/passwd, /etc/group) as the overlay would show it, without mounting: the upper dir
 * first, then each lower dir, top first. A whiteout (char device 0/0) or a non-directory parent in a higher layer
 * hides the path. Opaque directories are not seen (Node cannot read xattrs): a lower layer's file under a
 * directory that a higher layer made opaque would wrongly show through — acceptable for /etc/passwd.
 */
export async function readRootfsFile(rootfs: OverlayRootfs, path: string, depth = 0): Promise<string | undefined> {
  if (depth > 8) return undefined;
  const rel = posix.normalize(`/${path}`);
  for (const dir of [rootfs.upperDir, ...rootfs.lowerDirs]) {
    const full = join(dir, rel);
    let st;
    try {
      st = await lstat(full);
    } catch (err) {
      if (code(err) === 'ENOENT') continue;
      if (code(err) === 'ENOTDIR') return undefined;
      throw err;
    }
    if (st.isCharacterDevice() && st.rdev === 0) return undefined;
    if (st.isSymbolicLink()) {
      const target = await readlink(full);
      return readRootfsFile(rootfs, posix.resolve(posix.dirname(rel), target), depth + 1);
    }
    if (!st.isFile() || st.size > MAX_SIZE) return undefined;
    return readFile(full, 'utf8');
  }
  return undefined;
}
