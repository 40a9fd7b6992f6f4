import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The fsattr binary: `TSBUILD_FSATTR` when set, else worker/native/fsattr/tsbuild-fsattr of this checkout. */
export function fsattrPath(): string {
  const fromEnv = process.env['TSBUILD_FSATTR'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const candidates = ['../../../worker/native/fsattr/tsbuild-fsattr', '../native/fsattr/tsbuild-fsattr']
    .map((rel) => fileURLToPath(new URL(rel, import.meta.url)));
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) throw new Error(`tsbuild-fsattr not found (looked at ${candidates.join(', ')}); run make native`);
  return found;
}
