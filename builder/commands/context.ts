import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { readDockerfile, readExcludes } from '../build.js';
import { contextReportFor } from '../context-report/load-context-report.js';
import { renderContextText } from '../context-report/render-context.js';
import { UserError } from '../../common/index.js';
import { rootOf } from './global-options.js';
import { withRoot } from './root.js';

interface ContextFlags { file?: string; format: 'text' | 'json' }

/** `tsbuild context [CONTEXT] [-f Dockerfile]`: what the context sends, who reads it, and what to ignore. */
export function registerContext(program: Command): void {
  program.command('context').argument('[context]', 'build context directory', '.')
    .description('what the build context sends (per directory, largest files), which COPY reads it, and what .dockerignore could drop')
    .option('-f, --file <path>', 'name of the Dockerfile (default: CONTEXT/Dockerfile)')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (context: string, flags: ContextFlags, cmd: Command) => {
      const contextDir = resolve(context);
      if (!(await stat(contextDir).then((s) => s.isDirectory(), () => false))) {
        throw new UserError('CONTEXT_NOT_FOUND', `build context ${contextDir} is not a directory`, 'pass the directory holding your sources');
      }
      const dockerfile = await readDockerfile({ contextDir, ...(flags.file ? { dockerfile: flags.file } : {}) });
      const excludes = await readExcludes(contextDir, dockerfile.path);
      // The recorded builds of --root give the change history; a root with none is not created for it.
      const dir = rootOf(cmd);
      const hasHistory = await stat(join(dir, 'cache.db')).then(() => true, () => false);
      const report = await withRoot(dir, {}, async (root) => contextReportFor({
        contextDir, dockerfilePath: dockerfile.path, dockerfileText: dockerfile.text, excludes, scanExcluded: true, ...(hasHistory ? { index: await root.history() } : {}),
      }));
      process.stdout.write(flags.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : renderContextText(report));
    });
}
