import type { Downloads } from './downloads.js';
import type { GitCommits } from './git-commits.js';

/**
 * What a build's remote ADD sources are resolved and fetched with, once for the build: the commits `ADD <git url>`
 * refs resolved to, the bodies `ADD <url>` resolved to (both keyed by what they resolved to, and then copied from
 * exactly that), and the SSH agent the person running the build forwarded with `--ssh default` (BuildKit mounts the
 * default agent into an ssh git source, and there is none without that flag).
 */
export interface RemoteAccess { commits: GitCommits; downloads: Downloads; sshAgent?: string | undefined }
