import { UserError } from '../../common/index.js';
import { LocalGit } from '../git-info/index.js';

/**
 * The repository `history ls --local` lists the builds of: the remote URL of the git checkout at `dir`, as buildx's
 * GitCLI.RemoteURL finds it (util/gitutil): the remote of the branch's upstream, then `origin`, then `upstream`,
 * credentials redacted as buildx sends `vcs:source`, which the builds' records keep.
 */
export async function localRepository(dir: string): Promise<string> {
  const git = new LocalGit(dir);
  if (!(await git.isInsideWorkTree().catch(() => false))) {
    throw new UserError('INVALID_ARGUMENT', `could not find git repository for local filter: ${dir} is not in a git work tree`, 'run it inside the checkout whose builds you want, or drop --local');
  }
  const url = await git.remoteUrl();
  if (url === undefined) {
    throw new UserError('INVALID_ARGUMENT', 'could not get remote URL for local filter: no remote URL found for either origin or upstream', 'add a remote (`git remote add origin URL`), or drop --local');
  }
  return url;
}
