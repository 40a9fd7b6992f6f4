import { existsSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { redactUrl, UserError } from '../../common/index.js';
import { parseGitRef } from '../../worker/index.js';
import { parseSsh } from '../options/build-flags.js';
import { openSshAgents } from '../options/ssh-key-agent.js';
import { fetchRemoteTree, type FetchedTree } from '../remote-context/index.js';
import type { BakeFile } from './config.js';
import { DEFAULT_FILES, readBakeFile } from './files.js';
import type { Resolved } from './resolve.js';
import type { SecretEntry, Target } from './target.js';

// `tsbuild bake URL [CMD_CONTEXT] [targets]`: a bake definition read from a git repository or an http(s) URL, as
// docker buildx bake reads one (commands/bake.go bakeArgs and readBakeFiles, bake/remote.go ReadRemoteFiles, bake/bake.go
// updateContext and toBuildOpt). The remote is fetched once, as a build context is (builder/remote-context: a private
// directory in the state root's temp dir, git without hooks); the files are read from it and it is removed. The
// targets' relative contexts then name the same remote (a git URL with `#ref:subdir`), which each target's build
// fetches as `tsbuild build <git url>` does: BuildKit's subdir is cleaned from "/", so `../x` stays inside it.

const CWD = 'cwd://';

/** buildx's maxBakeDefinitionSize: a URL serving the definition itself (no archive) is read up to this. */
const MAX_DEFINITION_BYTES = 2 * 1024 * 1024;

/** A git reference by BuildKit's rules (dfgitutil.ParseGitRef); a malformed one counts, so that its error is shown. */
function isGitRef(s: string): boolean {
  try {
    return parseGitRef(s) !== undefined;
  } catch {
    return true;
  }
}

/** buildx's urlutil.IsRemoteURL: an http(s) URL or a git reference. */
export function isRemoteDefinition(s: string): boolean {
  return /^https?:\/\//i.test(s) || isGitRef(s);
}

/**
 * buildx's bakeArgs: a remote URL as the first argument is the definition's; a second one is the command context
 * (BAKE_CMD_CONTEXT, otherwise `cwd://`); the rest are targets.
 */
export function bakeArgs(args: string[]): { url?: string; cmdContext: string; targets: string[] } {
  const [first, second, ...rest] = args;
  if (first === undefined || !isRemoteDefinition(first)) return { cmdContext: CWD, targets: args };
  if (second === undefined || !isRemoteDefinition(second)) return { url: first, cmdContext: CWD, targets: args.slice(1) };
  return { url: first, cmdContext: second, targets: rest };
}

/** What the definition came from: `text` when the URL served the definition itself (buildx: no Input.State). */
export interface RemoteInput { url: string; kind: 'git' | 'archive' | 'text' }

/** Go's path.Clean for a slash path: no `.` parts, no trailing slash, `..` kept where it cannot be folded. */
function clean(p: string): string {
  const n = path.posix.normalize(p === '' ? '.' : p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/**
 * `names` (the `-f` files that are not `cwd://`, else the default names) read from the fetched tree `dir`, as buildx's
 * filesFromRef reads them from the remote's snapshot: a missing default is skipped, a missing `-f` file is an error.
 * A name is a path inside the tree (an absolute one too, as BuildKit's ReadFile scopes it to the snapshot), and is
 * never read through a symbolic link: one in the repository could point at any file of this host.
 */
export async function readTreeFiles(dir: string, names: string[], label: string): Promise<BakeFile[]> {
  const isDefault = names.length === 0;
  const out: BakeFile[] = [];
  for (const name of isDefault ? DEFAULT_FILES : names) {
    const rel = clean(path.posix.join('/', name)).slice(1);
    let at = dir;
    let missing = rel === '';
    for (const part of rel.split('/')) {
      if (missing) break;
      at = path.join(at, part);
      const st = await lstat(at).catch(() => undefined);
      if (st === undefined) { missing = true; break; }
      if (st.isSymbolicLink()) {
        throw new UserError('INVALID_ARGUMENT', `bake file ${name} in ${label} goes through a symbolic link (${path.relative(dir, at)})`,
          'tsbuild reads a remote bake definition only from the files in it, not through links; name the real file with -f');
      }
    }
    if (missing) {
      if (isDefault) continue;
      throw new UserError('INVALID_ARGUMENT', `cannot read bake file: ${name} not found in ${label}`, 'check the -f path: it is relative to the root of the remote (after #ref:subdir); prefix a local file with cwd://');
    }
    // A FIFO or device an archive unpacked would block or never end the read.
    if (!(await lstat(at)).isFile()) throw new UserError('INVALID_ARGUMENT', `bake file ${name} in ${label} is not a regular file`, 'name a file with -f');
    out.push({ name, text: await readBakeFile(at, name) });
  }
  return out;
}

/**
 * buildx's remoteURLWithSubdir: the git URL `remote` with `subdir` (relative to the URL's own subdir) in its fragment,
 * `#ref:subdir`, or in its `?subdir=` query when it has one and no fragment.
 */
export function remoteUrlWithSubdir(remote: string, subdir: string): string {
  let sub = clean(subdir);
  if (sub === '.' || remote === '') return remote;
  let parsed;
  try {
    parsed = parseGitRef(remote);
  } catch {
    return remote;
  }
  if (parsed === undefined) return remote;
  if (parsed.subdir !== '') sub = clean(path.posix.join(parsed.subdir, sub));
  if (!remote.includes('#')) {
    try {
      const u = new URL(remote);
      if (u.searchParams.has('subdir')) {
        u.searchParams.set('subdir', sub);
        return u.toString();
      }
    } catch {
      // the scp form (git@host:repo) is no URL: the fragment below
    }
  }
  const hash = remote.indexOf('#');
  const base = hash < 0 ? remote : remote.slice(0, hash);
  const ref = (hash < 0 ? '' : remote.slice(hash + 1)).split(':')[0] ?? '';
  return `${base}#${ref}:${sub}`;
}

/** A context that stays as it is in a remote definition: the working directory's, another URL, a target or an image. */
const isKept = (v: string): boolean => v.startsWith(CWD) || v.startsWith('target:') || v.startsWith('docker-image:') || isRemoteDefinition(v);

/** Where a relative path of the remote definition is: the remote itself (`.`), or a subdirectory of it. */
function inRemote(p: string, input: RemoteInput, what: string): string {
  if (p === '.') return input.url;
  if (input.kind === 'archive') {
    throw new UserError('INVALID_ARGUMENT', `${what} ${JSON.stringify(p)}: a directory inside a remote archive's bake definition is not supported`,
      'use "." (the whole archive) or a git URL for the definition');
  }
  return remoteUrlWithSubdir(input.url, p);
}

/**
 * The targets of a remote definition as buildx's updateContext and toBuildOpt make them: the context `.` is the
 * remote, a relative one a subdirectory of it (for git `URL#ref:subdir`); so are the named contexts unless
 * `contextOnly` (buildx's --print shows only the context changed). `cwd://`, `target:`, `docker-image://` and URLs
 * stay. A Dockerfile of the remote with a local (`cwd://`) context is refused when the working directory has a file
 * of that name, as buildx refuses it, lest the local one be read in its stead.
 */
export function remoteTargets(resolved: Resolved, input: RemoteInput, contextOnly: boolean, cwd = process.cwd()): Resolved {
  if (input.kind === 'text') return resolved;
  const targets: Record<string, Target> = {};
  for (const [name, t] of Object.entries(resolved.targets)) {
    const given = t.context ?? '.';
    const context = isKept(given) ? given : inRemote(clean(given), input, `target ${JSON.stringify(name)}: context`);
    const dockerfile = t.dockerfile ?? 'Dockerfile';
    if (context.startsWith(CWD) && !dockerfile.startsWith(CWD) && !isRemoteDefinition(dockerfile)
      && existsSync(path.resolve(cwd, clean(context.slice(CWD.length)), clean(dockerfile)))) {
      throw new UserError('INVALID_ARGUMENT', `target ${JSON.stringify(name)}: reading a dockerfile for a remote build invocation is currently not supported`,
        `the context is local (${given}) and the Dockerfile ${dockerfile} would be read from the remote; write dockerfile = "cwd://${dockerfile}" to use the local one`);
    }
    const contexts = contextOnly || t.contexts === undefined ? t.contexts
      : Object.fromEntries(Object.entries(t.contexts).map(([k, v]) => [k, isKept(v) ? v : inRemote(clean(v), input, `target ${JSON.stringify(name)}: contexts.${k}`)]));
    targets[name] = { ...t, context, ...(contexts !== undefined ? { contexts } : {}) };
  }
  return { ...resolved, targets };
}

/** The host a git URL authenticates with (buildx's gitAuthHostFromURL), lower-cased; undefined for none. */
function gitHost(url: string): string | undefined {
  try {
    const ref = parseGitRef(url);
    if (ref === undefined) return undefined;
    const scp = /^[^@]+@([^:]+):/.exec(ref.remote);
    return (scp?.[1] ?? new URL(ref.remote).host).toLowerCase() || undefined;
  } catch {
    return undefined;
  }
}

/** The environment variable named `key` whatever its case (buildx's findGitAuthEnvKey). */
const envKey = (key: string, env: NodeJS.ProcessEnv): string | undefined => Object.keys(env).find((k) => k.toUpperCase() === key);

/**
 * buildx's gitAuthSecretsFromEnv: BUILDX_BAKE_GIT_AUTH_TOKEN and BUILDX_BAKE_GIT_AUTH_HEADER as the secrets
 * GIT_AUTH_TOKEN.HOST and GIT_AUTH_HEADER.HOST of the definition's host, read from the environment when used.
 */
export function gitAuthSecrets(url: string, env: NodeJS.ProcessEnv = process.env): SecretEntry[] {
  const host = gitHost(url);
  if (host === undefined) return [];
  return ([['GIT_AUTH_TOKEN', 'BUILDX_BAKE_GIT_AUTH_TOKEN'], ['GIT_AUTH_HEADER', 'BUILDX_BAKE_GIT_AUTH_HEADER']] as const)
    .flatMap(([id, name]) => {
      const key = envKey(name, env);
      return key === undefined ? [] : [{ id: `${id}.${host}`, env: key }];
    });
}

/**
 * The git auth secrets added to each target whose context (or a named context) is a URL of the definition's host,
 * as buildx's toBuildOpt adds them (shouldAttachGitAuthSecrets): the target's build fetches the same repository.
 */
export function withGitAuth(resolved: Resolved, url: string, env: NodeJS.ProcessEnv = process.env): Resolved {
  const secrets = gitAuthSecrets(url, env);
  const host = gitHost(url);
  if (secrets.length === 0) return resolved;
  const targets: Record<string, Target> = {};
  for (const [name, t] of Object.entries(resolved.targets)) {
    const urls = [t.context ?? '.', ...Object.values(t.contexts ?? {})];
    const ids = new Set((t.secret ?? []).map((s) => s.id));
    targets[name] = urls.some((u) => gitHost(u) === host) ? { ...t, secret: [...(t.secret ?? []), ...secrets.filter((s) => !ids.has(s.id))] } : t;
  }
  return { ...resolved, targets };
}

/** buildx's buildflags.IsGitSSH: a git reference fetched over ssh (`ssh://…` or the scp form `user@host:path`). */
function isGitSsh(s: string): boolean {
  return isGitRef(s) && (/^ssh:\/\//i.test(s) || !/^[a-z][a-z0-9+.-]*:\/\//i.test(s));
}

/**
 * The default SSH agent for every target without `ssh` of its own when the definition or the target's context is a
 * git repository over ssh (buildx's toBuildOpt: SSHSpecs `default`), so that its build can fetch it. Forwarding the
 * default agent is then asked for with --allow ssh, as buildx's entitlements ask for it.
 */
export function withGitSsh(resolved: Resolved, url: string): Resolved {
  const targets: Record<string, Target> = {};
  for (const [name, t] of Object.entries(resolved.targets)) {
    targets[name] = (t.ssh ?? []).length === 0 && (isGitSsh(url) || isGitSsh(t.context ?? '.')) ? { ...t, ssh: [{ id: 'default' }] } : t;
  }
  return { ...resolved, targets };
}

/**
 * Fetches the definition's remote and reads `names` from it (buildx's ReadRemoteFiles): a git repository at
 * `#ref:subdir`, an archive unpacked, or a URL serving the definition itself (then named by its URL). The SSH agent is
 * the one BUILDX_BAKE_GIT_SSH names (default $SSH_AUTH_SOCK), and an http(s) repository authenticates with
 * BUILDX_BAKE_GIT_AUTH_TOKEN / _HEADER, as buildx attaches them to its fetch.
 */
export async function readRemoteFiles(url: string, names: string[], signal: AbortSignal, root: string, env: NodeJS.ProcessEnv = process.env): Promise<{ files: BakeFile[]; input: RemoteInput }> {
  const secrets: Record<string, Buffer> = {};
  for (const s of gitAuthSecrets(url, env)) secrets[s.id ?? ''] = Buffer.from(env[s.env ?? ''] ?? '');
  const agents = /^https?:\/\//i.test(url) ? undefined : await openAgent(env);
  let tree: FetchedTree;
  try {
    tree = await fetchRemoteTree(url, signal, root, { ...(agents?.sockets.default !== undefined ? { agent: agents.sockets.default } : {}), secrets }, MAX_DEFINITION_BYTES);
  } finally {
    await agents?.close();
  }
  try {
    if (tree.text !== undefined) return { files: [{ name: url, text: tree.text }], input: { url, kind: 'text' } };
    const files = await readTreeFiles(tree.dir ?? '', names, redactUrl(url));
    return { files, input: { url, kind: tree.kind === 'git' ? 'git' : 'archive' } };
  } finally {
    await tree.cleanup();
  }
}

/** buildx's CreateSSH for BUILDX_BAKE_GIT_SSH (sockets or keys, comma-separated; none: the default agent); none when that fails. */
async function openAgent(env: NodeJS.ProcessEnv): Promise<Awaited<ReturnType<typeof openSshAgents>> | undefined> {
  const paths = env.BUILDX_BAKE_GIT_SSH ?? '';
  try {
    return await openSshAgents(parseSsh([paths === '' ? 'default' : `default=${paths}`], env));
  } catch {
    return undefined;
  }
}
