import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { joinComponents, showName } from '../../common/index.js';
import type { FsName } from '../../common/index.js';
import { CopyError, throwIfAborted } from './errors.js';
import { cleanComponents, EscapeError, inRootPath, type RootSession } from '../confined/index.js';
import { setXattrs } from '../layers/apply.js';
import { isTarHeader, readTar, TarReadError, unpackTimes } from '../layers/tar-reader.js';
import type { WriteOptions } from './tree-writer.js';

/** The compressions ADD recognises on a local archive, by magic bytes (never by file name, as docker does). */
export type Compression = 'none' | 'gzip' | 'bzip2' | 'xz' | 'zstd';

const MAGIC: [Compression, number[]][] = [
  ['gzip', [0x1f, 0x8b, 0x08]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
];

/** The compression `head` (the first bytes of a stream) starts with, by magic bytes; 'none' when no known one. */
export function compressionOf(head: Buffer): Compression {
  return MAGIC.find(([, magic]) => magic.every((b, i) => head[i] === b))?.[0] ?? 'none';
}

/** What ADD does with a local file: the compression when it is a tar archive (to extract), else undefined (copy). */
export async function detectArchive(file: string, signal: AbortSignal): Promise<Compression | undefined> {
  const head = await readHead(createReadStream(file, { start: 0, end: 511 }), 512);
  const compression = compressionOf(head);
  if (compression === 'none') return isTarHeader(head) ? 'none' : undefined;
  const stream = decompress(file, compression, signal);
  try {
    return isTarHeader(await readHead(stream, 512)) ? compression : undefined;
  } catch {
    return undefined;   // corrupt compressed data: docker copies such a file as it is
  } finally {
    stream.destroy();
  }
}

/**
 * The newest mtime (whole seconds) of a regular file in `file` when it is a tar archive (plain or compressed), else
 * undefined, also for an archive that turns out damaged: what BuildKit takes as SOURCE_DATE_EPOCH=context for a
 * context downloaded without a Last-Modified header (dockerfile2llb epoch.go, archiveMaxTimeFromRef).
 */
export async function archiveMaxTime(file: string, signal: AbortSignal): Promise<number | undefined> {
  const compression = await detectArchive(file, signal);
  if (compression === undefined) return undefined;
  const source = decompress(file, compression, signal);
  let newest: bigint | undefined;
  try {
    for await (const entry of readTar(source)) {
      throwIfAborted(signal);
      const h = entry.header;
      if ((h.type === 'file' || h.type === 'contiguous-file') && (newest === undefined || h.mtimeNs > newest)) newest = h.mtimeNs;
    }
  } catch (err) {
    if (err instanceof TarReadError) return undefined;
    throw err;
  } finally {
    source.destroy();
  }
  return newest === undefined ? undefined : Number(newest / 1_000_000_000n);
}

/**
 * Extracts a tar archive into the container directory `destDir` through the confined writer: `..` names and
 * hardlinks that climb out are refused (checked lexically here); symlinks on the way are followed with the
 * destination as the root (RESOLVE_IN_ROOT, chroot semantics like docker's chrootarchive), so an archive's
 * `esc -> /etc` plus `esc/passwd` lands in <dest>/etc/passwd, never outside. Leading `/` in names is dropped as
 * tar(1) does. Owners come from the archive unless --chown is given; modes always do. Returns how many entries it wrote.
 */
export async function extractArchive(file: string, compression: Compression, destDir: string, session: RootSession, opts: WriteOptions, devices: 'create' | 'refuse' = 'create'): Promise<number> {
  const dest = inRootPath(destDir);
  if (dest !== '') {
    session.dir(dest, true);
    session.meta({ ...(opts.owner ?? { uid: 0, gid: 0 }), mode: 0o755 }, true);
  }
  session.base(dest, 'in-root');
  const source = decompress(file, compression, opts.signal);
  let written = 0;
  try {
    for await (const entry of readTar(source)) {
      throwIfAborted(opts.signal);
      const h = entry.header;
      const name = entryPath(h.name, file);
      if (name === '') continue;
      // The archive's own modes: BuildKit's unpack passes --chown to the untar, never --chmod.
      const owner = opts.owner ?? { uid: h.uid, gid: h.gid };
      const meta = { ...owner, mode: h.mode & 0o7777, ...unpackTimes(h) };
      switch (h.type) {
        case 'directory':
          session.dir(name, false);
          session.meta(meta);
          break;
        case 'file':
        case 'contiguous-file':
          await session.file(name, entry.body);
          session.meta(meta);
          break;
        case 'symlink':
          session.symlink(name, h.linkname);
          session.meta({ ...meta, mode: undefined });
          break;
        case 'link': {
          const target = entryPath(h.linkname, file);
          if (target === '') throw breakout(h.linkname, file);
          session.hardlink(name, target);
          break;
        }
        case 'character-device':
        case 'block-device':
        case 'fifo':
          // A remote build context never needs a device node on the host (its temp dir): refused by name.
          if (devices === 'refuse' && h.type !== 'fifo') {
            throw new CopyError('INVALID_ARGUMENT', `archive ${path.basename(file)}: entry ${JSON.stringify(showName(h.name))} is a ${h.type}`, 'a build context cannot hold device nodes; leave them out of the archive');
          }
          session.node(name, h.type === 'fifo' ? 'fifo' : h.type === 'character-device' ? 'char' : 'block', h.devmajor, h.devminor);
          session.meta(meta);
          break;
        case 'unknown':
          await session.flushIfFull();
          continue;   // nothing written (a type this writer has no use for); its body is skipped
      }
      // Into a root (ADD) the entry's xattrs are set; rootless, a trusted.* one cannot be kept and is left out. A
      // remote context is unpacked on the host (devices 'refuse'), where an archive's security.* xattrs have no business.
      if (devices === 'create') setXattrs(session, h.xattrs, () => undefined);
      written++;
      await session.flushIfFull();
    }
    await session.sync();
    return written;
  } catch (err) {
    source.destroy();
    if (err instanceof TarReadError) {
      throw new CopyError('INVALID_ARGUMENT', `archive ${path.basename(file)}: ${err.message}`, 'the archive is damaged or cut short; make it again (tar -cf) and check that the copy in the context is whole', { cause: err });
    }
    throw err;
  } finally {
    if (session.failure === undefined) session.base('', 'in-root');
  }
}

/** A tar entry name made relative and clean ('' for the destination itself); throws when it climbs out of it. */
function entryPath(name: FsName, file: string): FsName {
  try {
    return joinComponents(cleanComponents(name));
  } catch (err) {
    if (err instanceof EscapeError) throw breakout(name, file);
    throw err;
  }
}

function breakout(name: FsName, file: string): CopyError {
  return new CopyError('INVALID_ARGUMENT', `archive ${path.basename(file)}: entry ${JSON.stringify(showName(name))} points outside the destination`,
    'the archive is unsafe to extract (path traversal); repack it with relative paths inside the archive');
}

/** A stream of the archive's decompressed bytes: zlib for gzip, the xz/bzip2/zstd tools for the others. */
function decompress(file: string, compression: Compression, signal: AbortSignal): Readable {
  if (compression === 'none') return createReadStream(file);
  if (compression === 'gzip') {
    const out = createGunzip();
    pipeline(createReadStream(file), out).catch((err: unknown) => out.destroy(err instanceof Error ? err : new Error(String(err))));
    return out;
  }
  const child = spawn(compression, ['-dc', file], { stdio: ['ignore', 'pipe', 'pipe'], signal });
  const out = new PassThrough();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  child.stdout.pipe(out, { end: false });
  child.on('error', (err) => out.destroy(err));
  child.on('close', (code) => {
    if (code === 0) out.end();
    else out.destroy(new CopyError('INVALID_ARGUMENT', `cannot decompress ${path.basename(file)} (${compression}): ${stderr.trim() || `exit ${code}`}`));
  });
  out.on('close', () => { if (child.exitCode === null) child.kill(); });
  return out;
}

async function readHead(stream: Readable, size: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    chunks.push(b);
    length += b.length;
    if (length >= size) break;
  }
  return Buffer.concat(chunks).subarray(0, size);
}
