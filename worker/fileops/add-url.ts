import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { inRootPath, type RootSession } from '../confined/index.js';
import { detectArchive, extractArchive } from './archive.js';
import { downloadDispatcher } from './download-dispatcher.js';
import { makeTempDir } from '../temp-dirs.js';
import { redactUrl } from '../../common/index.js';
import { CopyError } from './errors.js';
import type { WriteOptions } from './tree-writer.js';

/** True when an ADD source is a remote URL rather than a path in the source directory. */
export function isUrl(source: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(source) || /^git@/.test(source);
}

/**
 * ADD <url>: streams the body to a file in a fresh private directory under `tempDir` (never into memory, never a name
 * a RUN step could plant), verifies --checksum while it streams, and only then streams it into the root through the
 * confined writer: a mismatch leaves nothing in the root. The file is named after the URL's last path segment when
 * dest is a directory, gets mode 0600 as the Dockerfile reference says, and the Last-Modified time when the server
 * sends one. `tempDir` is the state root's temp dir (LinuxWorker), not the host's: a download has no size limit
 * (BuildKit sets none either; its http source writes into a snapshot under its own root), so on a host whose /tmp is
 * a tmpfs it would take RAM, and one a SIGKILLed build left there would stay for ever; under the state root the
 * directory is named `download-<pid>-…` so the next build or prune on the root removes it once that pid is gone.
 */
