import type { SecretSource } from '../../solver/index.js';

/** What a remote git context may use to authenticate: the SSH agent, and the build's `--secret`s. */
export interface GitAccess {
  /** The SSH agent socket an ssh remote may authenticate with. */
  agent?: string | undefined;
  /** The build's secrets, by id: GIT_AUTH_HEADER / GIT_AUTH_TOKEN (optionally `.HOST`) authenticate an http(s) remote. */
  secrets?: Record<string, SecretSource>;
}
