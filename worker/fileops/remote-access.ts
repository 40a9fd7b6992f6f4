import type { SecretSource } from '../../solver/index.js';
import type { Downloads } from './downloads.js';
import { gitAuthHeader } from './git-auth.js';
import type { GitCommits } from './git-commits.js';

/**
 * What a build's remote ADD sources are resolved and fetched with, once for the build: the commits `ADD <git url>`
 * refs resolved to, the bodies `ADD <url>` resolved to (both keyed by what they resolved to, and then copied from
 * exactly that), and the SSH agent the person running the build forwarded with `--ssh default` (BuildKit mounts the
 * default agent into an ssh git source, and there is none without that flag).
 */
export interface RemoteAccess {
  commits: GitCommits;
  downloads: Downloads;
  sshAgent?: string | undefined;
  /** The build's GIT_AUTH_TOKEN / GIT_AUTH_HEADER secrets: an http(s) git remote is fetched with them (git-auth.ts). */
  gitSecrets?: Record<string, SecretSource> | undefined;
}

/** How git authenticates to `remote` for an ADD: the SSH agent, and the Authorization header from the secrets. */
export async function gitAuth(access: RemoteAccess | undefined, remote: string): Promise<{ sshAgent?: string; authHeader?: string }> {
  const authHeader = await gitAuthHeader(remote, access?.gitSecrets);
  return { ...(access?.sshAgent !== undefined ? { sshAgent: access.sshAgent } : {}), ...(authHeader !== undefined ? { authHeader } : {}) };
}