export async function addUrl(source: string, destPath: string, destIsDir: boolean, checksum: string | undefined, session: RootSession, opts: WriteOptions, tempDir: string, unpack = false): Promise<'downloaded' | 'extracted'> {
  const url = parseHttpUrl(source);
  const expected = parseChecksum(checksum);
  // A URL whose path has no last segment (`http://host/`) gives `__unnamed__`, the name BuildKit's Dockerfile frontend
  // passes its http source (dockerfile2llb convert_copy.go, dispatchCopy: llb.Filename).
  const base = path.posix.basename(decodeURIComponent(url.pathname));
  const name = base === '' || base === '.' || base === '/' ? '__unnamed__' : base;
  const target = destIsDir ? path.posix.join(destPath, name) : destPath;
  // Credentials in the URL are sent as Basic authorization, as BuildKit's http source does (fetch refuses a URL that
  // holds them); a redirect to another origin drops the header (the fetch standard).
  const headers: Record<string, string> = {};
  if (url.username !== '' || url.password !== '') {
    headers['authorization'] = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  let response: Response;
  try {
    response = await fetch(url, { signal: opts.signal, redirect: 'follow', headers, dispatcher: downloadDispatcher() });
  } catch (err) {
    throw new CopyError('INVALID_ARGUMENT', `ADD failed to fetch ${redactUrl(source)}: ${err instanceof Error ? err.message : String(err)}`, 'check the URL and that the build host can reach it', { cause: err });
  }
  if (!response.ok || response.body === null) {
    throw new CopyError('INVALID_ARGUMENT', `ADD failed to fetch ${redactUrl(source)}: HTTP ${response.status} ${response.statusText}`, 'check the URL; ADD only follows plain http(s) downloads');
  }
  const hash = createHash('sha256');
  const work = await makeTempDir(tempDir, 'download');
  const temp = path.join(work, 'download');
  try {
    await pipeline(body(response.body, response.headers, source, hash, opts.signal), createWriteStream(temp, { mode: 0o600, flags: 'wx' }), { signal: opts.signal });
    const actual = `sha256:${hash.digest('hex')}`;
    if (expected !== undefined && actual !== expected) {
      throw new CopyError('DIGEST_MISMATCH', `ADD ${redactUrl(source)}: checksum mismatch: expected ${expected}, got ${actual}`, 'the file at the URL changed or --checksum is wrong; update --checksum if the new content is expected');
    }
    // ADD --unpack=true: a downloaded archive is extracted into the destination, as BuildKit's AttemptUnpack does for
    // an http source; anything else is written as a file.
    const compression = unpack ? await detectArchive(temp, opts.signal) : undefined;
    if (compression !== undefined) {
      await extractArchive(temp, compression, destPath, session, opts);
      await session.sync();
      return 'extracted';
    }
    const lastModified = Date.parse(response.headers.get('last-modified') ?? '');
    const ns = Number.isNaN(lastModified) ? undefined : BigInt(lastModified) * 1_000_000n;
    await session.file(inRootPath(target), createReadStream(temp));
    session.meta({ ...(opts.owner ?? { uid: 0, gid: 0 }), mode: opts.mode === undefined ? 0o600 : opts.mode(0o600, false), atimeNs: ns, mtimeNs: ns });
    await session.sync();
    return 'downloaded';
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * The response body, hashed into `hash` as it passes, as a named download failure when it breaks off or is longer
 * than its Content-Length. Undici's HTTP/1.1 parser already ends a body at its Content-Length (what a lying server
 * sends after it is not body, and the connection is dropped) and refuses Content-Length together with chunked, as Go's
 * client does for BuildKit; the bound here keeps that true whatever the dispatcher speaks. A content-coded body
 * (gzip, br) arrives decoded, so its Content-Length, of the coded bytes, bounds nothing (BuildKit's Go client decodes
 * gzip the same way and drops the length).
 */
async function* body(stream: ReadableStream<Uint8Array>, headers: Headers, source: string, hash: Hash, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  const declared = identityLength(headers);
  let received = 0;
  try {
    for await (const chunk of Readable.fromWeb(stream) as AsyncIterable<Uint8Array>) {
      received += chunk.byteLength;
      if (declared !== undefined && received > declared) {
        throw new CopyError('INVALID_ARGUMENT', `ADD ${redactUrl(source)}: the server sent more than the ${declared} bytes its Content-Length says`,
          'the server does not keep to HTTP framing: check the URL and the server');
      }
      hash.update(chunk);
      yield chunk;
    }
  } catch (err) {
    if (err instanceof CopyError || signal.aborted) throw err;
    const cause = err instanceof Error ? (err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message) : String(err);
    throw new CopyError('INVALID_ARGUMENT', `ADD ${redactUrl(source)}: the download broke off after ${received}${declared === undefined ? '' : ` of ${declared}`} bytes (${cause})`,
      'the server or the network closed the connection early: check that the build host can reach it and retry', { cause: err });
  }
}

/** The Content-Length of a body that arrives as sent (no content coding), or undefined. */
function identityLength(headers: Headers): number | undefined {
  const coding = headers.get('content-encoding');
  if (coding !== null && coding.trim().toLowerCase() !== 'identity') return undefined;
  const length = headers.get('content-length');
  return length !== null && /^\d+$/.test(length.trim()) ? Number(length.trim()) : undefined;
}

function parseHttpUrl(source: string): URL {
  const isGit = /^git@/.test(source) || /^git:\/\//.test(source) || /\.git(#.*)?$/.test(source);
  if (isGit) {
    throw new CopyError('INVALID_ARGUMENT', `ADD: ${redactUrl(source)} is not a git URL tsbuild can fetch`, 'use https://host/org/repo.git#ref, git@host:org/repo.git#ref, ssh://… or git://…');
  }
  const url = new URL(source);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CopyError('INVALID_ARGUMENT', `ADD does not support ${url.protocol} URLs: ${redactUrl(source)}`, 'use an http(s) URL, or COPY a local file');
  }
  return url;
}

/** --checksum=sha256:<hex>; other algorithms are refused rather than silently not checked. */
export function parseChecksum(checksum: string | undefined): string | undefined {
  if (checksum === undefined || checksum === '') return undefined;
  if (!/^sha256:[a-f0-9]{64}$/.test(checksum)) {
    throw new CopyError('INVALID_ARGUMENT', `invalid --checksum ${JSON.stringify(checksum)}`, 'use --checksum=sha256:<64 hex digits>');
  }
  return checksum;
}
