import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { BuildHistory } from '../../solver/index.js';
import { readDockerfile, readExcludes } from '../build.js';
import { defaultRoot } from '../options/root.js';
import { contextReportFor } from './load-context-report.js';
import { renderContextText } from './render-context.js';
import { UserError } from '../../common/index.js';

interface ContextFlags { file?: string; root: string; format: 'text' | 'json' }

/** `tsbuild context [CONTEXT] [-f Dockerfile]`: what the context sends, who reads it, and what to ignore. */
export function registerContextCommand(program: Command): void {
  program.command('context').argument('[context]', 'build context directory', '.')
    .description('what the build context sends (per directory, largest files), which COPY reads it, and what .dockerignore could drop')
    .option('-f, --file <path>', 'name of the Dockerfile (default: CONTEXT/Dockerfile)')
    .option('--root <dir>', 'state directory whose recorded builds give the change history', defaultRoot())
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (context: string, flags: ContextFlags) => {
      const contextDir = resolve(context);
      if (!(await stat(contextDir).then((s) => s.isDirectory(), () => false))) {
        throw new UserError('CONTEXT_NOT_FOUND', `build context ${contextDir} is not a directory`, 'pass the directory holding your sources');
      }
      const dockerfile = await readDockerfile({ contextDir, ...(flags.file ? { dockerfile: flags.file } : {}) });
      const excludes = await readExcludes(contextDir, dockerfile.path);
      const hasHistory = await stat(join(flags.root, 'cache.db')).then(() => true, () => false);
      const index = hasHistory ? BuildHistory.open(flags.root) : undefined;
      try {
        const report = await contextReportFor({ contextDir, dockerfilePath: dockerfile.path, dockerfileText: dockerfile.text, excludes, ...(index ? { index } : {}) });
        process.stdout.write(flags.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : renderContextText(report));
      } finally {
        index?.close();
      }
    });
}
