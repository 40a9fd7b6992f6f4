import { join } from 'node:path';
import { runCommand } from '../lib/command.js';
import { measureAlternating } from '../lib/measure.js';
import { ratioOfRows } from '../lib/result.js';
import type { Scenario } from './scenario.js';

/** Runs per repetition: one start is ~40 ms, so a repetition's figure is the mean of this many back-to-back starts. */
const RUNS = 20;

async function meanOf(cmd: string, args: string[]): Promise<number> {
  let total = 0;
  for (let i = 0; i < RUNS; i++) total += (await runCommand(cmd, args)).ms;
  return total / RUNS;
}

/**
 * `tsbuild --version`: the CLI's start-up alone (bash wrapper, Node, the bundle, commander), next to Node starting
 * with nothing to run (the floor) and buildah's own `--version`.
 */
export const startup: Scenario = {
  id: 'startup',
  title: 'Start-up: `tsbuild --version` (mean of 20 starts a repetition)',
  goal: '≤ 40 ms',
  async run(env, result) {
    const node = join(env.projectRoot, 'tools/node/node_modules/node/bin/node');
    result.rows = await measureAlternating([
      { label: 'tsbuild', role: 'tsbuild', command: `tsbuild --version (× ${RUNS})`, run: () => meanOf(env.tsbuild.bin, ['--version']) },
      { label: 'buildah', role: 'peer', command: `buildah --version (× ${RUNS})`, run: () => meanOf('buildah', ['--version']) },
      { label: 'node -e 0', role: 'reference', command: `node -e 0 (× ${RUNS}): the floor`, run: () => meanOf(node, ['-e', '0']) },
    ], env.reps, env.log);
    for (const peer of ['buildah', 'node -e 0']) {
      const ratio = ratioOfRows(result, 'tsbuild', peer);
      if (ratio !== undefined) result.ratios.push(ratio);
    }
    const row = result.rows.find((r) => r.label === 'tsbuild');
    if (row !== undefined) result.notes.push(`goal ≤ 40 ms: ${row.ms.median <= 40 ? '✅ met' : '❌ missed'} (median ${row.ms.median.toFixed(1)} ms)`);
  },
};
