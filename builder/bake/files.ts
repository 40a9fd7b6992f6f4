import { open, readFile } from 'node:fs/promises';
import { isTsbuildError, readTextBounded, UserError } from '../../common/index.js';
import type { BakeFile } from './config.js';
import { parseDotEnv } from './compose.js';
import { MAX_CONTEXT_FILE_BYTES } from '../context-file.js';

// Which files bake reads, as buildx's bake.ReadLocalFiles: the `-f` files in order (`-` is stdin; later files
// override earlier ones), else every default name that exists, in buildx's order.

/** buildx's default names (compose-go's defaults, then the bake files), in the order they are read. */
export const DEFAULT_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml',
  'docker-bake.json', 'docker-bake.hcl', 'docker-bake.override.json', 'docker-bake.override.hcl'];

const CWD_PREFIX = 'cwd://';

/** The working directory's `.env` (compose interpolation reads it), or nothing. */
export async function readDotEnv(cwd: string): Promise<Record<string, string>> {
  const text = await readFile(`${cwd}/.env`, 'utf8').catch(() => undefined);
  return text === undefined ? {} : parseDotEnv(text);
}

/** One bake file's text, refused past the bound of a Dockerfile (`-f /dev/zero` is read only that far). */
export async function readBakeFile(path: string, name: string): Promise<string> {
  const fh = await open(path, 'r');
  try {
    return await readTextBounded(fh, { max: MAX_CONTEXT_FILE_BYTES, name: `bake file ${name}`, code: 'INVALID_ARGUMENT', hint: 'check the -f path' });
  } finally {
    await fh.close();
  }
}

/** Reads the bake files; `readStdin` is called for `-`. */
export async function readBakeFiles(names: string[], cwd: string, readStdin: () => Promise<string>): Promise<BakeFile[]> {
  const isDefault = names.length === 0;
  const out: BakeFile[] = [];
  for (const given of isDefault ? DEFAULT_FILES : names) {
    if (given === '-') { out.push({ name: '-', text: await readStdin() }); continue; }
    // `cwd://FILE` is a local file even when bake builds a remote definition (buildx's readBakeFiles strips the
    // prefix); docker/metadata-action's `bake-file` output is written in that form.
    const name = given.startsWith(CWD_PREFIX) ? given.slice(CWD_PREFIX.length) : given;
    let text: string;
    try {
      text = await readBakeFile(name.startsWith('/') ? name : `${cwd}/${name}`, name);
    } catch (err) {
      if (isTsbuildError(err)) throw err;
      if (isDefault && (err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      // Go's words for the common case (`open wrong.hcl: no such file or directory`, as buildx reports it).
      const code = (err as NodeJS.ErrnoException).code;
      throw new UserError('INVALID_ARGUMENT', `cannot read bake file: open ${name}: ${code === 'ENOENT' ? 'no such file or directory' : code ?? String(err)}`, 'check the -f path (or BUILDX_BAKE_FILE)', { cause: err });
    }
    out.push({ name, text });
  }
  if (out.length === 0) {
    throw new UserError('INVALID_ARGUMENT', "couldn't find a bake definition", `create docker-bake.hcl (or pass -f FILE); looked for ${DEFAULT_FILES.join(', ')}`);
  }
  return out;
}
