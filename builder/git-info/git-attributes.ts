import { lstat, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { parseGoBool } from '../../common/index.js';
import { readCheckout } from './git-files.js';
import { GitRunError, LocalGit } from './local-git.js';

// What buildx tells BuildKit about the git checkout a local build runs in (build/git.go getGitAttributes): unless
// BUILDX_GIT_INFO is false, `vcs:source` (the remote, credentials redacted) and `vcs:revision` (HEAD's commit, with
// `-dirty` when BUILDX_GIT_CHECK_DIRTY is true and the tree has changes); when BUILDX_GIT_LABELS is true (or `full`,
// its old spelling, which now means the same), the image labels org.opencontainers.image.source and .revision and
// com.docker.image.source.entrypoint (the Dockerfile, relative to the repository's root); and, with the git info, each
// local directory sent (`context`, `dockerfile`, a named context's) as `vcs:localdir:NAME`, relative to the root.
// BuildKit puts the `vcs:*` attributes in the provenance's metadata (provenance/predicate.go NewPredicate) and keeps
// them with the build's history record, where `history inspect` and `history ls --filter repository=` read them.

/** com.docker.image.source.entrypoint: the Dockerfile's path in the repository (buildx's DockerfileLabel). */
export const DOCKERFILE_LABEL = 'com.docker.image.source.entrypoint';

/** What a local build's checkout adds to the build. */
export interface GitAttributes {
  /** `vcs:source`, `vcs:revision` and `vcs:localdir:NAME`: frontend attributes, kept with the build record. */
  vcs: Record<string, string>;
  /** The labels BUILDX_GIT_LABELS adds to the image config, over the `--label`s of the same name (buildx copies them last). */
  labels: Record<string, string>;
  /** buildx's warning when the checkout could not be read: printed, and the build goes on without any of it. */
  warning?: string;
}

/** The local directories the build sends, by the name BuildKit knows them (`context`, `dockerfile`, a named context's). */
export type LocalDirs = Record<string, string>;

const NONE: GitAttributes = { vcs: {}, labels: {} };

/**
 * buildx's getGitAttributes for a local context `contextDir` and the Dockerfile `dockerfile` (absent: the
 * context's `Dockerfile`), relative paths read from `cwd`; `localDirs` are the directories buildx would mount.
 */
export async function gitAttributes(contextDir: string, dockerfile: string | undefined, localDirs: LocalDirs, env: NodeJS.ProcessEnv, cwd = process.cwd()): Promise<GitAttributes> {
  const setLabels = env.BUILDX_GIT_LABELS === 'full' || parseGoBool(env.BUILDX_GIT_LABELS) === true;
  const setInfo = parseGoBool(env.BUILDX_GIT_INFO) ?? true;
  if (!setLabels && !setInfo) return NONE;
  const wd = resolve(cwd, contextDir);
  const git = new LocalGit(wd);
  const warn = (message: string): GitAttributes => ({ ...NONE, warning: `WARNING: current commit information was not captured by the build: ${message}` });
  // buildx is quiet about a directory that is no repository, and says so when it has a `.git` it could not read.
  const hasGitDir = (): Promise<boolean> => lstat(join(wd, '.git')).then((s) => s.isDirectory(), () => false);
  // No `.git` in the directory or above it: no checkout git could find (LocalGit drops GIT_DIR and the like), and
  // no git process either. A fork costs this Node process 5-12 ms on a small VM (bench/RESULTS.md, fourteenth
  // round), on the critical path of every build outside a checkout, a no-op rebuild's among them.
  const top = await gitDirAbove(wd);
  if (top === undefined) return NONE;
  // A plain checkout is read from its files (git-files.ts), without a git process; anything else asks git.
  const inGitDir = !relative(join(top, '.git'), wd).startsWith('..');
  const files = inGitDir ? undefined : await readCheckout(top, env);
  const found = files ?? await git.probe() ?? await askEach();
  if ('warning' in found || 'vcs' in found) return found;
  const { root } = found;
  let sha = found.commit;
  const vcs: Record<string, string> = {};
  const labels: Record<string, string> = {};
  if (sha) {
    if (parseGoBool(env.BUILDX_GIT_CHECK_DIRTY) === true && (await git.isDirty())) sha += '-dirty';
    if (setLabels) labels['org.opencontainers.image.revision'] = sha;
    if (setInfo) vcs['vcs:revision'] = sha;
  }
  const source = files !== undefined ? files.remoteUrl : await git.remoteUrl();
  if (source) {
    if (setLabels) labels['org.opencontainers.image.source'] = source;
    if (setInfo) vcs['vcs:source'] = source;
  }
  if (setLabels && root !== '') {
    const file = dockerfile === undefined ? join(wd, 'Dockerfile') : isAbsolute(dockerfile) ? dockerfile : join(cwd, dockerfile);
    const within = inside(root, file);
    if (within !== undefined) labels[DOCKERFILE_LABEL] = within;
  }
  if (setInfo && root !== '') {
    for (const [name, dir] of Object.entries(localDirs)) {
      // As fsutil opens a mount: symbolic links resolved (the root git prints is resolved too).
      const real = await realpath(resolve(cwd, dir)).catch(() => undefined);
      const within = real === undefined ? undefined : inside(root, real);
      if (within !== undefined) vcs[`vcs:localdir:${name}`] = within;
    }
  }
  return { vcs, labels };

  /** buildx's questions one at a time, for what probe() could not answer: the root and commit, or the warning. */
  async function askEach(): Promise<{ root: string; commit: string | undefined } | GitAttributes> {
    // buildx's gitutil.New finds no git: quiet, unless there is a `.git` it would have read.
    let isWorkTree: boolean;
    try {
      isWorkTree = await git.isInsideWorkTree();
    } catch (err) {
      if (!(err instanceof GitRunError)) throw err;
      return (await hasGitDir()) ? warn(`git was not found in the system: ${err.message}`) : NONE;
    }
    if (!isWorkTree) return (await hasGitDir()) ? warn('failed to read current commit information with git rev-parse --is-inside-work-tree') : NONE;
    const root = await git.workTree().catch((err: unknown) => failure('failed to get git root dir', err));
    if (typeof root !== 'string') return root;
    const commit = await git.fullCommit().catch((err: unknown) => failure('failed to get git commit', err));
    if (typeof commit === 'object') return commit;
    return { root, commit };
  }

  /** A git failure after the work tree was found: buildx's wrapped error, as its warning; a bug stays a bug. */
  function failure(what: string, err: unknown): GitAttributes {
    if (!(err instanceof GitRunError)) throw err;
    return warn(`${what}: ${err.message}`);
  }
}

/** The nearest of `dir` and the directories above it that has a `.git` (a directory, or a file pointing at one: a worktree, a submodule). */
async function gitDirAbove(dir: string): Promise<string | undefined> {
  for (let d = dir; ; d = dirname(d)) {
    if (await lstat(join(d, '.git')).then(() => true, () => false)) return d;
    if (dirname(d) === d) return undefined;
  }
}

/** `path` relative to `root` (`.` for the root itself), or undefined when it is outside (buildx's `..` test). */
function inside(root: string, path: string): string | undefined {
  const rel = relative(root, path) || '.';
  return rel.startsWith('..') || isAbsolute(rel) ? undefined : rel.split(sep).join('/');
}
