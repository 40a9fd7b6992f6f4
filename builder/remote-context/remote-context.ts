import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { redactText, redactUrl, UserError } from '../../common/index.js';
import {
  archiveMaxTime, classifyContextFile, downloadDispatcher, extractContextArchive, fetchGit, gitAuthHeader, makeRootTempDir, parseGitRef, type GitRef,
} from '../../worker/index.js';
import type { NamedContext } from '../options/build-flags.js';
import type { GitAccess } from './git-auth.js';

/** Where a build's context and Dockerfile come from once a remote or stdin context has been fetched. */
export interface ResolvedContext {
  contextDir: string;
  /** The Dockerfile path inside the fetched context (or as given: absolute `-f`); absent for `-f -`. */
  dockerfile?: string;
  /** The Dockerfile's text when the context itself was one (stdin or a URL serving a text file). */
  dockerfileText?: string;
  /**
   * What was fetched, credentials redacted, and for git the commit the ref resolved to: for progress and records.
   * `time`: what BuildKit takes as SOURCE_DATE_EPOCH=context (sourceTime).
   */
  source?: { kind: 'git' | 'url' | 'stdin'; url?: string; ref?: string; commit?: string; time?: number };
  /**
   * The Dockerfile's stable name, which stands for the temp paths in the build record (`dockerfile`) and the step
   * locators: for git `URL#REF:PATH` (the remote redacted, PATH the Dockerfile's path in the repository, subdir
   * included, as BuildKit's `#ref:path` names a file in a repository); for a URL or stdin `URL:-f` or `-:-f`, or the
   * URL (`-`) alone when it served the Dockerfile itself; an absolute `-f` (a file of this host) names itself, `-f -` is `-`.
   */
  locator: string;
  /** Removes the private temp directory (also after a failure or Ctrl-C). */
  cleanup(): Promise<void>;
}

/** How the context argument reads, as buildx's build/opt.go sorts it (a local directory wins over a URL). */
export type ContextArgument =
  | { kind: 'stdin' }
  | { kind: 'local'; dir: string }
  | { kind: 'git'; ref: GitRef; given: string }
  | { kind: 'url'; url: URL };

/** Sorts the `[context]` argument: `-`, an existing directory, a git URL (BuildKit's rules), an http(s) URL. */
export async function classifyContext(context: string): Promise<ContextArgument> {
  if (context === '-') return { kind: 'stdin' };
  if (await stat(context).then((s) => s.isDirectory(), () => false)) return { kind: 'local', dir: context };
  const ref = parseGitRef(context);
  if (ref !== undefined) return { kind: 'git', ref, given: context };
  if (/^https?:\/\//i.test(context)) return { kind: 'url', url: new URL(context) };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(context)) {
    throw new UserError('CONTEXT_NOT_FOUND', `unsupported build context URL ${redactUrl(context)}`,
      'a remote context is an http(s) URL (a tar archive or a Dockerfile) or a git URL (https://…/repo.git, git@host:repo, git://, ssh://)');
  }
  return { kind: 'local', dir: context };
}

/**
 * Fetches a context given as `-` (stdin), a git URL or an http(s) URL into a fresh private directory (0700) in the
 * temp dir of the state root `root`, and says where its context and Dockerfile are; undefined for a local directory,
 * which is read where it is. The fetched tree is then read by the ordinary context reader like a local one.
 * `file` is `-f`: relative to the fetched context's root (BuildKit), absolute for a Dockerfile on this host.
 *
 * Under the state root, never the host's $TMPDIR: a repository or an archive has no size limit (a tmpfs /tmp is RAM),
 * and BuildKit fetches a remote context as its git or http source, into a snapshot under its own root (dockerui's
 * DetectGitContext and llb.HTTP). The directory is named `remote-<pid>-…` (worker/temp-dirs.ts), so what a build
 * killed with SIGKILL left is removed by the next build or prune on the root.
 */
