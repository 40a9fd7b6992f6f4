import { readdir, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isTsbuildError, makeDirs, refuseThroughPlanted, replaceFile, UserError } from '../../common/index.js';

/**
 * What is at a destination path now. 'special': a device, FIFO or socket (`dest=/dev/null`, `--iidfile /dev/stdout`,
 * a named pipe): written into as it is, never replaced by a file or removed (as root, a rename over /dev/null made it
 * a regular file on the host).
 */
export type DestState = 'absent' | 'file' | 'special' | 'empty-dir' | 'oci-layout' | 'other-dir';

/** Looks at `path` (through a link): missing, a file, a special file, an empty directory, an OCI layout, or else. */
export async function destState(path: string): Promise<DestState> {
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new UserError('INVALID_ARGUMENT', `cannot read ${path}: ${err.code ?? err.message}`, 'check the path and its permissions');
  });
  if (!info) return 'absent';
  if (!info.isDirectory()) return info.isFile() ? 'file' : 'special';
  const names = await readdir(path);
  if (names.length === 0) return 'empty-dir';
  // image-spec image-layout.md: an `oci-layout` file marks the directory; index.json is its entry point.
  return names.includes('oci-layout') && names.includes('index.json') ? 'oci-layout' : 'other-dir';
}

/**
 * A destination that receives an OCI image layout directory (`-o type=oci,tar=false`, `--cache-to type=local`):
 * missing, empty, or already a layout (added to, as buildx does). Anything else holds the user's files and is refused,
 * never replaced.
 */
export async function checkLayoutDir(path: string, what: string): Promise<void> {
  const state = await destState(path);
  if (state === 'other-dir') {
    throw new UserError('INVALID_ARGUMENT', `${what}: ${path} exists and is not an OCI image layout; refusing to write into it`,
      'name a new or empty directory, or an existing OCI layout (a directory with oci-layout and index.json) to add to');
  }
  if (state === 'file' || state === 'special') {
    throw new UserError('INVALID_ARGUMENT', `${what}: ${path} is a file, not a directory`, 'name a new or empty directory, or drop tar=false to write a tarball');
  }
}

/**
 * A destination that receives one file (a tarball, a report): never an existing directory. Returns what is there:
 * its writer writes a 'special' one in place.
 */
export async function checkFileDest(path: string, what: string): Promise<DestState> {
  const state = await destState(path);
  if (state !== 'absent' && state !== 'file' && state !== 'special') {
    throw new UserError('INVALID_ARGUMENT', `${what}: ${path} is a directory; refusing to replace it with a file`,
      'name a file (e.g. out.tar), or use tar=false for an OCI layout directory');
  }
  return state;
}

/**
 * What the system said when a destination (`dest`: '-' for standard output) could not be written (ENOSPC:
 * `dest=/dev/full`, a full disk; EACCES, EROFS, EIO; ENOENT under /proc) is the destination's failure, not a bug in
 * tsbuild: a user error naming it (`what`: the flag as given), exit status 1 instead of an internal error's 70. An
 * error about another path (reading the content store for the output) and anything else (a tsbuild error, an abort,
 * a bug) is returned as it is.
 */
export function destinationFailure(err: unknown, what: string, dest: string, signal?: AbortSignal): unknown {
  const { code, path } = (err ?? {}) as NodeJS.ErrnoException;
  if (signal?.aborted || isTsbuildError(err) || typeof code !== 'string' || !/^E[A-Z0-9]+$/.test(code)) return err;
  if (typeof path === 'string' && (dest === '-' || !isAbout(resolve(path), resolve(dest)))) return err;
  return new UserError('OUTPUT_FAILED', `${what}: writing failed: ${(err as Error).message}`,
    code === 'ENOSPC' ? 'free some space where it goes, or name another destination' : 'check that the destination is writable', { cause: err });
}

/** Runs `write` to the destination `dest` (`what`: the flag as given); its failure as destinationFailure says it. */
export async function writingTo<T>(what: string, dest: string, signal: AbortSignal | undefined, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    throw destinationFailure(err, what, dest, signal);
  }
}

/** Whether `path` is the destination `dest`, inside it, one of its parents, or beside it (its temp file, FILE.json). */
function isAbout(path: string, dest: string): boolean {
  return path === dest || path.startsWith(`${dest}/`) || dest.startsWith(`${path}/`) || dirname(path) === dirname(dest);
}

/** Creates the parent directories of `file` (as buildx does for its outputs); a failure names the path. */
export async function ensureParent(file: string, what: string): Promise<void> {
  const parent = dirname(resolve(file));
  try {
    await makeDirs(parent);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new UserError('INVALID_ARGUMENT', `${what}: cannot create directory ${parent} (${code})`, 'choose a writable path', { cause: err });
  }
}

/** The destinations of one build: outputs and local cache exports, by what they write. */
interface Destinations {
  outputs: ({ type: string; dest?: string; tar?: boolean })[];
  cacheTo: ({ type: string; dest?: string; ignoreError?: boolean })[];
}

/**
 * Checks every destination of a build before it starts, and creates their parent directories (as buildx does):
 * a layout directory must be missing, empty or a layout; a file output must not be an existing directory. `files`
 * are the other files the build writes (`--report`, `--metadata-file`, `--iidfile`).
 */
export async function prepareDestinations(outputs: Destinations['outputs'], cacheTo: Destinations['cacheTo'], files: (string | undefined)[]): Promise<void> {
  for (const out of outputs) {
    if (out.dest === undefined || out.dest === '-') continue;
    if (out.type === 'oci' && out.tar === false) {
      await checkLayoutDir(out.dest, `-o type=oci,tar=false,dest=${out.dest}`);
      await ensureParent(out.dest, `-o dest=${out.dest}`);
    } else if (out.type === 'oci' || out.type === 'docker' || out.type === 'tar') {
      await checkFileDest(out.dest, `-o type=${out.type},dest=${out.dest}`);
      await ensureParent(out.dest, `-o dest=${out.dest}`);
    } else if (out.type === 'local') {
      const state = await destState(out.dest);
      if (state === 'file' || state === 'special') throw new UserError('INVALID_ARGUMENT', `-o type=local,dest=${out.dest}: ${out.dest} is a file, not a directory`, 'name a directory');
    }
  }
  for (const c of cacheTo) {
    // ignore-error=true: a destination that cannot be written is reported after the build, not refused before it.
    if (c.type !== 'local' || !c.dest || c.ignoreError) continue;
    await checkLayoutDir(c.dest, `--cache-to type=local,dest=${c.dest}`);
    await ensureParent(c.dest, `--cache-to dest=${c.dest}`);
  }
  for (const file of files) {
    if (file === undefined) continue;
    const state = await destState(file);
    if (state !== 'absent' && state !== 'file' && state !== 'special') {
      throw new UserError('INVALID_ARGUMENT', `${file} is a directory; refusing to replace it with a file`, 'name a file');
    }
    await ensureParent(file, file);
  }
}

/**
 * Writes a small output file (--iidfile, a report): into a device or pipe as it is (/dev/stdout), else as a new file
 * in place of whatever is at `path` (replaceFile), a symbolic link replaced and never written through: the build's own
 * `-o type=local` may have planted one there.
 */
export async function writeOutputFile(path: string, data: string | Uint8Array): Promise<void> {
  await refuseThroughPlanted(path, path);
  if ((await destState(path)) === 'special') await writeFile(path, data);
  else await replaceFile(path, data, 0o644, { replaceLink: true });
}
