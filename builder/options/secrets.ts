import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseCsvAttrs } from './output.js';
import { UserError } from '../../common/index.js';

/** `--secret` values resolved to files, and the cleanup for any temp file made from an environment variable. */
export interface SecretFiles { files: Record<string, string>; cleanup(): Promise<void> }

/**
 * Reads `--secret id=ID,src=PATH` / `id=ID,env=VAR` as buildx does (`type=file|env` optional; with neither src nor
 * env the id names an environment variable). Env secrets go to a 0600 temp file that `cleanup` removes.
 */
export async function resolveSecrets(values: string[], env: NodeJS.ProcessEnv = process.env): Promise<SecretFiles> {
  const files: Record<string, string> = {};
  let tmp: string | undefined;
  for (const value of values) {
    const a = parseCsvAttrs(value);
    const id = a.id;
    if (!id) throw new UserError('INVALID_ARGUMENT', `--secret ${value}: missing id=`, 'write --secret id=NAME,src=FILE');
    const src = a.src ?? a.source ?? (a.type === 'file' ? id : undefined);
    if (src !== undefined) { files[id] = resolve(src); continue; }
    const name = a.env ?? id;
    const content = env[name];
    if (content === undefined) {
      throw new UserError('SECRET_NOT_FOUND', `--secret ${value}: environment variable ${name} is not set`, `export ${name}=… or pass src=FILE`);
    }
    tmp ??= await mkdtemp(join(tmpdir(), 'tsbuild-secrets-'));
    files[id] = join(tmp, id.replace(/[^A-Za-z0-9_.-]/g, '_'));
    await writeFile(files[id], content, { mode: 0o600 });
  }
  return { files, cleanup: async () => { if (tmp) await rm(tmp, { recursive: true, force: true }); } };
}
