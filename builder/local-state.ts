import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { makeDirs, replaceFile } from '../common/index.js';
import { dockerConfigPath } from '../registry/index.js';

/** What buildx's localstate keeps of one build (localstate/localstate.go State), under its Go field names. */
export interface LocalState {
  /** The target built: `default` for `build`, the bake target's name for bake. */
  Target: string;
  /** The context as an absolute path, or a remote context (git, http URL, `-`) as given. */
  LocalPath: string;
  /** `-f` as an absolute path, or as given for a remote context or stdin (`-`); empty without -f. */
  DockerfilePath: string;
  GroupRef?: string;
}

/** buildx's config directory: $BUILDX_CONFIG, else `buildx` beside docker's config.json (util/confutil/config.go). */
export function buildxConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  const given = env.BUILDX_CONFIG;
  return given !== undefined && given !== '' ? given : join(dirname(dockerConfigPath(env)), 'buildx');
}

/**
 * The state of a local or remote build as buildx's saveLocalState (build/localstate.go) makes it: a context that is
 * not a URL or `-` made absolute, and so is `-f` then.
 */
export function localStateOf(target: string, context: string, dockerfile: string | undefined, isRemote: boolean): LocalState {
  const local = !isRemote && context !== '-';
  const dp = dockerfile ?? '';
  return { Target: target, LocalPath: local ? resolve(context) : context, DockerfilePath: dp !== '' && local && dp !== '-' ? resolve(dp) : dp };
}

/** buildx's localstate path of the build `ref` (`BUILDER/NODE/ID`): `<config>/refs/BUILDER/NODE/ID`. */
function refPath(ref: string, env: NodeJS.ProcessEnv): string {
  const parts = ref.split('/');
  if (parts.length !== 3 || parts.some((p) => p === '' || p === '.' || p === '..')) throw new Error(`malformed build ref ${JSON.stringify(ref)}`);
  return join(buildxConfigDir(env), 'refs', ...parts);
}

/**
 * The state saved for the build `ref`, as buildx's ReadRef reads it for `history export`; undefined when none was
 * saved or it is no state (buildx then leaves it out of the bundle too).
 */
export async function readLocalState(ref: string, env: NodeJS.ProcessEnv = process.env): Promise<LocalState | undefined> {
  const text = await readFile(refPath(ref, env), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null) return undefined;
    const { Target, LocalPath, DockerfilePath, GroupRef } = v as Record<string, unknown>;
    if (typeof Target !== 'string' || typeof LocalPath !== 'string' || typeof DockerfilePath !== 'string') return undefined;
    return { Target, LocalPath, DockerfilePath, ...(typeof GroupRef === 'string' && GroupRef !== '' ? { GroupRef } : {}) };
  } catch {
    return undefined;
  }
}

/**
 * Records `state` for the build `ref` (`BUILDER/NODE/ID`, as `buildx.build.ref` names it) where buildx's
 * localstate.SaveRef puts it, `<config>/refs/BUILDER/NODE/ID`: what `buildx history` and buildx's debugger read to
 * find a build's sources again. The directories are private to the user (0700), as buildx makes them.
 */
export async function saveLocalState(ref: string, state: LocalState, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const path = refPath(ref, env);
  await makeDirs(dirname(path), 0o700);
  await replaceFile(path, JSON.stringify(state), 0o644);
}
