import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { redactUrl, USER_AGENT } from '../../common/index.js';
import { downloadDispatcher } from './download-dispatcher.js';
import { CopyError } from './errors.js';
import { makeTempDir } from '../temp-dirs.js';

/** `<root>/http-sources`: what ADD <url> downloaded, kept to revalidate with its ETag (Downloads). */
export function downloadsDir(root: string): string {
  return join(root, 'http-sources');
}

/** A download as an ADD step keys and writes it. */
export interface Download {
  /** sha256 of the body, `sha256:<hex>`. */
  digest: string;
  /** The server's Last-Modified, as sent (the file's mtime in the image). */
  lastModified?: string | undefined;
  /** The body, in the store (read it, never write it). */
  file: string;
}

/** What the store keeps per URL, `<sha256(url)>.json`; the body itself is `<hex of its digest>.data`, shared. */
interface Stored { digest: string; etag?: string; lastModified?: string }

/**
 * ADD <url>'s downloads, as BuildKit's http source makes them (source/http/source.go, resolveMetadataRef): a step
 * without --checksum is keyed by the content the URL serves now, not by the URL, so a file that changed on the
 * server misses the cache. To find that out cheaply the last download of each URL is kept with its ETag: a HEAD with
 * If-None-Match answers whether it is still current (some servers return a 200 with the same ETag rather than a 304,
 * BuildKit compares it by hand too), and only a changed or unknown body is fetched again; a server that sends no ETag
 * is downloaded every time, as BuildKit does. With --checksum the key is the checksum and nothing is requested; the
 * copy then takes a stored body of that digest, or downloads and verifies one.
 *
 * One instance per worker (one build command): a URL resolves once, so the key and the copy of a step see the same
 * bytes even when the server changes between them, and two ADDs of one URL in a build get one download.
 * Store entries are replaced by rename (bodies are named by their digest), so two builds on one root that download
 * the same URL at once leave one consistent entry.
 */
export class Downloads {
  readonly #dir: string;
  readonly #tempDir: string;
  readonly #resolved = new Map<string, Promise<Download>>();

  /** `root`: the state root (the store is downloadsDir(root)); `tempDir`: its temp dir, where bodies arrive. */
  constructor(root: string, tempDir: string) {
    this.#dir = downloadsDir(root);
    this.#tempDir = tempDir;
  }

  /**
   * What an ADD of `source` is keyed by: the --checksum when given (no request, as BuildKit's resolveMetadataStatic),
   * else the content the URL serves now, and its Last-Modified (the file's mtime, so part of the result too).
   */
  async key(source: string, checksum: string | undefined, signal: AbortSignal): Promise<{ digest: string; lastModified?: string | undefined }> {
    const expected = parseChecksum(checksum);
    if (expected !== undefined) return { digest: expected };
    const got = await this.fetch(source, undefined, signal);
    return { digest: got.digest, lastModified: got.lastModified };
  }

