// Build contexts that are not a local directory: a tar or Dockerfile on stdin, a git URL, an http(s) URL.
export { classifyContext, fetchNamedContexts, fetchRemoteTree, remoteSourceTime, resolveContext } from './remote-context.js';
export type { ContextArgument, FetchedNamedContexts, FetchedTree, ResolvedContext } from './remote-context.js';
export type { GitAccess } from './git-auth.js';
