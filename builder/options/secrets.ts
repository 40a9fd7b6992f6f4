import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseCsvAttrs } from './csv-attrs.js';
import { UserError } from '../../common/index.js';
import { MAX_SECRET_BYTES } from '../../worker/index.js';
import type { SecretSource } from '../../solver/index.js';

/** `--secret` values resolved: a file's path, or an environment variable's value (held in memory only). */
export interface ResolvedSecrets {
  secrets: Record<string, SecretSource>;
  /** What the user should know: a variable that is not set (its secret left out, as buildx leaves it). */
  warnings: string[];
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
 * Resolves `--secret` values, as buildx and BuildKit's secrets provider do: `src` is a file; `env` a variable; with
 * neither, the variable named like the id when it is set, else the file named like it. An env secret's value stays
 * in memory, as BuildKit's provider keeps it (session/secrets/secretsprovider: an env source is read with
 * os.Getenv when a step asks): no file of it on any disk, which a build killed with SIGKILL would leave behind; the
 * helper writes it into a step's private tmpfs (worker/exec/mount-plan.ts). A file that is not there is the command line's error
 * (INVALID_ARGUMENT, exit 2), as buildx finds it in its options before the solve (secretsprovider.NewStore stats it).
 * A variable that is not set is not: BuildKit looks it up only when a step asks and answers "not found", so the
 * secret is left out with a warning — a fork's pull request in CI runs without the repository's secrets, and a RUN
 * whose mount is not required=true builds without it. A RUN that needs a secret it does not have is the build's
 * error (SECRET_NOT_FOUND, worker/exec).
 */
export async function resolveSecrets(values: string[], env: NodeJS.ProcessEnv = process.env): Promise<ResolvedSecrets> {
  const secrets: Record<string, SecretSource> = {};
  const warnings: string[] = [];
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
      secrets[spec.id] = path;
      continue;
    }
    const name = source.variable;
    const content = env[name];
    if (content === undefined) {
      warnings.push(`warning: --secret ${value}: environment variable ${name} is not set; the build has no secret "${spec.id}" (a RUN mount of it with required=true fails)`);
      continue;
    }
    const bytes = Buffer.from(content, 'utf8');
    if (bytes.length > MAX_SECRET_BYTES) {
      throw new UserError('INVALID_ARGUMENT', `--secret ${value}: environment variable ${name} is larger than ${MAX_SECRET_BYTES / 1024} KiB`, 'BuildKit refuses secrets this large too: pass a smaller value');
    }
    secrets[spec.id] = bytes;
  }
  return { secrets, warnings };
}
