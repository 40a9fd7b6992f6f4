import { createWriteStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FsState } from '../../solver/index.js';
import { ConfinedFsError, isInUserNamespace, layerTar, layerTarWith, removeStale, subDirsTar, writeTree, type LinuxWorker, type TarSubDir } from '../../worker/index.js';
import type { MadeAttestation } from '../attest/attest-build.js';
import { writeAttestationFiles, type AttestationFileOptions } from './attestation-files.js';
import { makeDirs, markPlanted, pathTooLongError, UserError } from '../../common/index.js';
import { checkFileDest } from '../options/destinations.js';
import { replaceWithNew } from './place-file.js';

/**
 * `-o type=local,dest=DIR`: the final filesystem written into DIR as buildx's local exporter writes it: modes, links
 * and times kept, every entry owned by the invoking user (fsutil's receiver sets the client's uid/gid). It goes
 * through one confined writer on DIR (worker/confined writeTree), so a symlink from the image (`x -> /etc`, `up ->
 * ../../..`) or one already in DIR is written or replaced, never followed out of DIR. Unlike buildx run as root,
 * nothing becomes a live privilege on the host: root-owned files lose setuid/setgid and device nodes are left out
 * (returned as `skipped`). `at`: a directory of DIR to write into instead (a platform's, `linux_arm64`), made by the
 * same writer: a link an earlier image left in DIR under that name is replaced, never written through.
 */
export async function writeLocal(worker: LinuxWorker, fs: FsState, dest: string, at = '', attest?: OutputAttestations): Promise<{ skipped: string[] }> {
  await makeDirs(dest);
  markPlanted(dest);
  const owner = localOwner();
  return worker.withFs(fs, async (dir) => {
    try {
      const written = await writeTree(dir, dest, { owner, at });
      // The attestation files go in by the same confined writer, beside the tree's (BuildKit merges them into the
      // filesystem it sends).
      await withAttestationFiles(worker, dir, attest, async (files) => { if (files !== undefined) await writeTree(files, dest, { owner, at }); });
      return written;
    } catch (err) {
      if (!(err instanceof ConfinedFsError)) throw tooLongInImage(err) ?? err;
      throw new UserError('INVALID_ARGUMENT', `writing ${dest} failed: ${err.message}`, 'check that the destination is a writable directory', { cause: err });
    }
  });
}

/**
 * `-o type=local,dest=DIR,mode=delete`: removes what DIR holds that the result does not, so that once every tree is
 * written DIR holds exactly the result. The result is every tree at its place (`at`: '' for DIR itself, a platform's
 * directory of a platform split), as BuildKit's delete mode sends one filesystem, the platforms merged or each under
 * its directory (exporter/local/export.go, Export). Done by the confined writer on DIR (worker/confined
 * removeStale): nothing is followed out of DIR and DIR itself stays. Returns how many entries were removed.
 */
export async function removeStaleLocal(worker: LinuxWorker, trees: { at: string; fs: FsState }[], dest: string): Promise<number> {
  await makeDirs(dest);
  return withMounted(worker, trees.map((t) => ({ name: t.at, fs: t.fs })), async (mounted) => {
    try {
      return (await removeStale(dest, mounted.map((m) => ({ dir: m.dir, at: m.name })))).removed;
    } catch (err) {
      if (!(err instanceof ConfinedFsError)) throw err;
      throw new UserError('INVALID_ARGUMENT', `removing stale entries from ${dest} (mode=delete) failed: ${err.message}`,
        'check that everything in the destination may be removed by you, or use mode=copy', { cause: err });
    }
  });
}

/**
 * Who owns what `-o type=local` writes. Rootless, this process is uid 0 of the user namespace builder/rootless.ts made,
 * which maps namespace id 0 to the user who ran tsbuild and every other id to a subordinate id: 0:0 here is the user
 * on the host, any other owner (an image's 1000:1000 kept as is) would leave files the user cannot delete.
 */
