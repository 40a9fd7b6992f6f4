// The git checkout a local build runs in, as buildx reads it (build/git.go, util/gitutil), run so that the
// checkout's own configuration cannot start a program.
export { DOCKERFILE_LABEL, gitAttributes } from './git-attributes.js';
export type { GitAttributes, LocalDirs } from './git-attributes.js';
export { LocalGit } from './local-git.js';
