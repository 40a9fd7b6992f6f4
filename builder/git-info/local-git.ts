import { spawn } from 'node:child_process';
import { redactCredentials } from '../../common/index.js';

// git run in a checkout on this machine (a local build context, the working directory of `history ls --local`) to
// ask what buildx's util/gitutil GitCLI asks: is this a work tree, its root, HEAD's commit, is it dirty, its remote.
// The checkout may be someone's pull request, and tsbuild runs as root: its repository's configuration must not run
// anything. Of what these read-only commands consult, only `git status` can start a program the repository names:
// core.fsmonitor (a hook command) and the clean filters its .gitattributes pick (`filter.NAME.clean` / `.process`,
// run on a file whose stat changed). Both are switched off for every run, each filter the configuration defines by
// name; a submodule's own (its configuration is not listed) is never asked: status ignores submodule work trees.
// Hooks never run for these commands; core.hooksPath=/dev/null says so anyway. The host's system and global
// configuration are the user's own and stay, as buildx uses them (bkgitutil.WithHostGitConfig).

/** A failed git run: `notFound` when there is no git to run. */
export class GitRunError extends Error {
  constructor(message: string, readonly notFound = false, options?: ErrorOptions) { super(message, options) }
}

const FIXED_CONFIG: [string, string][] = [
  ['core.fsmonitor', 'false'], ['core.hooksPath', '/dev/null'], ['log.showSignature', 'false'], ['core.pager', 'cat'],
];

/** One checkout's git, asked as buildx's GitCLI asks it (each method says which of its methods it is). */
export class LocalGit {
  #filters: Promise<string[]> | undefined;
  constructor(readonly dir: string) {}

  /**
   * IsInsideWorkTree, WorkTree and FullCommit in one run (`rev-parse --is-inside-work-tree --show-toplevel HEAD`):
   * the usual checkout costs one fork, not three. Undefined when that run fails (no work tree, no commit yet, no
   * git): the caller then asks each question alone, as buildx does, for its answers and its warnings.
   */
  async probe(): Promise<{ root: string; commit: string } | undefined> {
    const out = await this.#run(['rev-parse', '--is-inside-work-tree', '--show-toplevel', 'HEAD']).catch(() => undefined);
    const [inside, root, commit] = (out ?? '').split('\n');
    return inside === 'true' && root && commit && /^[0-9a-f]{40,64}$/.test(commit) ? { root, commit } : undefined;
  }

  /** GitCLI.IsInsideWorkTree; throws only when there is no git to run. */
  async isInsideWorkTree(): Promise<boolean> {
    const out = await this.#clean(['rev-parse', '--is-inside-work-tree']).catch((err: unknown) => {
      if (err instanceof GitRunError && err.notFound) throw err;
      return undefined;
    });
    return out === 'true';
  }

  /** BuildKit GitCLI.WorkTree: the work tree's root (git prints it with symbolic links resolved). */
  workTree(): Promise<string> {
    return this.#clean(['rev-parse', '--show-toplevel']);
  }

  /** GitCLI.FullCommit: HEAD's commit; undefined in a repository with no commit yet (buildx's IsUnknownRevision). */
  async fullCommit(): Promise<string | undefined> {
    try {
      return await this.#clean(['show', '--format=%H', 'HEAD', '--quiet', '--']);
    } catch (err) {
      const text = err instanceof Error ? err.message.toLowerCase() : '';
      if (text.includes('unknown revision or path not in the working tree') || text.includes('bad revision')) return undefined;
      throw err;
    }
  }

  /**
   * GitCLI.IsDirty: any change, untracked or ignored file (a failing status counts as dirty, as there). Submodules'
   * work trees are not looked into (`--ignore-submodules=dirty`, see the top); a moved submodule commit still counts.
   */
  async isDirty(): Promise<boolean> {
    const filters = await this.#filterOverrides();
    return this.#run(['status', '--porcelain', '--ignored', '--ignore-submodules=dirty'], filters)
      .then((out) => out.trim() !== '', () => true);
  }

  /**
   * GitCLI.RemoteURL: the remote of the current branch's upstream, else `origin`, else `upstream`, credentials
   * redacted as BuildKit's urlutil.RedactCredentials; undefined when there is none.
   */
  async remoteUrl(): Promise<string | undefined> {
    // The usual case in one run: `ls-remote --get-url` gives the URL of the branch's upstream remote, else origin's
    // (insteadOf applied, as get-url does); with neither it echoes the name `origin`, and the questions below decide.
    const first = await this.#clean(['ls-remote', '--get-url']).catch(() => '');
    if (first !== '' && first !== 'origin') return redactCredentials(first);
    const get = (remote: string): Promise<string | undefined> => this.#clean(['remote', 'get-url', remote]).then((u) => u || undefined, () => undefined);
    const symref = await this.#clean(['symbolic-ref', '-q', 'HEAD']).catch(() => '');
    const current = symref === '' ? '' : await this.#clean(['for-each-ref', '--format=%(upstream:remotename)', symref]).catch(() => '');
    for (const remote of [...(current !== '' ? [current] : []), 'origin', 'upstream']) {
      const url = await get(remote);
      if (url !== undefined) return redactCredentials(url);
    }
    return undefined;
  }

  /** The names of the filters the configuration defines, each switched off (see the top). */
  #filterOverrides(): Promise<[string, string][]> {
    this.#filters ??= this.#run(['config', '--null', '--name-only', '--get-regexp', '^filter\\.']).then((out) => {
      const names = new Set(out.split('\0').filter((k) => k !== '').map((k) => k.slice('filter.'.length, k.lastIndexOf('.'))));
      return [...names];
    }, () => []);
    return this.#filters.then((names) => names.flatMap((n): [string, string][] => [[`filter.${n}.clean`, ''], [`filter.${n}.process`, ''], [`filter.${n}.required`, 'false']]));
  }

  /** buildx's GitCLI.clean: the first line of the output, without `'`. */
  async #clean(args: string[]): Promise<string> {
    return ((await this.#run(args)).split('\n')[0] ?? '').replaceAll("'", '');
  }

  /**
   * Runs git in `dir`. Settings go in through GIT_CONFIG_COUNT (not `-c NAME=VALUE`, which a `=` in a filter's name
   * would cut wrongly); the caller's GIT_* variables are dropped, so none points git at another repository.
   * GIT_OPTIONAL_LOCKS=0: status does not rewrite the checkout's index while a build reads it.
   */
  #run(args: string[], extra: [string, string][] = []): Promise<string> {
    const config = [...FIXED_CONFIG, ...extra];
    const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIT_')));
    Object.assign(env, { LC_ALL: 'C', GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0', GIT_CONFIG_COUNT: String(config.length) });
    config.forEach(([k, v], i) => { env[`GIT_CONFIG_KEY_${i}`] = k; env[`GIT_CONFIG_VALUE_${i}`] = v; });
    return new Promise((resolve, reject) => {
      const child = spawn('git', args, { cwd: this.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      child.on('error', (e: NodeJS.ErrnoException) => reject(new GitRunError(`exec: "git": ${e.code === 'ENOENT' ? 'executable file not found in $PATH' : e.message}`, e.code === 'ENOENT', { cause: e })));
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new GitRunError(err.trim() || `git ${args[0] ?? ''} exited with ${code ?? 'a signal'}`))));
    });
  }
}