  /** The body an ADD of `source` writes: the one this build resolved, else a stored one of the checksum, else fetched. */
  fetch(source: string, checksum: string | undefined, signal: AbortSignal): Promise<Download> {
    const expected = parseChecksum(checksum);
    let resolving = this.#resolved.get(source);
    if (resolving === undefined) {
      resolving = this.#resolve(source, expected, signal);
      this.#resolved.set(source, resolving);
      resolving.catch(() => { if (this.#resolved.get(source) === resolving) this.#resolved.delete(source); });
    }
    if (expected === undefined) return resolving;
    return resolving.then((got) => {
      if (got.digest !== expected) throw checksumMismatch(source, expected, got.digest);
      return got;
    });
  }

  async #resolve(source: string, expected: string | undefined, signal: AbortSignal): Promise<Download> {
    const { url, headers } = request(source);
    const name = createHash('sha256').update(source).digest('hex');
    const stored = await this.#stored(name);
    if (expected !== undefined && stored?.digest === expected) return this.#use(name, stored);
    const etag = stored?.etag;
    if (stored !== undefined && etag !== undefined) {
      // HEAD first (BuildKit: some servers mishandle If-None-Match on GET), with gzip as the GET will ask for it: a
      // server may tag the two encodings differently.
      const head = await send(url, { ...headers, 'if-none-match': etag, 'accept-encoding': 'gzip' }, 'HEAD', source, signal).catch(() => undefined);
      if (head !== undefined && (head.status === 200 || head.status === 304) && etagOf(head, etag) === etagValue(etag)) return this.#use(name, stored);
    }
    const response = await send(url, etag === undefined ? headers : { ...headers, 'if-none-match': etag }, 'GET', source, signal);
    if (response.status === 304 && stored !== undefined) {
      if (etagOf(response, etag) !== etagValue(etag ?? '')) {
        throw new CopyError('INVALID_ARGUMENT', `ADD failed to fetch ${redactUrl(source)}: the server answered 304 Not Modified for an ETag it was not asked about`, 'the server does not keep to HTTP caching rules: check the URL and the server, or give --checksum');
      }
      return this.#use(name, stored);
    }
    if (!response.ok || response.body === null) {
      throw new CopyError('INVALID_ARGUMENT', `ADD failed to fetch ${redactUrl(source)}: HTTP ${response.status} ${response.statusText}`, 'check the URL; ADD only follows plain http(s) downloads');
    }
    return this.#save(name, response, source, expected, signal);
  }

  /**
   * Streams the body into the store, hashing as it passes; the store holds it only once it is whole and verified, and
   * then the URL's entry `name` naming it. Both pass through one temp dir of this download.
   */
  async #save(name: string, response: Response, source: string, expected: string | undefined, signal: AbortSignal): Promise<Download> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const hash = createHash('sha256');
    const work = await makeTempDir(this.#tempDir, 'download');
    try {
      const temp = join(work, 'download');
      await pipeline(body(response.body as ReadableStream<Uint8Array>, response.headers, source, hash, signal), createWriteStream(temp, { mode: 0o600, flags: 'wx' }), { signal });
      const digest = `sha256:${hash.digest('hex')}`;
      if (expected !== undefined && digest !== expected) throw checksumMismatch(source, expected, digest);
      const file = this.#bodyPath(digest);
      await moveIntoStore(temp, file);
      const tag = response.headers.get('etag');
      const lastModified = response.headers.get('last-modified') ?? undefined;
      const entry: Stored = { digest, ...(tag !== null ? { etag: tag } : {}), ...(lastModified !== undefined ? { lastModified } : {}) };
      await writeFile(join(work, 'entry'), JSON.stringify(entry), { mode: 0o600, flag: 'wx' });
      await moveIntoStore(join(work, 'entry'), join(this.#dir, `${name}.json`));
      return { digest, lastModified, file };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /** The entry of a URL whose body is still there, or undefined (none, unreadable, or its body pruned). */
  async #stored(name: string): Promise<Stored | undefined> {
    try {
      const entry = JSON.parse(await readFile(join(this.#dir, `${name}.json`), 'utf8')) as Partial<Stored>;
      if (typeof entry.digest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(entry.digest)) return undefined;
      await stat(this.#bodyPath(entry.digest));
      return {
        digest: entry.digest,
        ...(typeof entry.etag === 'string' && entry.etag !== '' ? { etag: entry.etag } : {}),
        ...(typeof entry.lastModified === 'string' ? { lastModified: entry.lastModified } : {}),
      };
    } catch {
      return undefined;
    }
  }

  /** A stored body used again: its entry's mtime says when (pruneDownloads removes the ones unused longest). */
  async #use(name: string, stored: Stored): Promise<Download> {
    const now = new Date();
    await utimes(join(this.#dir, `${name}.json`), now, now).catch(() => undefined);
    return { digest: stored.digest, lastModified: stored.lastModified, file: this.#bodyPath(stored.digest) };
  }

  #bodyPath(digest: string): string {
    return join(this.#dir, `${digest.slice('sha256:'.length)}.data`);
  }
}

/**
 * Puts a finished file from the temp dir at its name in the store, replacing what is there. The temp dir is the state
 * root's own (<root>/tmp), so this is a rename; a root whose tmp is mounted apart copies.
 */
async function moveIntoStore(from: string, to: string): Promise<void> {
  await rename(from, to).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EXDEV') throw err;
    await copyFile(from, to);
  });
}

/**
 * Removes the stored downloads (Downloads) not used since `until` (ms since the epoch; all when undefined) and the
 * bodies no entry names any more; the bytes freed. They only spare a request or a download: the next ADD fetches again.
 */
export async function pruneDownloads(root: string, until?: number): Promise<number> {
  const dir = downloadsDir(root);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  const kept = new Set<string>();
  let freed = 0;
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    const path = join(dir, name);
    const st = await stat(path).catch(() => undefined);
    if (st === undefined) continue;
    if (until !== undefined && st.mtimeMs >= until) {
      const digest = await readFile(path, 'utf8').then((t) => (JSON.parse(t) as { digest?: unknown }).digest, () => undefined);
      if (typeof digest === 'string') kept.add(`${digest.slice('sha256:'.length)}.data`);
      continue;
    }
    await rm(path, { force: true });
  }
  for (const name of names.filter((n) => n.endsWith('.data') && !kept.has(n))) {
    const st = await stat(join(dir, name)).catch(() => undefined);
    await rm(join(dir, name), { force: true });
    freed += st?.size ?? 0;
  }
  return freed;
}

/** --checksum=sha256:<hex>; other algorithms are refused rather than silently not checked. */
export function parseChecksum(checksum: string | undefined): string | undefined {
  if (checksum === undefined || checksum === '') return undefined;
  if (!/^sha256:[a-f0-9]{64}$/.test(checksum)) {
    throw new CopyError('INVALID_ARGUMENT', `invalid --checksum ${JSON.stringify(checksum)}`, 'use --checksum=sha256:<64 hex digits>');
  }
  return checksum;
}

function checksumMismatch(source: string, expected: string, actual: string): CopyError {
  return new CopyError('DIGEST_MISMATCH', `ADD ${redactUrl(source)}: checksum mismatch: expected ${expected}, got ${actual}`, 'the file at the URL changed or --checksum is wrong; update --checksum if the new content is expected');
}

/** The URL to fetch and its headers: credentials in it are sent as Basic authorization, as BuildKit's http source does. */
function request(source: string): { url: URL; headers: Record<string, string> } {
  const url = parseHttpUrl(source);
  // fetch refuses a URL that holds credentials; a redirect to another origin drops the header (the fetch standard).
  const headers: Record<string, string> = { 'user-agent': USER_AGENT };
  if (url.username !== '' || url.password !== '') {
    headers['authorization'] = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  return { url, headers };
}

async function send(url: URL, headers: Record<string, string>, method: 'GET' | 'HEAD', source: string, signal: AbortSignal): Promise<Response> {
  try {
    return await fetch(url, { method, signal, redirect: 'follow', headers, dispatcher: downloadDispatcher() });
  } catch (err) {
    throw new CopyError('INVALID_ARGUMENT', `ADD failed to fetch ${redactUrl(source)}: ${err instanceof Error ? err.message : String(err)}`, 'check the URL and that the build host can reach it', { cause: err });
  }
}

/**
 * The ETag a response is about, compared weak-insensitively (BuildKit's etagValue drops `W/`): a 304 without one
 * answers for the single ETag that was sent (source.go, onlyETag).
 */
function etagOf(response: Response, sent: string | undefined): string {
  const tag = response.headers.get('etag');
  if (tag === null || tag === '') return response.status === 304 && sent !== undefined ? etagValue(sent) : '';
  return etagValue(tag);
}

function etagValue(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
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

export function parseHttpUrl(source: string): URL {
  const isGit = /^git@/.test(source) || /^git:\/\//.test(source) || /\.git(#.*)?$/.test(source);
  if (isGit) {
    throw new CopyError('INVALID_ARGUMENT', `ADD: ${redactUrl(source)} is not a git URL tsbuild can fetch`, 'use https://host/org/repo.git#ref, git@host:org/repo.git#ref, ssh://… or git://…');
  }
  let url: URL;
  try {
    url = new URL(source);
  } catch (err) {
    throw new CopyError('INVALID_ARGUMENT', `ADD: ${redactUrl(source)} is not a valid URL`, 'write the URL as http(s)://host/path', { cause: err });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CopyError('INVALID_ARGUMENT', `ADD does not support ${url.protocol} URLs: ${redactUrl(source)}`, 'use an http(s) URL, or COPY a local file');
  }
  return url;
}
