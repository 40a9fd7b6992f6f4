import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { UserError } from '../../common/index.js';

/** `tsbuild debug parse`: how tsbuild reads its inputs. */
export function registerDebug(program: Command): void {
  const debug = program.command('debug').description('inspect how tsbuild reads its inputs');
  debug.command('parse').description('print the parsed Dockerfile instructions')
    .option('-f, --file <path>', 'Dockerfile to parse', 'Dockerfile')
    .option('--json', 'print JSON (the default and only format)')
    .action(async (flags: { file: string }) => {
      const text = await readFile(flags.file, 'utf8').catch((err: unknown) => {
        throw new UserError('DOCKERFILE_NOT_FOUND', `failed to read ${flags.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 'pass -f PATH');
      });
      const { parseDockerfile } = await import('../../frontend/index.js');
      process.stdout.write(`${JSON.stringify(parseDockerfile(text, flags.file), null, 2)}\n`);
    });

}
