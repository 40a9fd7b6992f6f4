import { constants } from 'node:fs';
import { open, readlink } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';
import { readTextBounded, UserError } from '../common/index.js';

/** Far beyond any real Dockerfile or .dockerignore (a 50 MB one parses in 0.4 s); a 4 GB one would exhaust the heap. */
export const MAX_CONTEXT_FILE_BYTES = 64 * 1024 * 1024;

function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !rel.startsWith(sep));
}

/**
 * Reads the Dockerfile or `.dockerignore` at `path` the way docker's CLI accepts it: a regular file of at most 64 MiB,
 * and, when `path` names a file inside the context, one that is still inside the context once its symlinks are
 * followed (a context whose `Dockerfile -> /etc/shadow` printed the hash line in a syntax error). A FIFO or a device
 * in the context is refused instead of read until it ends. An explicit `-f` outside the context is the caller's own
 * choice and may be a link anywhere or a pipe (`-f /dev/stdin`), as with docker. Rejects with an ENOENT/EISDIR-coded error as
 * readFile would for a missing file or a directory, so callers keep their messages.
 */
export async function readContextFile(path: string, contextDir: string): Promise<string> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw Object.assign(new Error(`${path} is a directory`), { code: 'EISDIR' });
    const context = resolve(contextDir);
    if (inside(context, resolve(path))) {
      const [real, realContext] = await Promise.all([readlink(`/proc/self/fd/${fh.fd}`), realContextDir(context)]);
      if (!inside(realContext, real)) {
        throw new UserError('DOCKERFILE_NOT_FOUND', `${path} is a symlink to ${real}, outside the build context ${contextDir}`,
          'a Dockerfile or .dockerignore in the context must stay in the context; pass -f with a path outside the context to use that file on purpose');
      }
      if (!st.isFile()) {
        throw new UserError('DOCKERFILE_NOT_FOUND', `${path} is not a regular file (a FIFO, socket or device)`, 'use a regular file');
      }
    }
    return await readTextBounded(fh, { max: MAX_CONTEXT_FILE_BYTES, name: path, code: 'DOCKERFILE_NOT_FOUND', hint: 'a Dockerfile or .dockerignore this large is not one' }, st);
  } finally {
    await fh.close();
  }
}

async function realContextDir(dir: string): Promise<string> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    return await readlink(`/proc/self/fd/${fh.fd}`);
  } finally {
    await fh.close();
  }
}
