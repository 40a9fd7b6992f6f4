// tsbuild bake: buildx's bake files (HCL and JSON), resolved to targets, printed as buildx prints them, and built
// through tsbuild build's own path. Loaded only by the bake command.
export { BakeFileError, BakeTargetError } from './errors.js';
export { parseBakeFiles, type BakeFile, type Config, type ConfigOptions } from './config.js';
export { readBakeFiles, readDotEnv, DEFAULT_FILES } from './files.js';
export { addSourceDateEpoch, resolveTargets, type Resolved } from './resolve.js';
export { printDefinition, targetJson } from './print.js';
export type { Target, Entry } from './target.js';
export { listDefinitions } from './list.js';
export { showDefinitionsRead } from './definitions-progress.js';
export { bakeArgs, readRemoteFiles, remoteTargets, withGitAuth, withGitSsh, type RemoteInput } from './remote.js';
