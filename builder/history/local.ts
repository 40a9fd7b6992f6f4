import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { UserError, redactUrl } from '../../common/index.js';

const run = promisify(execFile);

/**
 * The repository `history ls --local` lists the builds of: the remote URL of the git checkout at `dir`, looked up as
 * buildx's GitCLI.RemoteURL does (util/gitutil): the remote of the branch's upstream, then `origin`, then `upstream`,
 * credentials redacted.
 */
export async function localRepository(dir: string): Promise<string> {
  const git = async (...args: string[]): Promise<string | undefined> => {
    try {
      return (await run('git', ['-c', 'log.showSignature=false', ...args], { cwd: dir })).stdout.trim() || undefined;
    } catch {
      return undefined;
    }
  };
  if ((await git('rev-parse', '--is-inside-work-tree')) !== 'true') {
    throw new UserError('INVALID_ARGUMENT', `could not find git repository for local filter: ${dir} is not in a git work tree`, 'run it inside the checkout whose builds you want, or drop --local');
  }
  // The remote the current branch tracks (`origin/main` → origin), as buildx's currentRemote reads it.
  const upstream = await git('rev-parse', '--abbrev-ref', '--symbolic-full-name', '@{u}');
  const remotes = [...(upstream?.includes('/') ? [upstream.slice(0, upstream.indexOf('/'))] : []), 'origin', 'upstream'];
  for (const remote of remotes) {
    const url = await git('remote', 'get-url', remote);
    if (url !== undefined) return redactUrl(url);
  }
  throw new UserError('INVALID_ARGUMENT', 'could not get remote URL for local filter: no remote URL found for either origin or upstream', 'add a remote (`git remote add origin URL`), or drop --local');
}
