import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { concatNames, nameBytes, nameOf, type FsName } from '../../common/index.js';
import { layerEntries, tarOf, type LayerTarOptions, type TarEntry } from './layer-tar.js';
import type { TarHeader } from './tar-header.js';

/** One tree of a tar that holds several (subDirsTar). */
export interface TarSubDir {
  /** The directory the tree is put under in the tar: one component (`linux_arm64`). */
  name: string;
  /** Where the tree is mounted. */
  dir: string;
  /** A directory whose files follow the tree's under the same name (a tar output's attestation files). */
  extra?: string;
}

/**
 * Several trees as one tar, each under its own top directory, as fsutil's SubDirFS walked by WriteTar makes BuildKit's
 * multi-platform `-o type=tar` (exporter/tar/export.go): the trees in name order, each top directory root-owned, 0755
 * and dated `mtime` (seconds), then that tree's entries as layerTar writes them with the directory's name in front.
 * Sorted and reproducible as layerTar is.
 */
export function subDirsTar(subDirs: TarSubDir[], mtime: number, options: LayerTarOptions = {}): Readable {
  const sorted = [...subDirs].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  sorted.forEach((s, k) => {
    // SubDirFS refuses both too (EISDIR "invalid path", EEXIST "duplicate path"); the callers name platforms.
    if (s.name === '' || s.name.includes('/') || s.name === '.' || s.name === '..') throw new Error(`a tar sub-directory must be one name, not ${JSON.stringify(s.name)}`);
    if (s.name === sorted[k - 1]?.name) throw new Error(`two trees of one tar under ${s.name}/`);
  });
  return tarOf(entries(sorted, mtime, options));
}

async function* entries(subDirs: TarSubDir[], mtime: number, options: LayerTarOptions): AsyncGenerator<TarEntry> {
  for (const sub of subDirs) {
    yield { header: { name: `${sub.name}/`, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime, size: 0 } };
    for await (const entry of layerEntries(sub.dir, options)) yield { ...entry, header: under(sub.name, entry.header) };
    if (sub.extra !== undefined) for await (const entry of layerEntries(sub.extra, options)) yield { ...entry, header: under(sub.name, entry.header) };
  }
}

/**
 * `header` moved under `dir`. A hard link names another entry of the tar, so its target moves too. An absolute
 * symlink's target moves as well, cleaned as Go's path.Join cleans it: SubDirFS.Walk rewrites both, so that `/bin/sh
 * -> /bin/busybox` still points into its own platform's tree once the tar is extracted; a relative one is left alone.
 */
function under(dir: string, header: TarHeader): TarHeader {
  const name = concatNames(dir, '/', header.name);
  const link = header.linkname;
  if (header.type === 'link' && link !== undefined) return { ...header, name, linkname: concatNames(dir, '/', link) };
  if (header.type === 'symlink' && link !== undefined && nameBytes(link)[0] === 0x2f) return { ...header, name, linkname: rootedJoin(dir, link) };
  return { ...header, name };
}

/** Go's path.Join("/" + dir, target) on a name's bytes (latin1 maps each byte to one character and back). */
function rootedJoin(dir: string, target: FsName): FsName {
  const joined = posix.join(`/${nameBytes(dir).toString('latin1')}`, nameBytes(target).toString('latin1'));
  // path.Clean drops a trailing slash, which posix.join keeps.
  const clean = joined.length > 1 && joined.endsWith('/') ? joined.slice(0, -1) : joined;
  return nameOf(Buffer.from(clean, 'latin1'));
}
