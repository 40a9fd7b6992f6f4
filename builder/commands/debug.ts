import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { UserError } from '../../common/index.js';
import { registerBuild } from './build.js';

/**
 * `tsbuild debug build …` (buildx's `debug [--on=error|always] [--invoke CMD] build`): a shell where a RUN failed, or
 * a command in the image made; `tsbuild debug parse`: how tsbuild reads a Dockerfile.
 */
export function registerDebug(program: Command, signal: AbortSignal): void {
  const debug = program.command('debug').description('debug a build (a shell where a RUN failed, or in the image made), or inspect how tsbuild reads its inputs')
    .addOption(new Option('--on <when>', 'when the session starts: error (a RUN failed) or always (also after a build that succeeded)').choices(['error', 'always']).default('error'))
    .option('--invoke <command>', 'what the session runs: a command (default sh), or args=…,entrypoint=…,env=…,user=…,cwd=…,tty=… (JSON arrays allowed)');
  registerBuild(debug, signal);
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