export async function resolveContext(context: string, file: string | undefined, signal: AbortSignal, root: string, git: GitAccess = {}, keepGitDir = false): Promise<ResolvedContext | undefined> {
  const arg = await classifyContext(context);
  if (arg.kind === 'local') return undefined;
  if (arg.kind === 'stdin' && file === '-') {
    throw new UserError('INVALID_ARGUMENT', 'cannot use stdin for both the build context and the Dockerfile', 'give the context as a directory or URL, or the Dockerfile with -f PATH');
  }
  const work = await makeRootTempDir(root, 'remote');
  const cleanup = (): Promise<void> => rm(work, { recursive: true, force: true });
  try {
    const resolved = await fetchInto(arg, work, file, signal, git, keepGitDir);
    return { ...resolved, locator: dockerfileName(arg, file, resolved.dockerfileText !== undefined), cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** The named contexts of a build with every remote one fetched (now a local directory), and how to remove them. */
export interface FetchedNamedContexts {
  contexts: Record<string, NamedContext>;
  /** What each remote one was: its URL (redacted), for git the commit, and its time (sourceTime). */
  sources: Record<string, { url: string; commit?: string; time?: number }>;
  /** Removes the temp directories (also after a failure or Ctrl-C). */
  cleanup(): Promise<void>;
}

/**
 * `--build-context NAME=<git url>` and `NAME=<http(s) url>`, as BuildKit's dockerui reads named contexts: a git URL
 * is its checkout (`#ref:subdir` and the query options as for the build context), read with no `.dockerignore`; any
 * other http(s) URL is a context holding the downloaded file as `context` (llb.HTTP with Filename "context": not
 * unpacked). Each is fetched as the build context is (resolveContext: a private 0700 directory in the state root's
 * temp dir, git without hooks or config over network protocols only) and is then a local named context.
 */
export async function fetchNamedContexts(contexts: Record<string, NamedContext>, signal: AbortSignal, root: string, git: GitAccess = {}): Promise<FetchedNamedContexts> {
  const works: string[] = [];
  const cleanup = async (): Promise<void> => { await Promise.all(works.map((w) => rm(w, { recursive: true, force: true }))); };
  const out: Record<string, NamedContext> = { ...contexts };
  const sources: Record<string, { url: string; commit?: string; time?: number }> = {};
  try {
    for (const [name, c] of Object.entries(contexts)) {
      if (c.kind !== 'remote') continue;
      const label = `--build-context ${name}=${redactUrl(c.url)}`;
      const arg = await classifyContext(c.url);
      if (arg.kind === 'local' || arg.kind === 'stdin') throw new Error(`fetchNamedContexts: ${label} is not remote`);
      const work = await makeRootTempDir(root, 'remote');
      works.push(work);
      if (arg.kind === 'git') {
        const checkout = await fetchGit(arg.ref, work, { signal, code: 'CONTEXT_NOT_FOUND', ...(await gitOptions(arg.ref, git)) });
        out[name] = { kind: 'local', dir: await subdirOf(checkout.dir, arg.ref.subdir, label), dockerignore: false };
        sources[name] = { url: redactUrl(arg.ref.remote), commit: checkout.commit, time: checkout.committed };
      } else {
        const dir = path.join(work, 'context');
        await makeContextRoot(dir);
        const body = path.join(work, 'download');
        const time = await sourceTime(await download(arg.url, body, label, signal), body, signal);
        await chmod(body, 0o644);   // llb.HTTP's default mode
        await rename(body, path.join(dir, 'context'));
        out[name] = { kind: 'local', dir, dockerignore: false };
        sources[name] = { url: redactUrl(arg.url.toString()), ...(time !== undefined ? { time } : {}) };
      }
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { contexts: out, sources, cleanup };
}

type Fetched = Omit<ResolvedContext, 'cleanup' | 'locator'>;

/** See ResolvedContext.locator. `isText`: the context itself was the Dockerfile. */
function dockerfileName(arg: Exclude<ContextArgument, { kind: 'local' }>, file: string | undefined, isText: boolean): string {
  if (file === '-' || (file !== undefined && path.isAbsolute(file))) return file;
  const where = arg.kind === 'stdin' ? '-' : redactUrl(arg.kind === 'git' ? arg.ref.remote : arg.url.toString());
  if (isText) return where;
  const rel = path.posix.normalize(file ?? 'Dockerfile');
  return arg.kind === 'git' ? `${where}#${arg.ref.ref}:${path.posix.join(arg.ref.subdir, rel)}` : `${where}:${rel}`;
}

/** How a remote context's git runs: with the SSH agent, and the Authorization header its secrets give (git-auth.ts). */
async function gitOptions(ref: GitRef, git: GitAccess): Promise<{ sshAgent?: string; authHeader?: string }> {
  const authHeader = await gitAuthHeader(ref.remote, git.secrets);
  return { ...(git.agent !== undefined ? { sshAgent: git.agent } : {}), ...(authHeader !== undefined ? { authHeader } : {}) };
}

async function fetchInto(arg: Exclude<ContextArgument, { kind: 'local' }>, work: string, file: string | undefined, signal: AbortSignal, git: GitAccess,
  keepGitDir: boolean): Promise<Fetched> {
  switch (arg.kind) {
    case 'git': {
      // `.git` stays when the URL says keep-git-dir=true or the build arg BUILDKIT_CONTEXT_KEEP_GIT_DIR is true, as
      // dockerui's DetectGitContext adds KeepGitDir for either (named contexts read only the URL's).
      const checkout = await fetchGit(arg.ref, work, { signal, code: 'CONTEXT_NOT_FOUND', ...(await gitOptions(arg.ref, git)), ...(keepGitDir ? { keepGitDir } : {}) });
      const root = await subdirOf(checkout.dir, arg.ref.subdir, redactUrl(arg.given));
      return {
        contextDir: root, ...(await dockerfileIn(root, file)),
        source: { kind: 'git', url: redactUrl(arg.ref.remote), ref: checkout.resolvedRef, commit: checkout.commit, time: checkout.committed },
      };
    }
    case 'url': {
      const label = redactUrl(arg.url.toString());
      const body = path.join(work, 'download');
      const time = await sourceTime(await download(arg.url, body, label, signal), body, signal);
      return { ...(await contextFromFile(body, label, work, file, signal)), source: { kind: 'url', url: label, ...(time !== undefined ? { time } : {}) } };
    }
    case 'stdin': {
      const body = path.join(work, 'stdin');
      await pipeline(process.stdin, createWriteStream(body, { mode: 0o600, flags: 'wx' }), { signal });
      return { ...(await contextFromFile(body, 'on stdin', work, file, signal, file)), source: { kind: 'stdin' } };
    }
  }
}

/**
 * A tar (plain or compressed) becomes the context (`file`, -f, names its Dockerfile); anything else is the Dockerfile
 * of an empty context. `dockerfileFlag` is -f as given when the body came on stdin (then -f and stdin both name a
 * Dockerfile: refused as buildx does); a URL's text body wins over -f, as in BuildKit.
 */
async function contextFromFile(body: string, label: string, work: string, file: string | undefined, signal: AbortSignal, dockerfileFlag?: string): Promise<Omit<Fetched, 'source'>> {
  const contextDir = path.join(work, 'context');
  await makeContextRoot(contextDir);
  const kind = await classifyContextFile(body, label, signal);
  if (kind.kind === 'archive') {
    await extractContextArchive(body, kind.compression, contextDir, label, signal);
    await rm(body, { force: true });
    return { contextDir, ...(await dockerfileIn(contextDir, file)) };
  }
  if (dockerfileFlag !== undefined) {
    throw new UserError('INVALID_ARGUMENT', 'ambiguous Dockerfile source: both stdin and -f name a Dockerfile', 'drop -f, or pipe a tar archive of the context on stdin');
  }
  // BuildKit reads a URL that serves no archive as the Dockerfile itself, with nothing else in the context.
  return { contextDir, dockerfileText: await readFile(body, 'utf8') };
}

/**
 * The time BuildKit takes as SOURCE_DATE_EPOCH=context (or =NAME of a named context) for a download (dockerfile2llb
 * epoch.go): the response's Last-Modified, else the newest regular file of the body when it is a tar archive.
 */
async function sourceTime(headers: Headers, body: string, signal: AbortSignal): Promise<number | undefined> {
  const modified = Date.parse(headers.get('last-modified') ?? '');
  if (!Number.isNaN(modified)) return Math.floor(modified / 1000);
  return archiveMaxTime(body, signal);
}

/** Downloads `url` into `dest` (a new file); the response's headers. */
async function download(url: URL, dest: string, label: string, signal: AbortSignal): Promise<Headers> {
  // fetch() refuses a URL with credentials: they become a Basic Authorization header, as curl and BuildKit send them.
  const headers: Record<string, string> = {};
  const bare = new URL(url);
  if (bare.username !== '' || bare.password !== '') {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(bare.username)}:${decodeURIComponent(bare.password)}`).toString('base64')}`;
    bare.username = '';
    bare.password = '';
  }
  let response: Response;
  try {
    response = await fetch(bare, { signal, redirect: 'follow', headers, dispatcher: downloadDispatcher() } as RequestInit);
  } catch (err) {
    if (signal.aborted) throw err;
    const reason = err instanceof Error ? ((err.cause instanceof Error ? err.cause.message : undefined) ?? err.message) : String(err);
    throw new UserError('CONTEXT_NOT_FOUND', `cannot fetch build context ${label}: ${redactText(reason)}`, 'check the URL and that this host can reach it');
  }
  if (!response.ok || response.body === null) {
    throw new UserError('CONTEXT_NOT_FOUND', `cannot fetch build context ${label}: HTTP ${response.status} ${response.statusText}`, 'check the URL');
  }
  await pipeline(Readable.fromWeb(response.body), createWriteStream(dest, { mode: 0o600, flags: 'wx' }), { signal });
  return response.headers;
}

/**
 * The `#ref:subdir` directory inside the checkout. Each component is checked with lstat (the checkout is private
 * and nothing else writes it): a symlink there could point the context reader at the host's own files.
 */
async function subdirOf(root: string, subdir: string, label: string): Promise<string> {
  let dir = root;
  for (const part of subdir.split('/').filter((p) => p !== '')) {
    dir = path.join(dir, part);
    const st = await lstat(dir).catch(() => undefined);
    if (st === undefined || !st.isDirectory()) {
      throw new UserError('CONTEXT_NOT_FOUND', `git context ${label}: ${JSON.stringify(subdir)} is not a directory in the repository${st?.isSymbolicLink() ? ' (it is a symbolic link)' : ''}`,
        'check the path after ":" in the URL fragment');
    }
  }
  return dir;
}

/**
 * `-f` inside a fetched context: relative to its root, never through a symlink (the context reader and the
 * `.dockerignore` lookup read these paths on the host). `-f -` (stdin) and an absolute path are the host's, as in buildx.
 */
async function dockerfileIn(root: string, file: string | undefined): Promise<{ dockerfile?: string }> {
  if (file === '-') return {};
  if (file !== undefined && path.isAbsolute(file)) return { dockerfile: file };
  const rel = path.posix.normalize(file ?? 'Dockerfile');
  if (rel === '..' || rel.startsWith('../')) {
    throw new UserError('INVALID_ARGUMENT', `-f ${file ?? ''} leads out of the remote build context`, 'give a path inside the repository or archive');
  }
  await refuseSymlinks(root, rel, true);
  for (const ignore of [`${rel}.dockerignore`, '.dockerignore']) await refuseSymlinks(root, ignore, false);
  return { dockerfile: path.join(root, rel) };
}

async function refuseSymlinks(root: string, rel: string, mustExist: boolean): Promise<void> {
  let at = root;
  for (const part of rel.split('/')) {
    at = path.join(at, part);
    const st = await lstat(at).catch(() => undefined);
    if (st === undefined) {
      if (!mustExist) return;
      throw new UserError('DOCKERFILE_NOT_FOUND', `the remote build context has no ${rel}`, 'check -f: it is relative to the root of the remote context (after #ref:subdir)');
    }
    if (st.isSymbolicLink()) {
      throw new UserError('INVALID_ARGUMENT', `${rel} in the remote build context goes through a symbolic link (${path.relative(root, at)})`,
        'tsbuild does not follow links in a remote context to find the Dockerfile or .dockerignore; name the real file with -f');
    }
  }
}

/**
 * The root of a fetched context, inside the private (0700) work dir: 0755, as the root of the snapshot BuildKit
 * unpacks a context into, so `COPY . /app/` makes /app 0755 as from a local context (from 0700 it came out 0700,
 * unreadable to the image's other users). chmod, not mkdir's mode: the umask would narrow that.
 */
async function makeContextRoot(dir: string): Promise<void> {
  await mkdir(dir, { mode: 0o700 });
  await chmod(dir, 0o755);
}

/** A remote fetched whole (no Dockerfile looked for): a git checkout or an archive's tree, or the text a URL served. */
export interface FetchedTree {
  /** The checkout (at `#ref:subdir`) or the unpacked archive; absent when the URL served no archive. */
  dir?: string;
  /** The body of a URL that served no archive. */
  text?: string;
  kind: 'git' | 'url';
  /** Removes the private temp directory. */
  cleanup(): Promise<void>;
}

/**
 * Fetches a git or http(s) URL as a context is fetched (a private 0700 directory in the state root's temp dir, git
 * without hooks or configuration, the subdir checked for links), without looking for a Dockerfile in it: for a
 * remote bake definition, which buildx reads from the URL's source (bake/remote.go ReadRemoteFiles: dockerui's
 * DetectGitContext, else DetectHTTPContext, whose body is unpacked when it is an archive, else is the definition).
 * `maxText` bounds a body that is no archive (buildx's maxBakeDefinitionSize).
 */
export async function fetchRemoteTree(url: string, signal: AbortSignal, root: string, git: GitAccess, maxText: number): Promise<FetchedTree> {
  const arg = await classifyContext(url);
  if (arg.kind !== 'git' && arg.kind !== 'url') throw new Error(`fetchRemoteTree: ${redactUrl(url)} is not a URL`);
  const work = await makeRootTempDir(root, 'remote');
  const cleanup = (): Promise<void> => rm(work, { recursive: true, force: true });
  try {
    if (arg.kind === 'git') {
      const checkout = await fetchGit(arg.ref, work, { signal, code: 'CONTEXT_NOT_FOUND', ...(await gitOptions(arg.ref, git)) });
      return { kind: 'git', dir: await subdirOf(checkout.dir, arg.ref.subdir, redactUrl(url)), cleanup };
    }
    const label = redactUrl(url);
    const body = path.join(work, 'download');
    await download(arg.url, body, label, signal);
    const kind = await classifyContextFile(body, label, signal);
    if (kind.kind === 'archive') {
      const dir = path.join(work, 'context');
      await makeContextRoot(dir);
      await extractContextArchive(body, kind.compression, dir, label, signal);
      await rm(body, { force: true });
      return { kind: 'url', dir, cleanup };
    }
    if ((await stat(body)).size > maxText) {
      throw new UserError('INVALID_ARGUMENT', `${label}: non-archive definition URL bigger than maximum allowed size (${maxText} bytes)`, 'serve the bake file as it is, or a tar archive holding it');
    }
    return { kind: 'url', text: await readFile(body, 'utf8'), cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/**
 * The time of the one source a SOURCE_DATE_EPOCH stage ADDs (BuildKit's resolveSourceDateEpochFromState): a git
 * URL's commit (checked against `checksum` when given), else an http(s) download's Last-Modified or its archive's
 * newest regular file (sourceTime), the body checked against `checksum` (a sha256 digest) when given. Undefined when it
 * has none. Fetched as a remote context is, into a private directory of the state root's temp dir, removed after.
 */
export async function remoteSourceTime(url: string, checksum: string | undefined, signal: AbortSignal, root: string, git: GitAccess = {}): Promise<number | undefined> {
  const arg = await classifyContext(url);
  if (arg.kind !== 'git' && arg.kind !== 'url') {
    throw new UserError('INVALID_ARGUMENT', 'SOURCE_DATE_EPOCH stage source must be a single HTTP(S) or Git ADD', 'ADD an http(s) URL or a git repository in that stage');
  }
  const work = await makeRootTempDir(root, 'remote');
  try {
    if (arg.kind === 'git') {
      const ref = checksum !== undefined ? { ...arg.ref, checksum } : arg.ref;
      return (await fetchGit(ref, work, { signal, code: 'CONTEXT_NOT_FOUND', ...(await gitOptions(ref, git)) })).committed;
    }
    const label = redactUrl(url);
    const body = path.join(work, 'download');
    const headers = await download(arg.url, body, label, signal);
    if (checksum !== undefined) {
      const { createHash } = await import('node:crypto');
      const hash = createHash('sha256');
      await pipeline(createReadStream(body), hash);
      const got = `sha256:${hash.digest('hex')}`;
      if (got !== checksum) throw new UserError('CONTEXT_NOT_FOUND', `digest mismatch ${got}: ${checksum}`, `the content of ${label} is not what --checksum says`);
    }
    return await sourceTime(headers, body, signal);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