function localOwner(): { uid: number; gid: number } {
  if (isInUserNamespace()) return { uid: 0, gid: 0 };
  return { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
}

/**
 * `-o type=tar,dest=FILE` (or `-o -` for stdout): the final filesystem as one tar, sorted and reproducible.
 * Every xattr, as fsutil's WriteTar writes BuildKit's tar exporter's (exporter/tar/export.go: each entry's Stat, xattrs
 * and all); only an image layer keeps security.capability alone.
 */
export async function writeFsTar(worker: LinuxWorker, fs: FsState, dest: string, signal: AbortSignal, attest?: OutputAttestations): Promise<void> {
  await worker.withFs(fs, (dir) => withAttestationFiles(worker, dir, attest, (files) =>
    writeTar(() => (files === undefined ? layerTar(dir, { xattrs: 'all' }) : layerTarWith(dir, files, { xattrs: 'all' })), dest, signal)));
}

/** The attestations a local or tar output writes beside a platform's files, and how they are named and dated. */
export interface OutputAttestations { made: MadeAttestation[]; options: AttestationFileOptions }

/**
 * Runs `fn` on a directory (in the root's temp dir, removed after) holding the attestation files of the tree mounted
 * at `tree`, or on undefined when there are none to write (none asked, or only inline-only ones made).
 */
async function withAttestationFiles<T>(worker: LinuxWorker, tree: string, attest: OutputAttestations | undefined, fn: (files: string | undefined) => Promise<T>): Promise<T> {
  if (attest === undefined || attest.made.every((a) => a.inlineOnly)) return fn(undefined);
  return worker.withTempDir('attest', async (files) => fn((await writeAttestationFiles(tree, attest.made, files, attest.options)).length > 0 ? files : undefined));
}

/**
 * `-o type=tar` of several platforms: one tar with each platform's filesystem under its own directory (`linux_amd64/`,
 * `linux_arm64/`: subDirsTar), written as writeFsTar writes one. The top directories are dated `mtime` (seconds).
 */
export async function writePlatformsTar(worker: LinuxWorker, trees: { name: string; fs: FsState; attest?: OutputAttestations }[], mtime: number, dest: string, signal: AbortSignal): Promise<void> {
  await withMounted(worker, trees, async (mounted) => {
    const subDirs: TarSubDir[] = [];
    // Each tree's attestation files in a directory of their own, made (and removed) around the tar's writing.
    const withExtras = async (k: number): Promise<void> => {
      const sub = mounted[k];
      if (sub === undefined) return writeTar(() => subDirsTar(subDirs, mtime, { xattrs: 'all' }), dest, signal);
      return withAttestationFiles(worker, sub.dir, trees[k]?.attest, (extra) => {
        subDirs.push(extra === undefined ? sub : { ...sub, extra });
        return withExtras(k + 1);
      });
    };
    await withExtras(0);
  });
}

/** `fn` with every tree mounted (`mounted` in the same order), each unmounted once it returns. */
async function withMounted<T>(worker: LinuxWorker, trees: { name: string; fs: FsState }[], fn: (mounted: TarSubDir[]) => Promise<T>, mounted: TarSubDir[] = []): Promise<T> {
  const [first, ...rest] = trees;
  if (first === undefined) return fn(mounted);
  return worker.withFs(first.fs, (dir) => withMounted(worker, rest, fn, [...mounted, { name: first.name, dir }]));
}

/**
 * Writes the tar `open` makes to `dest`: stdout for `-`; a special file (dest=/dev/null, a named pipe) is written
 * into, as buildx writes it; a file takes the place of an old one only once it is whole (replaceWithNew).
 */
async function writeTar(open: () => Readable, dest: string, signal: AbortSignal): Promise<void> {
  const into = (out: NodeJS.WritableStream): Promise<void> => pipeline(open(), out, { signal }).catch((err: unknown) => {
    throw tooLongInImage(err) ?? err;
  });
  if (dest === '-') await into(process.stdout);
  else if ((await checkFileDest(dest, 'tar output')) === 'special') await into(createWriteStream(dest));
  else await replaceWithNew(dest, (tmp) => into(createWriteStream(tmp, { flags: 'wx' })));
}

/**
 * The paths of every entry but the directories in `fs`, relative to its root. Read by name only: a symlink is an
 * entry, never followed.
 */
export async function filesIn(worker: LinuxWorker, fs: FsState): Promise<string[]> {
  return worker.withFs(fs, async (dir) => {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries.filter((e) => !e.isDirectory()).map((e) => relative(dir, join(e.parentPath, e.name)));
  });
}

/** A path of the final filesystem over the host's limit, where it is mounted to be read. */
function tooLongInImage(err: unknown): UserError | undefined {
  return pathTooLongError(err, 'a path in the image', 'nest the directories less deeply: a path in the image plus the directory tsbuild mounts it on (about 40 bytes) must stay under 4096 bytes');
}
