import { rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseCsvAttrs } from './csv-attrs.js';
import { UserError } from '../../common/index.js';
import { makeRootTempDir, MAX_SECRET_BYTES } from '../../worker/index.js';

/** `--secret` values resolved to files, and the cleanup for any temp file made from an environment variable. */
export interface SecretFiles {
  files: Record<string, string>;
  /** What the user should know: a variable that is not set (its secret left out, as buildx leaves it). */
  warnings: string[];
  cleanup(): Promise<void>;
}

/** The fields buildx's --secret takes (util/buildflags/secrets.go); any other is an error there and here. */
const SECRET_KEYS = new Set(['type', 'id', 'src', 'source', 'env']);

/** One `--secret` as buildx reads it: a file path, an environment variable, or neither (decided when resolved). */
export interface SecretSpec { id: string; src?: string; env?: string }

/**
 * Parses `--secret id=ID[,src=PATH|,env=VAR][,type=file|env]` as buildx does: `source` is `src`; `type=env` makes
 * `src` the variable's name; an unknown field or type is refused by name (never dropped).
 */
export function parseSecret(value: string): SecretSpec {
  const a = parseCsvAttrs('--secret', value);
  for (const key of Object.keys(a)) {
    if (!SECRET_KEYS.has(key)) throw new UserError('INVALID_ARGUMENT', `--secret ${value}: unexpected key "${key}"`, 'write --secret id=NAME[,src=FILE|,env=VAR][,type=file|env]');
  }
  if (a.type !== undefined && a.type !== 'file' && a.type !== 'env') {
    throw new UserError('INVALID_ARGUMENT', `--secret ${value}: unsupported secret type "${a.type}"`, 'use type=file or type=env');
  }
  const id = a.id;
  if (!id) throw new UserError('INVALID_ARGUMENT', `--secret ${value}: missing id=`, 'write --secret id=NAME,src=FILE');
  let src = a.src ?? a.source;
  let env = a.env;
  if (a.type === 'env' && !env) { env = src; src = undefined; }
  return { id, ...(src ? { src } : {}), ...(env ? { env } : {}) };
}

/**
 * Where a secret comes from, as BuildKit's secrets provider decides it: `env` names a variable; with neither `src`
 * nor `env`, the variable named like the id when it is set; otherwise the file `src`, or the file named like the id.
 */
export function secretSource(spec: SecretSpec, env: NodeJS.ProcessEnv): { variable: string } | { file: string } {
  const variable = spec.env ?? (spec.src === undefined && env[spec.id] !== undefined ? spec.id : undefined);
  return variable !== undefined ? { variable } : { file: spec.src ?? spec.id };
}

/**
 * Resolves `--secret` values to files, as buildx and BuildKit's secrets provider do: `src` is a file; `env` a
 * variable; with neither, the variable named like the id when it is set, else the file named like it. Env secrets
 * go to a 0600 file that `cleanup` removes, in a private directory in the temp dir of the state root `root`
 * (`secrets-<pid>-…`, worker/temp-dirs.ts), where a RUN step's copy of a secret is made too: never the host's $TMPDIR,
 * shared with other users, where one a build killed with SIGKILL left stayed; the next build or prune on the root
 * removes it. A file that is not there is the command line's error
 * (INVALID_ARGUMENT, exit 2), as buildx finds it in its options before the solve (secretsprovider.NewStore stats it).
 * A variable that is not set is not: BuildKit looks it up only when a step asks and answers "not found", so the
 * secret is left out with a warning — a fork's pull request in CI runs without the repository's secrets, and a RUN
 * whose mount is not required=true builds without it. A RUN that needs a secret it does not have is the build's
 * error (SECRET_NOT_FOUND, worker/exec).
 */
export async function resolveSecrets(values: string[], root: string, env: NodeJS.ProcessEnv = process.env): Promise<SecretFiles> {
  const files: Record<string, string> = {};
  const warnings: string[] = [];
  let tmp: string | undefined;
  for (const value of values.filter((v) => v !== '')) {
    const spec = parseSecret(value);
    const source = secretSource(spec, env);
    if ('file' in source) {
      const path = resolve(source.file);
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile()) {
        throw new UserError('INVALID_ARGUMENT', `--secret ${value}: ${spec.src === undefined ? `neither an environment variable ${spec.id} nor a file ${path}` : `${path} is not a file`}`, 'write --secret id=NAME,src=FILE or id=NAME,env=VAR');
      }
      if (info.size > MAX_SECRET_BYTES) {
        throw new UserError('INVALID_ARGUMENT', `--secret ${value}: ${path} is larger than ${MAX_SECRET_BYTES / 1024} KiB`, 'BuildKit refuses secrets this large too: pass a smaller file');
      }
      files[spec.id] = path;
      continue;
    }
    const name = source.variable;
    const content = env[name];
    if (content === undefined) {
      warnings.push(`warning: --secret ${value}: environment variable ${name} is not set; the build has no secret "${spec.id}" (a RUN mount of it with required=true fails)`);
      continue;
    }
    tmp ??= await makeRootTempDir(root, 'secrets');
    files[spec.id] = join(tmp, spec.id.replace(/[^A-Za-z0-9_.-]/g, '_'));
    await writeFile(files[spec.id] ?? '', content, { mode: 0o600 });
  }
  return { files, warnings, cleanup: async () => { if (tmp) await rm(tmp, { recursive: true, force: true }); } };
}
