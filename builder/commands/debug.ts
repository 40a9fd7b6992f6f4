import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { UserError } from '../../common/index.js';

/** `tsbuild debug parse`: how tsbuild reads its inputs. */
export function registerDebug(program: Command): void {
  const debug = program.command('debug').description('inspect how tsbuild reads its inputs');
  debug.command('parse').description('print the parsed Dockerfile instructions')
    .option('-f, --file <path>', 'Dockerfile to parse', 'Dockerfile')
    .addOption(new Option('--format <format>', 'json: the parse tree as JSON; dump: BuildKit\'s parser dump, `(copy ["--from=a"] "src" "/dst")`').choices(['json', 'dump']).default('json'))
    .option('--json', 'print JSON (same as --format json)')
    .action(async (flags: { file: string; format: string; json?: boolean }) => {
      const text = await readFile(flags.file, 'utf8').catch((err: unknown) => {
        throw new UserError('DOCKERFILE_NOT_FOUND', `failed to read ${flags.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 'pass -f PATH');
      });
      const { dumpDockerfile, parseDockerfile } = await import('../../frontend/index.js');
      const df = parseDockerfile(text, flags.file);
      process.stdout.write(flags.format === 'dump' && flags.json !== true ? dumpDockerfile(df) : `${JSON.stringify(df, null, 2)}\n`);
    });

}
