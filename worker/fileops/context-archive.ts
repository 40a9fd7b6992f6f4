import { open } from 'node:fs/promises';
import { TsbuildError, UserError } from '../../common/index.js';
import { ConfinedFsError, RootSession } from '../confined/index.js';
import { compressionOf, detectArchive, extractArchive, type Compression } from './archive.js';
import { CopyError } from './errors.js';

/** What a build context given as a stream (stdin `-`, a URL's body) is: a tar archive, or text (a Dockerfile). */
export type ContextFileKind = { kind: 'archive'; compression: Compression } | { kind: 'text' };

// Archive formats seen in the wild that are not build contexts: refused by name rather than parsed as a Dockerfile.
const FOREIGN: [string, number[]][] = [
  ['zip', [0x50, 0x4b, 0x03, 0x04]],
  ['7z', [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]],
  ['lz4', [0x04, 0x22, 0x4d, 0x18]],
  ['rar', [0x52, 0x61, 0x72, 0x21, 0x1a, 0x07]],
  ['lzip', [0x4c, 0x5a, 0x49, 0x50]],
];

/**
 * Sorts a context file as buildx (stdin) and BuildKit's dockerui (a URL) do: gzip, bzip2, xz (and zstd, which ADD
 * unpacks too) or a plain tar header make it an archive; anything else is a Dockerfile. A compressed stream holding no
 * tar, and zip/7z/lz4/rar/lzip archives, are refused by name. `label` names the source in messages.
 */
export async function classifyContextFile(file: string, label: string, signal: AbortSignal): Promise<ContextFileKind> {
  const head = Buffer.alloc(512);
  const fh = await open(file, 'r');
  let length: number;
  try {
    length = (await fh.read(head, 0, 512, 0)).bytesRead;
  } finally {
    await fh.close();
  }
  const bytes = head.subarray(0, length);
  const foreign = FOREIGN.find(([, magic]) => magic.every((b, i) => bytes[i] === b))?.[0];
  if (foreign !== undefined) {
    throw new UserError('INVALID_ARGUMENT', `build context ${label} is a ${foreign} archive`, 'a build context archive is a tar, plain or compressed with gzip, bzip2, xz or zstd');
  }
  const compression = compressionOf(bytes);
  const detected = length === 0 ? undefined : await detectArchive(file, signal);
  if (detected !== undefined) return { kind: 'archive', compression: detected };
  if (compression !== 'none') {
    throw new UserError('INVALID_ARGUMENT', `build context ${label} is ${compression} data that is not a tar archive`, `give a tar archive (e.g. tar -c . | ${compression === 'gzip' ? 'gzip' : compression})`);
  }
  return { kind: 'text' };
}

/**
 * Extracts a context archive into `destDir`, an empty private directory outside every root, through the confined
 * writer (worker/native/fsattr root.c) exactly as ADD extracts an archive into a root: names that climb out with `..`
 * or hard links that point outside are refused, a leading `/` is dropped, symlinks are written as links and any
 * symlink on the way of a later entry is followed inside `destDir` only; device nodes are refused.
 */
export async function extractContextArchive(file: string, compression: Compression, destDir: string, label: string, signal: AbortSignal): Promise<void> {
  const progress = { log: () => undefined, status: () => undefined };
  try {
    await RootSession.with(destDir, {}, async (session) => {
      session.policy('layer');
      session.parents({ uid: 0, gid: 0 }, 0o755);
      await extractArchive(file, compression, '/', session, { owner: undefined, keepIds: true, mode: undefined, signal, progress }, 'refuse');
    });
  } catch (err) {
    if (err instanceof CopyError && err.code === 'CANCELLED') throw err;
    if (err instanceof TsbuildError) throw new UserError('INVALID_ARGUMENT', `build context ${label}: ${err.message}`, err.hint, { cause: err });
    if (err instanceof ConfinedFsError) {
      throw new UserError('INVALID_ARGUMENT', `build context ${label}: cannot extract entry ${JSON.stringify(err.arg)}: ${err.message}`,
        err.isEscape ? 'the archive points outside itself (path traversal); repack it with relative paths' : 'the archive refers to something it does not hold (e.g. a hard link to a file outside it); repack it', { cause: err });
    }
    throw err;
  }
}
