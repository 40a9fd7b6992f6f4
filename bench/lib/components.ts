import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CommandError, runCommand } from './command.js';

/** A component benchmark kept by another folder's owners (bench/frontend-parse.ts, bench/solver-*.ts, …). */
export interface ComponentResult {
  name: string;
  ms: number;
  /** What it printed: its own figures and goals. */
  output: string;
  isOk: boolean;
}

/** The component benchmarks `make bench` runs alongside the scenarios, by compiled file under dist/bench/. */
export const COMPONENTS = ['frontend-parse', 'solver-cached', 'copy-throughput'] as const;

/** Runs each component benchmark that compiled (`scripts/node dist/bench/NAME.js`) and keeps its output. */
export async function runComponents(projectRoot: string, log: (line: string) => void): Promise<ComponentResult[]> {
  const results: ComponentResult[] = [];
  for (const name of COMPONENTS) {
    const file = join(projectRoot, 'dist/bench', `${name}.js`);
    if (!existsSync(file)) {
      results.push({ name, ms: 0, output: `not built: ${file} is missing`, isOk: false });
      continue;
    }
    log(`component ${name}`);
    try {
      const run = await runCommand(join(projectRoot, 'scripts/node'), ['--disable-warning=ExperimentalWarning', file], { cwd: projectRoot });
      results.push({ name, ms: run.ms, output: run.stdout.trim(), isOk: true });
    } catch (err) {
      const output = err instanceof CommandError ? err.output.trim() : String(err);
      results.push({ name, ms: 0, output: output.split('\n').slice(-10).join('\n'), isOk: false });
    }
  }
  return results;
}
