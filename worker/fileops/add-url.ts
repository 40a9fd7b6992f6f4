import { createReadStream } from 'node:fs';
import path from 'node:path';
import { inRootPath, type RootSession } from '../confined/index.js';
import { detectArchive, extractArchive } from './archive.js';
import { parseHttpUrl, type Downloads } from './downloads.js';
import type { WriteOptions } from './tree-writer.js';

/** True when an ADD source is a remote URL rather than a path in the source directory. */
export function isUrl(source: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(source) || /^git@/.test(source);
}

/**
 * ADD <url>: the body this build resolved for the URL (Downloads: revalidated with its ETag, or fetched into the
 * state root's store and verified against --checksum there, so a mismatch leaves nothing in the root), streamed into
 * the root through the confined writer. The file is named after the URL's last path segment when dest is a
 * directory, gets mode 0600 as the Dockerfile reference says, and the Last-Modified time when the server sent one.
 */
export async function addUrl(source: string, destPath: string, destIsDir: boolean, checksum: string | undefined, session: RootSession, opts: WriteOptions, downloads: Downloads, unpack = false): Promise<'downloaded' | 'extracted'> {
  const url = parseHttpUrl(source);
  // A URL whose path has no last segment (`http://host/`) gives `__unnamed__`, the name BuildKit's Dockerfile frontend
  // passes its http source (dockerfile2llb convert_copy.go, dispatchCopy: llb.Filename).
  const base = path.posix.basename(decodeURIComponent(url.pathname));
  const name = base === '' || base === '.' || base === '/' ? '__unnamed__' : base;
  const target = destIsDir ? path.posix.join(destPath, name) : destPath;
  const got = await downloads.fetch(source, checksum, opts.signal);
  // ADD --unpack=true: a downloaded archive is extracted into the destination, as BuildKit's AttemptUnpack does for
  // an http source; anything else is written as a file.
  const compression = unpack ? await detectArchive(got.file, opts.signal) : undefined;
  if (compression !== undefined) {
    await extractArchive(got.file, compression, destPath, session, opts);
    await session.sync();
    return 'extracted';
  }
  const lastModified = Date.parse(got.lastModified ?? '');
  const ns = Number.isNaN(lastModified) ? undefined : BigInt(lastModified) * 1_000_000n;
  await session.file(inRootPath(target), createReadStream(got.file));
  session.meta({ ...(opts.owner ?? { uid: 0, gid: 0 }), mode: opts.mode === undefined ? 0o600 : opts.mode(0o600, false), atimeNs: ns, mtimeNs: ns });
  await session.sync();
  return 'downloaded';
}
