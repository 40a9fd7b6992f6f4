import { spawn } from 'node:child_process';
import { chmod, lstat, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { TsbuildError, type ErrorCode } from '../../common/index.js';
import { makeTempDir } from '../temp-dirs.js';
import type { GitRef } from './git-ref.js';
import { redactText, redactUrl } from '../../common/index.js';

/** A git source that could not be fetched: the remote is unreachable, the ref is missing, the checksum differs. */
export class GitFetchError extends TsbuildError {
  constructor(readonly code: ErrorCode, message: string, hint?: string, options?: ErrorOptions) {
    super(message, hint, options);
  }
}

/** What `fetchGit` checked out. */
export interface GitCheckout {
  /** The work tree (with `.git` only when keepGitDir). */
  dir: string;
  /** The commit the ref resolved to. */
  commit: string;
  /** The full ref it came from (`refs/heads/main`, `refs/tags/v1`), or the commit when fetched by commit. */
  resolvedRef: string;
  /** The commit's committer time, seconds since the epoch (what BuildKit takes as SOURCE_DATE_EPOCH=context). */
  committed: number;
}

/**
 * Options of one fetch. `code` is the error code of a failure (CONTEXT_NOT_FOUND for a context, … for ADD).
 * `commit`: the commit to check out, the one the ref resolved to when the step was keyed (git-commits.ts); the ref
 * is then not resolved again.
 */
export interface GitFetchOptions {
  signal: AbortSignal; code: ErrorCode; keepGitDir?: boolean; commit?: string;
  /** The SSH agent socket an ssh remote may authenticate with; without it ssh offers no key at all. */
  sshAgent?: string | undefined;
  /** The `Authorization` header value an http(s) remote is fetched with (from GIT_AUTH_TOKEN / GIT_AUTH_HEADER). */
  authHeader?: string;
}

// Protocols git may use, for the main fetch and every submodule: never file:// (or a bare local path) and never
// ext:: (runs a command). `-c` settings reach the git processes git starts itself (GIT_CONFIG_PARAMETERS).
const CONFIG = [
  'protocol.allow=never', 'protocol.https.allow=always', 'protocol.http.allow=always', 'protocol.ssh.allow=always',
  'protocol.git.allow=always', 'core.hooksPath=/dev/null', 'core.fsmonitor=false', 'submodule.recurse=false',
  'advice.detachedHead=false', 'init.defaultBranch=main',
].flatMap((c) => ['-c', c]);

const SHA = /^[0-9a-f]{40}$|^[0-9a-f]{64}$/;

/**
 * Fetches one ref of `g.remote` as BuildKit's git source does (ls-remote to resolve the ref, a shallow fetch of
 * it, submodules shallow and recursive unless `submodules=false`) into `<workDir>/checkout`. `workDir` is a private
 * (0700) directory the caller made in the state root's temp dir (worker/temp-dirs.ts), outside every snapshot, and
 * removes afterwards. git runs with no hooks, no system or user configuration (HOME is `<workDir>/home`), no terminal
 * prompt, and only the network protocols.
 */
export async function fetchGit(g: GitRef, workDir: string, opts: GitFetchOptions): Promise<GitCheckout> {
  const home = path.join(workDir, 'home');
  const dir = path.join(workDir, 'checkout');
  await mkdir(home, { mode: 0o700 });
  await mkdir(dir, { mode: 0o700 });
  // The checkout's root is a context's or an ADD's source root: 0755, as the root of BuildKit's git snapshot (so
  // `COPY . /app/` from a git context makes /app 0755); the work dir around it stays private.
  await chmod(dir, 0o755);
  const git = new GitRunner(home, g, opts);
  // A pinned commit is fetched by its id (a server that refuses unadvertised ids gets the fallback below).
  const { sha, fetchRef } = opts.commit !== undefined ? { sha: opts.commit, fetchRef: opts.commit } : await resolveRef(git, g);
  // A SHA-256 repository needs a SHA-256 local repository: fetched into a SHA-1 one, the dumb HTTP protocol asks
  // for objects the SHA-1 store cannot name ("did not send all necessary objects"). BuildKit chooses the format by
  // the length of the resolved commit (source/git/source.go, gitSourceHandler.CacheKey: len(md.Checksum) == 64).
  const objectFormat = sha.length === 64 ? ['--object-format=sha256'] : [];
  await git.run(dir, ['init', '-q', '--template=', ...objectFormat]);
  await git.run(dir, ['remote', 'add', 'origin', g.remote]);
  let commit: string;
  try {
    await git.run(dir, ['fetch', '-q', '--depth=1', '--no-tags', 'origin', `+${fetchRef}:refs/tsbuild/fetched`]);
    commit = (await git.run(dir, ['rev-parse', '--verify', 'refs/tsbuild/fetched^{commit}'])).trim();
  } catch (err) {
    // A server that refuses to send an unadvertised commit: fetch its branches and tags, then look for it.
    if (fetchRef !== sha) throw err;
    await git.run(dir, ['fetch', '-q', 'origin', '+refs/heads/*:refs/remotes/origin/*', '+refs/tags/*:refs/tags/*']);
    commit = (await git.run(dir, ['rev-parse', '--verify', `${sha}^{commit}`]).catch(() => {
      throw git.error(`repository ${redactUrl(g.remote)} does not contain commit ${sha}`, 'check the commit; it must be reachable from a branch or tag');
    })).trim();
  }
  verifyGitChecksum(g, commit, opts.code);
  const committed = Number((await git.run(dir, ['show', '-s', '--format=%ct', commit])).trim());
  await git.run(dir, ['checkout', '-q', '--detach', commit]);
  if (g.submodules !== false && (await exists(path.join(dir, '.gitmodules')))) {
    await git.run(dir, ['submodule', 'update', '-q', '--init', '--recursive', '--depth=1']);
  }
  if (!(opts.keepGitDir ?? g.keepGitDir ?? false)) await removeGitDirs(git, dir);
  return { dir, commit, resolvedRef: fetchRef, committed };
}

/**
 * Fails unless `commit` starts with the checksum `g` asks for (`--checksum`, `?checksum=`, `?commit=`): checked where
 * the commit is resolved for the step's key, so a cached step is never reused for a checksum it does not match, and
 * again after the fetch. BuildKit's checks and words (source/git/source.go, resolveMetadata): a checksum is hex, and
 * the resolved commit starts with it.
 */
export function verifyGitChecksum(g: GitRef, commit: string, code: ErrorCode): void {
  if (g.checksum === undefined || g.checksum === '') return;
  if (!/^[0-9a-fA-F]+$/.test(g.checksum)) {
    throw new GitFetchError('INVALID_ARGUMENT', `invalid checksum ${g.checksum} for Git URL, expected hex commit hash`, 'give the commit (or a prefix of it) the ref must resolve to');
  }
  if (!commit.startsWith(g.checksum)) {
    throw new GitFetchError(code, `git source ${redactUrl(g.remote)}${g.ref ? `#${g.ref}` : ''}: expected checksum to match ${g.checksum}, got ${commit}`, 'the ref moved, or the checksum is wrong');
  }
}

/**
 * The commit `g` resolves to now (ls-remote, no fetch): what an ADD of a git source is keyed by, so a moved branch
 * misses and an unchanged one hits, as BuildKit's git source keys by the resolved commit. git's HOME is a private
 * directory in the state root's temp dir `tempDir` (`git-<pid>-…`, worker/temp-dirs.ts), as for the checkout.
 */
export async function resolveGitCommit(g: GitRef, tempDir: string, opts: GitFetchOptions): Promise<string> {
  const work = await makeTempDir(tempDir, 'git');
  try {
    const home = path.join(work, 'home');
    await mkdir(home, { mode: 0o700 });
    return (await resolveRef(new GitRunner(home, g, opts), g)).sha;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** BuildKit's resolution: a full commit is fetched as is; else ls-remote, branches before tags, `^{}` for tags. */
async function resolveRef(git: GitRunner, g: GitRef): Promise<{ sha: string; fetchRef: string }> {
  if (SHA.test(g.ref)) return { sha: g.ref, fetchRef: g.ref };
  let ref = g.ref;
  if (ref === '') {
    const head = await git.run(undefined, ['ls-remote', '--symref', '--', g.remote, 'HEAD']);
    ref = /^ref: (refs\/heads\/\S+)\tHEAD$/m.exec(head)?.[1] ?? 'HEAD';
    if (ref === 'HEAD') {
      const sha = /^([0-9a-f]{40,64})\tHEAD$/m.exec(head)?.[1];
      if (sha === undefined) throw git.error(`repository ${redactUrl(g.remote)} has no default branch`, 'give a ref: URL#branch');
      return { sha, fetchRef: 'HEAD' };
    }
  }
  const out = await git.run(undefined, ['ls-remote', '--', g.remote, ref, `${ref}^{}`]);
  const bare = ref.replace(/^refs\//, '');
  const partial = `refs/${bare}`;
  const head = `refs/heads/${ref.replace(/^refs\/heads\//, '')}`;
  const tag = `refs/tags/${ref.replace(/^refs\/tags\//, '')}`;
  const found = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [sha, name] = line.split('\t');
    if (sha !== undefined && name !== undefined) found.set(name, sha);
  }
  for (const candidate of [partial, head, tag]) {
    const sha = found.get(candidate);
    if (sha !== undefined) return { sha: candidate === tag ? (found.get(`${tag}^{}`) ?? sha) : sha, fetchRef: candidate };
  }
  // BuildKit's words (source/git/source.go, resolveMetadata), with the remote after them.
  throw git.error(`repository does not contain ref ${JSON.stringify(ref)}: ${redactUrl(g.remote)}`, 'check the branch or tag after # in the URL (git ls-remote lists them)');
}

/** `.git` of the checkout and of every submodule (a gitlink file): BuildKit leaves them out unless keep-git-dir. */
async function removeGitDirs(git: GitRunner, dir: string): Promise<void> {
  if (await exists(path.join(dir, '.gitmodules'))) {
    const listed = await git.run(dir, ['submodule', 'foreach', '--quiet', '--recursive', 'printf "%s\\0" "$displaypath"']);
    for (const sub of listed.split('\0').filter((s) => s !== '')) await rm(path.join(dir, sub, '.git'), { recursive: true, force: true });
  }
  await rm(path.join(dir, '.git'), { recursive: true, force: true });
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then((s) => s.isFile() || s.isDirectory(), () => false);
}

/**
 * Where the auth header applies: the remote itself, or for github.com every repository there (a submodule of the
 * same owner), as BuildKit's tokenScope and actions/checkout do.
 */
function tokenScope(remote: string): string {
  return ['https://github.com/', 'https://www.github.com/'].find((p) => remote.startsWith(p)) ?? remote;
}

/** Runs git with the fixed, hook-free, config-free environment; failures become GitFetchErrors with stderr redacted. */
class GitRunner {
  readonly #env: NodeJS.ProcessEnv;
  constructor(home: string, readonly g: GitRef, readonly opts: GitFetchOptions) {
    this.#env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, LANG: 'C', LC_ALL: 'C',
      GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_ASKPASS: '/bin/false',
      // ssh finds the invoking user's ~/.ssh by the password database, not $HOME: IdentityFile=none keeps their key
      // files out, so an ssh remote gets only the agent the caller passes (`--ssh default` for a Dockerfile's ADD), as
      // BuildKit's git source authenticates with the forwarded agent alone. A Dockerfile could otherwise fetch any
      // private repository the person running the build can reach, into the image or the log.
      GIT_SSH_COMMAND: 'ssh -o BatchMode=yes -o IdentityFile=none', GIT_PROTOCOL_FROM_USER: '0',
      ...(opts.sshAgent ? { SSH_AUTH_SOCK: opts.sshAgent } : {}),
      // The header as BuildKit's git source sets it (http.<scope>.extraheader, source/git/source.go getAuthToken),
      // through the environment (GIT_CONFIG_COUNT, git 2.31) rather than `-c`: a command line is readable by every
      // user of the host in /proc, an environment only by this one.
      ...(opts.authHeader !== undefined ? {
        GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: `http.${tokenScope(g.remote)}.extraheader`, GIT_CONFIG_VALUE_0: `Authorization: ${opts.authHeader}`,
      } : {}),
      ...(process.env.https_proxy ? { https_proxy: process.env.https_proxy } : {}),
      ...(process.env.HTTPS_PROXY ? { HTTPS_PROXY: process.env.HTTPS_PROXY } : {}),
      ...(process.env.no_proxy ? { no_proxy: process.env.no_proxy } : {}),
      ...(process.env.NO_PROXY ? { NO_PROXY: process.env.NO_PROXY } : {}),
    };
  }

  error(message: string, hint?: string, cause?: unknown): GitFetchError {
    return new GitFetchError(this.opts.code, message, hint, cause === undefined ? undefined : { cause });
  }

  /**
   * git starts helpers (git-remote-http, ssh, upload-pack children) that outlive a killed git and would keep its
   * pipes, and this process, open: git runs in its own process group and a cancel kills the whole group.
   */
  run(cwd: string | undefined, args: string[]): Promise<string> {
    const { signal } = this.opts;
    if (signal.aborted) return Promise.reject(new GitFetchError('CANCELLED', 'git fetch cancelled', undefined, { cause: signal.reason }));
    return new Promise((resolve, reject) => {
      const child = spawn('git', [...CONFIG, ...args], { cwd: cwd ?? this.#env.HOME, env: this.#env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let out = '';
      let err = '';
      const cancel = (): void => {
        try { if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
        child.stdout.destroy();
        child.stderr.destroy();
        reject(new GitFetchError('CANCELLED', 'git fetch cancelled', undefined, { cause: signal.reason }));
      };
      signal.addEventListener('abort', cancel, { once: true });
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      child.on('error', (e) => {
        signal.removeEventListener('abort', cancel);
        reject(this.error(`cannot run git: ${e.message}`, 'install git (scripts/setup.sh does)', e));
      });
      child.on('close', (code) => {
        signal.removeEventListener('abort', cancel);
        if (code === 0) return resolve(out);
        // A server that cannot serve a shallow fetch (git's dumb HTTP transport: a plain file server over a
        // repository, as buildx's tests serve one) gets the same fetch in full, as BuildKit's GitCLI.run retries
        // without --depth when git's error names it or "shallow" (util/gitutil/git_cli.go, argsNoDepth).
        if (args.includes('--depth=1') && /--depth|shallow/.test(err)) return resolve(this.run(cwd, args.filter((a) => a !== '--depth=1')));
        const detail = redactText(err.trim().split('\n').filter((l) => l.trim() !== '').slice(-3).join('; '));
        const where = `${redactUrl(this.g.remote)}${this.g.ref ? `#${this.g.ref}` : ''}`;
        reject(this.error(`git ${args[0]} of ${where} failed: ${detail || `exit ${code}`}`, 'check the URL, that the ref exists and that this host can reach the repository'));
      });
    });
  }
}
